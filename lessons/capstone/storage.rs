//! Where collected data ends up. `Storage` is what the sink needs; `LocalDir` is the default. The sink
//! rebuilds and verifies each file in its own scratch folder first, so a store only has to make a
//! complete local file visible in one step: a rename here, a completed multipart upload in an object store.

use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use super::chunk::{hex, FileMeta};
use super::events::Event;

mod connect;
mod emulator;
mod local;
mod object;
mod url;

pub use local::LocalDir;
pub use object::ObjectStorage;
pub use url::StorageUrl;

/// A name that cannot be stored because of what storage holds already: a file where a folder must go, or
/// a folder where a file must. The sink sets such a file aside; nothing in storage is removed for it.
#[derive(Debug)]
pub struct Conflict(pub String);

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Conflict {}

/// The events a sink knows are stored (id → line), and how far into the store it has read them.
#[derive(Debug, Default)]
pub struct Known {
    pub events: std::collections::HashMap<String, String>,
    pub cursor: u64,
}

#[derive(Debug, Default)]
pub struct Appended {
    pub stored: u64,
    /// Events whose id is stored with another line: not stored.
    pub conflicts: Vec<Event>,
}

/// What a store holds under a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub size: u64,
    pub sha256: String,
}

// ANCHOR: storage_trait
pub trait Storage: Send + Sync {
    /// Where it is, for messages: a folder, or a bucket's URL.
    fn location(&self) -> String;
    /// What is stored under `name`, if anything.
    fn stored(&self, name: &str) -> Result<Option<Stored>>;
    /// A cheap token that changes whenever what is stored under `name` changes (None: nothing
    /// is), so a sink can remember `stored` and still notice a file removed or replaced behind
    /// its back.
    fn stamp(&self, name: &str) -> Result<Option<String>>;
    /// Makes `verified`, a complete local file whose size and SHA-256 are `meta`'s, visible under
    /// `meta.name`: whole, or not at all. A previous version stays until then.
    fn put(&self, meta: &FileMeta, verified: &Path) -> Result<()>;
    /// Appends each event whose id is not stored yet, whole lines only, and returns those whose
    /// id is stored with another line. `known` is brought up to date first, under a lock: two
    /// sinks appending at once never store an id twice.
    fn append_events(&self, events: &[Event], known: &mut Known) -> Result<Appended>;
    /// The events stored so far, in the order stored.
    fn events(&self) -> Result<Vec<Event>>;
    /// Every stored file, by name.
    fn files(&self) -> Result<Vec<(String, Stored)>>;
}
// ANCHOR_END: storage_trait

/// The storage `url` names: a folder, made when `write` (the sink), or a bucket or container reached now.
pub fn open(url: &StorageUrl, write: bool) -> Result<std::sync::Arc<dyn Storage>> {
    Ok(match url {
        StorageUrl::Local(path) if write => std::sync::Arc::new(LocalDir::open(path)?),
        StorageUrl::Local(path) => std::sync::Arc::new(LocalDir::at(path)),
        cloud => std::sync::Arc::new(ObjectStorage::open(cloud)?),
    })
}

pub fn sha256_of(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path)
        .with_context(|| t!("Failed to open {path}", path = path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .with_context(|| t!("Failed to read {path}", path = path.display()))?;
    Ok(hex(&hasher.finalize()))
}
