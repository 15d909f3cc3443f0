//! Where collected data ends up. `Storage` is what the sink needs; `LocalDir` is the default. The sink
//! rebuilds and verifies each file in its own scratch folder first, so a store only has to make a
//! complete local file visible in one step: a rename here, a completed multipart upload in an object store.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use super::chunk::{hex, FileMeta};
use super::events::{parse_event, Event};

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
    /// Makes `verified`, a complete local file whose size and SHA-256 are `meta`'s, visible under
    /// `meta.name`: whole, or not at all. A previous version stays until then.
    fn put(&self, meta: &FileMeta, verified: &Path) -> Result<()>;
    /// Appends whole event lines; a line is never stored half.
    fn append_events(&self, events: &[Event]) -> Result<()>;
    /// The events stored so far, in the order stored.
    fn events(&self) -> Result<Vec<Event>>;
    /// Every stored file, by name.
    fn files(&self) -> Result<Vec<(String, Stored)>>;
}
// ANCHOR_END: storage_trait

/// `root/files/<name>` and `root/events.jsonl`.
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    /// The store at `root`, to read: nothing is created.
    pub fn at(root: &Path) -> LocalDir {
        LocalDir { root: root.to_path_buf() }
    }

    /// The store at `root`, to write: its folders are created, and a line half-appended by a killed
    /// sink is cut off.
    pub fn open(root: &Path) -> Result<LocalDir> {
        let store = LocalDir::at(root);
        let files = store.root.join("files");
        std::fs::create_dir_all(&files).with_context(|| {
            format!("Failed to create {}: the storage folder must be a writable folder", files.display())
        })?;
        store.repair_events()?;
        Ok(store)
    }

    fn events_path(&self) -> PathBuf {
        self.root.join("events.jsonl")
    }

    fn repair_events(&self) -> Result<()> {
        let path = self.events_path();
        let Ok(text) = std::fs::read(&path) else { return Ok(()) };
        if !text.is_empty() && !text.ends_with(b"\n") {
            let keep = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            let file = std::fs::OpenOptions::new().write(true).open(&path)?;
            file.set_len(keep as u64).with_context(|| format!("Failed to repair {}", path.display()))?;
        }
        Ok(())
    }

    fn file_path(&self, name: &str) -> Result<PathBuf> {
        if !super::source::is_clean_name(name) {
            bail!("`{name}` is not a relative path inside the collected folder");
        }
        Ok(self.root.join("files").join(name))
    }

    /// A copy for when `verified` is on another filesystem: written beside storage, then renamed.
    fn copy_in(&self, meta: &FileMeta, verified: &Path, path: &Path) -> Result<()> {
        let incoming = self.root.join(".incoming");
        std::fs::create_dir_all(&incoming).with_context(|| format!("Failed to create {}", incoming.display()))?;
        let tmp = incoming.join(&meta.id);
        let copied = std::fs::copy(verified, &tmp)
            .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(err) = copied {
            std::fs::remove_file(&tmp).ok();
            return Err(err)
                .with_context(|| format!("Failed to copy {} into {} (is the disk full?)", meta.name, self.location()));
        }
        Ok(())
    }
}

impl Storage for LocalDir {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn stored(&self, name: &str) -> Result<Option<Stored>> {
        let path = self.file_path(name)?;
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(Some(Stored { size: meta.len(), sha256: sha256_of(&path)? })),
            Ok(_) => Ok(None),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("Failed to look at {}", path.display())),
        }
    }

    fn put(&self, meta: &FileMeta, verified: &Path) -> Result<()> {
        let path = self.file_path(&meta.name)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("Failed to create {}", parent.display()))?;
        }
        if std::fs::rename(verified, &path).is_err() {
            self.copy_in(meta, verified, &path)?;
            std::fs::remove_file(verified).ok();
        }
        Ok(())
    }

    fn append_events(&self, events: &[Event]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for event in events {
            text.push_str(event.line.trim_end());
            text.push('\n');
        }
        let path = self.events_path();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("Failed to open {}", path.display()))?;
        let written = file.write_all(text.as_bytes()).and_then(|()| file.sync_data());
        if let Err(err) = written {
            // Whatever part of the batch reached the disk is cut off again: no half line stays.
            self.repair_events()?;
            return Err(err).with_context(|| format!("Failed to append to {} (is the disk full?)", path.display()));
        }
        Ok(())
    }

    fn events(&self) -> Result<Vec<Event>> {
        let path = self.events_path();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(err).with_context(|| format!("Failed to read {}", path.display())),
        };
        let text = String::from_utf8_lossy(&bytes);
        Ok(text
            .lines()
            .filter_map(|line| Some(Event { id: parse_event(line).ok()?, line: line.to_string() }))
            .collect())
    }

    fn files(&self) -> Result<Vec<(String, Stored)>> {
        let scan = super::source::scan(&self.root.join("files"));
        if let Some((what, why)) = scan.refused.first() {
            bail!("{} holds {what}, which the sink never writes: {why}", self.location());
        }
        scan.files
            .into_iter()
            .map(|(name, path)| {
                let size =
                    std::fs::metadata(&path).with_context(|| format!("Failed to read {}", path.display()))?.len();
                Ok((name, Stored { size, sha256: sha256_of(&path)? }))
            })
            .collect()
    }
}

pub fn sha256_of(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).with_context(|| format!("Failed to open {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("Failed to read {}", path.display()))?;
    Ok(hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_store() -> Result<()> {
        let root = std::env::temp_dir().join(format!("workshop-store-{}", std::process::id()));
        let store = LocalDir::open(&root)?;
        assert!(store.file_path("office/notes.docx").is_ok());
        for bad in ["../escape", "/etc/passwd", "a/../../b"] {
            assert!(store.file_path(bad).is_err(), "{bad}");
        }
        std::fs::remove_dir_all(&root)?;
        Ok(())
    }
}
