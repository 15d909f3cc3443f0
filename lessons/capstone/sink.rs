//! The sink: a consumer group that rebuilds files from their chunks and appends events, then commits.
//! Chunks are spooled to disk before their offset is stored, a file is stored only once its size and
//! SHA-256 match, and replayed messages are recognised: killed at any moment, a restart ends the same.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::topic_partition_list::Offset;

use super::chunk::FileMeta;
use super::storage::{event_id, sha256_of, Storage};
use super::{megabytes, EVENTS_TOPIC, FILES_TOPIC, SINK_GROUP};

#[derive(Debug, Default)]
pub struct SinkReport {
    pub files: u64,
    pub bytes: u64,
    pub events: u64,
    pub rejected: Vec<String>,
    pub incomplete: Vec<String>,
}

impl SinkReport {
    pub fn summary(&self) -> String {
        let mut out =
            format!("stored {} files ({:.1} MB) and {} events\n", self.files, megabytes(self.bytes), self.events);
        for line in &self.rejected {
            out += &format!("  rejected {line}\n");
        }
        for line in &self.incomplete {
            out += &format!("  incomplete {line}\n");
        }
        out
    }
}

/// Consumes until stopped, or, with `until_caught_up`, until every partition is read to its end.
pub async fn run(bootstrap: &str, storage: Arc<dyn Storage>, until_caught_up: bool) -> Result<SinkReport> {
    let bootstrap = bootstrap.to_string();
    tokio::task::spawn_blocking(move || consume(&bootstrap, storage.as_ref(), until_caught_up)).await?
}

fn consume(bootstrap: &str, storage: &dyn Storage, until_caught_up: bool) -> Result<SinkReport> {
    // Offsets are stored by hand once a message is safely on disk, and committed in the background.
    let consumer: BaseConsumer = crate::kafka::config::consumer(bootstrap, SINK_GROUP)
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .set("auto.commit.interval.ms", "500")
        // A sink that was killed stays in the group until its session times out; restarts wait that long.
        .set("session.timeout.ms", "10000")
        .create()
        .context("Failed to create the sink's consumer")?;
    consumer.subscribe(&[FILES_TOPIC, EVENTS_TOPIC]).context("Failed to subscribe the sink")?;
    let mut seen_events = storage.event_ids()?;
    let mut stored_ids = std::collections::HashSet::new();
    let mut report = SinkReport::default();
    loop {
        match consumer.poll(Duration::from_millis(250)) {
            Some(message) => {
                let message = message.context("The sink failed to consume")?;
                if message.topic() == FILES_TOPIC {
                    file_chunk(storage, &message, &mut stored_ids, &mut report)?;
                } else {
                    let line = message.payload().map(|p| String::from_utf8_lossy(p).into_owned()).unwrap_or_default();
                    match event_id(&line) {
                        Some(id) if seen_events.contains(&id) => {}
                        Some(id) => {
                            storage.append_events(&[line])?;
                            seen_events.insert(id);
                            report.events += 1;
                        }
                        None => {
                            report.rejected.push(format!("event at offset {}: not JSON with an id", message.offset()))
                        }
                    }
                }
                consumer.store_offset_from_message(&message).context("Failed to store the sink's offset")?;
            }
            None if until_caught_up && caught_up(&consumer)? => break,
            None => {}
        }
    }
    match consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync) {
        Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(err) => return Err(err).context("Failed to commit the sink's offsets"),
    }
    report.incomplete = incomplete(storage.scratch())?;
    Ok(report)
}

/// `stored` remembers the files known to be in storage, so a replayed file costs one hash, not one per chunk.
fn file_chunk(
    storage: &dyn Storage,
    message: &BorrowedMessage,
    stored: &mut std::collections::HashSet<String>,
    report: &mut SinkReport,
) -> Result<()> {
    let (meta, index) = match FileMeta::from_headers(message.headers()) {
        Ok(parsed) => parsed,
        Err(err) => {
            report.rejected.push(format!("chunk at {}/{}: {err}", message.partition(), message.offset()));
            return Ok(());
        }
    };
    if stored.contains(&meta.id) || storage.contains(&meta.name, &meta.sha256)? {
        stored.insert(meta.id);
        return Ok(());
    }
    let spool = storage.scratch().join(&meta.id);
    std::fs::create_dir_all(&spool).with_context(|| format!("Failed to create {}", spool.display()))?;
    write_atomically(&spool.join("meta.json"), serde_json::to_string(&meta)?.as_bytes())?;
    write_atomically(&spool.join(format!("{index}.part")), message.payload().unwrap_or_default())?;
    if (0..meta.chunks).all(|i| spool.join(format!("{i}.part")).exists()) && assemble(storage, &meta, &spool, report)? {
        stored.insert(meta.id);
    }
    Ok(())
}

// ANCHOR: assemble
/// Joins the chunks into a temporary file; stores it only if its size and SHA-256 are the producer's.
/// Returns whether it was stored.
fn assemble(storage: &dyn Storage, meta: &FileMeta, spool: &Path, report: &mut SinkReport) -> Result<bool> {
    let assembled = storage.scratch().join(format!("{}.assembling", meta.id));
    let mut out =
        std::fs::File::create(&assembled).with_context(|| format!("Failed to create {}", assembled.display()))?;
    for i in 0..meta.chunks {
        let mut part = std::fs::File::open(spool.join(format!("{i}.part")))?;
        std::io::copy(&mut part, &mut out).with_context(|| format!("Failed to assemble {}", meta.name))?;
    }
    out.sync_all().with_context(|| format!("Failed to write {} (is the disk full?)", meta.name))?;
    drop(out);
    let size = std::fs::metadata(&assembled)?.len();
    let sha256 = sha256_of(&assembled)?;
    if size != meta.size || sha256 != meta.sha256 {
        std::fs::remove_file(&assembled)?;
        let rejected = storage.scratch().join("rejected").join(&meta.id);
        std::fs::create_dir_all(rejected.parent().unwrap_or(storage.scratch()))?;
        std::fs::rename(spool, &rejected)?;
        report.rejected.push(format!(
            "{}: {size} bytes with SHA-256 {}…, expected {} bytes with {}… (chunks kept in {})",
            meta.name,
            &sha256[..12],
            meta.size,
            &meta.sha256[..12.min(meta.sha256.len())],
            rejected.display()
        ));
        return Ok(false);
    }
    storage.put(&meta.name, &assembled)?;
    std::fs::remove_dir_all(spool).with_context(|| format!("Failed to clean {}", spool.display()))?;
    eprintln!("stored {} ({:.1} MB, SHA-256 verified)", meta.name, megabytes(size));
    report.files += 1;
    report.bytes += size;
    Ok(true)
}
// ANCHOR_END: assemble

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("Failed to write {} (is the disk full?)", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("Failed to write {}", path.display()))
}

/// Files whose chunks did not all arrive: "name: k of n chunks".
pub fn incomplete(scratch: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(scratch) else { return Ok(out) };
    for entry in entries {
        let dir: PathBuf = entry?.path();
        let Ok(text) = std::fs::read_to_string(dir.join("meta.json")) else { continue };
        let meta: FileMeta = serde_json::from_str(&text)?;
        let present = (0..meta.chunks).filter(|i| dir.join(format!("{i}.part")).exists()).count();
        out.push(format!("{}: {present} of {} chunks arrived", meta.name, meta.chunks));
    }
    out.sort();
    Ok(out)
}

/// Every assigned partition is read to its current end.
fn caught_up(consumer: &BaseConsumer) -> Result<bool> {
    let assignment = consumer.assignment().context("Failed to read the sink's assignment")?;
    if assignment.count() == 0 {
        return Ok(false);
    }
    let positions = consumer.position().context("Failed to read the sink's positions")?;
    let committed = consumer.committed(Duration::from_secs(10)).context("Failed to read the sink's offsets")?;
    for element in assignment.elements() {
        let (topic, partition) = (element.topic(), element.partition());
        let (low, high) = consumer.fetch_watermarks(topic, partition, Duration::from_secs(10))?;
        let offset_of =
            |list: &rdkafka::TopicPartitionList| match list.find_partition(topic, partition).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => Some(o),
                _ => None,
            };
        let at = offset_of(&positions).or_else(|| offset_of(&committed)).unwrap_or(low);
        if at < high {
            return Ok(false);
        }
    }
    Ok(true)
}
