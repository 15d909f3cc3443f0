//! Lesson 7, the capstone: collect files of any type and size, and a stream of JSON events, through
//! Kafka into storage, with nothing lost and nothing stored twice, even when a process is killed.

pub mod chunk;
pub mod ingest;
pub mod l07_collect;
pub mod sample;
pub mod sink;
pub mod storage;
pub mod verify;

use std::path::{Path, PathBuf};

pub const FILES_TOPIC: &str = "collect-files";
pub const EVENTS_TOPIC: &str = "collect-events";
pub const SINK_GROUP: &str = "collect-sink";
/// Half of Kafka's default 1 MB message limit, leaving room for headers.
pub const CHUNK_SIZE: usize = 512 * 1024;

/// Where lesson 7 works inside the learner's directory.
#[derive(Clone, Debug)]
pub struct Paths {
    pub source: PathBuf,
    pub events: PathBuf,
    pub storage: PathBuf,
}

impl Paths {
    pub fn in_dir(dir: &Path) -> Paths {
        let base = dir.join("collect");
        Paths { source: base.join("source"), events: base.join("events.jsonl"), storage: base.join("storage") }
    }
}

/// The two topics of the capstone, with three partitions each; topics that are there already are kept as
/// they are (a broker still loading may not list them yet, so creating is the one question to ask).
pub async fn ensure_topics(bootstrap: &str) -> anyhow::Result<()> {
    for topic in [FILES_TOPIC, EVENTS_TOPIC] {
        crate::kafka::admin::create_topic(bootstrap, topic, 3, 1).await?;
    }
    Ok(())
}

pub fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}
