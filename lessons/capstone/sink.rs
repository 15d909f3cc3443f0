//! The sink: a consumer group that rebuilds files from their chunks and appends events, then stores
//! each message's offset. A file is stored only once its size and SHA-256 match, replayed messages are
//! recognised, and a message that cannot be stored is set aside as a dead letter: killed at any moment,
//! a restart ends the same, and no message can stop it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::topic_partition_list::Offset;

use super::assembly::{Scratch, Step};
use super::chunk::FileMeta;
use super::dead_letter::{DeadLetter, DeadLetters};
use super::events::{parse_event, Event};
use super::storage::Storage;
use super::{count, megabytes, Names};

/// Events are written to storage in batches of up to this many, each batch before its offsets.
const EVENT_BATCH: usize = 2000;

#[derive(Debug, Default)]
pub struct SinkReport {
    pub files: u64,
    pub bytes: u64,
    pub events: u64,
    /// Why each message set aside by this run was.
    pub dead_letters: Vec<String>,
    /// Files whose chunks have not all arrived: "name: 1.0 of 3.1 MB".
    pub incomplete: Vec<String>,
}

impl SinkReport {
    pub fn summary(&self, names: &Names) -> String {
        let mut out = format!(
            "stored {} ({:.1} MB) and {}\n",
            count(self.files, "file", "files"),
            megabytes(self.bytes),
            count(self.events, "event", "events")
        );
        for line in &self.incomplete {
            out += &format!("  waiting for the rest of {line}\n");
        }
        if !self.incomplete.is_empty() {
            out += "  (the collector sends the rest when run again: lesson collect ingest)\n";
        }
        if !self.dead_letters.is_empty() {
            out += &format!(
                "  set aside {} in {} (dead letters):\n",
                count(self.dead_letters.len() as u64, "message", "messages"),
                names.dead_letters
            );
            for line in &self.dead_letters {
                out += &format!("    {line}\n");
            }
        }
        out
    }

    pub fn is_clean(&self) -> bool {
        self.dead_letters.is_empty() && self.incomplete.is_empty()
    }
}

/// Consumes until stopped, or, with `until_caught_up`, until every partition is read to its end.
pub async fn run(
    bootstrap: &str,
    names: &Names,
    scratch: &Path,
    storage: Arc<dyn Storage>,
    until_caught_up: bool,
) -> Result<SinkReport> {
    let dead_letters = DeadLetters::new(bootstrap, &names.dead_letters, tokio::runtime::Handle::current())?;
    let mut sink = Sink {
        storage,
        scratch: Scratch::open(scratch)?,
        dead_letters,
        names: names.clone(),
        stored: HashMap::new(),
        events: HashMap::new(),
        batch: Vec::new(),
        batched: HashMap::new(),
        offsets: Vec::new(),
        gaps: std::collections::HashSet::new(),
        report: SinkReport::default(),
    };
    let bootstrap = bootstrap.to_string();
    tokio::task::spawn_blocking(move || {
        sink.events = sink.storage.events()?.into_iter().map(|e| (e.id, e.line)).collect();
        sink.consume(&bootstrap, until_caught_up)?;
        sink.report.incomplete = sink
            .scratch
            .partials()?
            .iter()
            .map(|p| format!("{}: {:.1} of {:.1} MB arrived", p.meta.name, megabytes(p.bytes), megabytes(p.meta.size)))
            .collect();
        Ok(sink.report)
    })
    .await?
}

struct Sink {
    storage: Arc<dyn Storage>,
    scratch: Scratch,
    dead_letters: DeadLetters,
    names: Names,
    /// name → SHA-256 of what storage holds, asked once per name: a replayed or updated file costs no
    /// extra pass over what is stored.
    stored: HashMap<String, Option<String>>,
    /// id → line of every event stored.
    events: HashMap<String, String>,
    /// Events read but not yet written; their ids → lines; the offsets to store once they are written.
    batch: Vec<Event>,
    batched: HashMap<String, String>,
    offsets: Vec<(String, i32, i64)>,
    /// Files a missing chunk was reported for in this run.
    gaps: std::collections::HashSet<String>,
    report: SinkReport,
}

impl Sink {
    fn consume(&mut self, bootstrap: &str, until_caught_up: bool) -> Result<()> {
        // Offsets are stored by hand once a message is safely handled, and committed in the background.
        let consumer: BaseConsumer = crate::kafka::config::consumer(bootstrap, &self.names.group)
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            .set("auto.commit.interval.ms", "500")
            // A sink that was killed stays in the group until its session times out; restarts wait that long.
            .set("session.timeout.ms", "10000")
            .create()
            .context("Failed to create the sink's consumer")?;
        consumer.subscribe(&[&self.names.files, &self.names.events]).context("Failed to subscribe the sink")?;
        loop {
            match consumer.poll(Duration::from_millis(250)) {
                Some(message) => {
                    let message = message.context("The sink failed to consume")?;
                    if message.topic() == self.names.files {
                        self.file_chunk(&message)?;
                        consumer.store_offset_from_message(&message).context("Failed to store the sink's offset")?;
                    } else {
                        self.event(&message)?;
                        if self.batch.len() >= EVENT_BATCH {
                            self.flush_events(&consumer)?;
                        }
                    }
                }
                None => {
                    self.flush_events(&consumer)?;
                    if until_caught_up && caught_up(&consumer)? {
                        break;
                    }
                }
            }
        }
        match consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync) {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => Ok(()),
            Err(err) => Err(err).context("Failed to commit the sink's offsets"),
        }
    }

    fn set_aside(&mut self, message: &BorrowedMessage, reason: String, is_event: bool) -> Result<()> {
        let letter = DeadLetter::of(message, reason, is_event);
        self.dead_letters.set_aside(&letter)?;
        self.report.dead_letters.push(format!("{}: {}", letter.from, letter.reason));
        Ok(())
    }

    fn file_chunk(&mut self, message: &BorrowedMessage) -> Result<()> {
        let (meta, index) = match FileMeta::from_headers(message.headers()) {
            Ok(parsed) => parsed,
            Err(err) => {
                return self.set_aside(message, format!("a chunk the collector could not have sent: {err:#}"), false)
            }
        };
        if self.stored_sha(&meta.name)?.as_deref() == Some(meta.sha256.as_str()) {
            return Ok(());
        }
        let step = self.scratch.add(&meta, index, message.payload().unwrap_or_default())?;
        match step {
            Step::Appended | Step::Replayed => Ok(()),
            Step::Complete(verified) => {
                self.storage.put(&meta, &verified)?;
                self.scratch.discard(&meta.id)?;
                self.scratch.discard_others(&meta.name, &meta.id)?;
                self.stored.insert(meta.name.clone(), Some(meta.sha256.clone()));
                eprintln!("stored {} ({:.1} MB, SHA-256 verified)", meta.name, megabytes(meta.size));
                self.report.files += 1;
                self.report.bytes += meta.size;
                Ok(())
            }
            Step::Gap { expected } => {
                if !self.gaps.insert(meta.id.clone()) {
                    return Ok(());
                }
                let reason = format!(
                    "chunk {index} of {} arrived before chunk {expected}, which is not in the topic (deleted, or never \
                     sent): the file waits until the collector sends it again (lesson collect ingest)",
                    meta.name
                );
                self.set_aside(message, reason, false)
            }
            Step::WrongLength { got, expected } => {
                let reason = format!("chunk {index} of {} has {got} bytes where it must have {expected}", meta.name);
                self.set_aside(message, reason, false)
            }
            Step::Mismatch { size, sha256 } => {
                let reason = format!(
                    "{}: its chunks make {size} bytes with SHA-256 {}…, the collector sent {} bytes with {}…; nothing \
                     was stored, and it is stored when the collector sends it again (lesson collect ingest)",
                    meta.name,
                    &sha256[..12],
                    meta.size,
                    &meta.sha256[..12]
                );
                self.set_aside(message, reason, false)
            }
        }
    }

    fn stored_sha(&mut self, name: &str) -> Result<Option<String>> {
        if let Some(known) = self.stored.get(name) {
            return Ok(known.clone());
        }
        let sha = self.storage.stored(name)?.map(|s| s.sha256);
        self.stored.insert(name.to_string(), sha.clone());
        Ok(sha)
    }

    fn event(&mut self, message: &BorrowedMessage) -> Result<()> {
        let payload = message.payload().unwrap_or_default();
        let parsed = std::str::from_utf8(payload)
            .map_err(|_| "not UTF-8".to_string())
            .and_then(|line| parse_event(line).map(|id| Event { id, line: line.trim_end().to_string() }));
        let event = match parsed {
            Ok(event) => event,
            Err(why) => {
                self.set_aside(message, format!("not an event: {why}"), true)?;
                self.offsets.push((message.topic().to_string(), message.partition(), message.offset()));
                return Ok(());
            }
        };
        let known = self.events.get(&event.id).or_else(|| self.batched.get(&event.id));
        match known {
            Some(line) if *line == event.line => {}
            Some(_) => {
                let reason = format!("event `{}` is stored with different content; one id names one event", event.id);
                self.set_aside(message, reason, true)?;
            }
            None => {
                self.batched.insert(event.id.clone(), event.line.clone());
                self.batch.push(event);
            }
        }
        // Even a message with nothing to write waits for the batch before it: offsets move in order.
        self.offsets.push((message.topic().to_string(), message.partition(), message.offset()));
        Ok(())
    }

    fn flush_events(&mut self, consumer: &BaseConsumer) -> Result<()> {
        self.storage.append_events(&self.batch)?;
        for (topic, partition, offset) in std::mem::take(&mut self.offsets) {
            consumer.store_offset(&topic, partition, offset).context("Failed to store the sink's offset")?;
        }
        self.report.events += self.batch.len() as u64;
        self.events.extend(self.batched.drain());
        self.batch.clear();
        Ok(())
    }
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
