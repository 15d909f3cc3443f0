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

use super::assembly::{Position, Scratch, Step};
use super::chunk::FileMeta;
use super::dead_letter::{DeadLetter, DeadLetters};
use super::events::{parse_event, Event};
use super::storage::{Known, Storage};
use super::{count, megabytes, Names, EVENTS, FILES, MESSAGES};
use crate::kafka::inspect::Inspector;

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
    /// Time spent on files' chunks (writing, hashing, storing), not waiting for Kafka.
    pub busy: Duration,
    /// Unfinished copies removed: of files no longer in the source, as they were, so never sent again.
    pub forgotten: Vec<String>,
}

impl SinkReport {
    pub fn summary(&self, capstone: &super::Capstone) -> String {
        let mut out = t!(
            "stored {files} ({mb} MB) and {events}",
            files = count(self.files, FILES),
            mb = format!("{:.1}", megabytes(self.bytes)),
            events = count(self.events, EVENTS)
        );
        out.push('\n');
        for name in &self.forgotten {
            out += &format!(
                "  {}\n",
                t!(
                    "removed the unfinished copy of {name}: the source no longer has it as it was",
                    name
                )
            );
        }
        for line in &self.incomplete {
            out += &format!("  {}\n", t!("waiting for the rest of {line}", line));
        }
        if !self.incomplete.is_empty() {
            out += &format!(
                "  {}\n",
                t!(
                    "(the collector sends the rest when run again: {command})",
                    command = capstone.command("collect ingest")
                )
            );
        }
        if !self.dead_letters.is_empty() {
            out += &format!(
                "  {}\n",
                t!(
                    "set aside {messages} in {topic} (dead letters):",
                    messages = count(self.dead_letters.len() as u64, MESSAGES),
                    topic = capstone.names.dead_letters
                )
            );
            // Sorted: the sink reads its topics' partitions in no fixed order.
            let mut lines = self.dead_letters.clone();
            lines.sort();
            for line in lines {
                out += &format!("    {line}\n");
            }
        }
        out
    }

    /// Removes the unfinished copies of files `source` no longer has as they were (gone, or another size:
    /// a new version is sent under another id), which would otherwise wait forever.
    pub fn forget_orphans(&mut self, scratch: &Path, source: &Path) -> Result<()> {
        let mut scratch = Scratch::open(scratch)?;
        for partial in scratch.partials()? {
            let path = source.join(&partial.meta.name);
            let same_size = std::fs::symlink_metadata(&path)
                .is_ok_and(|m| m.is_file() && m.len() == partial.meta.size);
            // Only a file of the same size can be the same version: then its hash decides.
            let same = same_size
                && FileMeta::of(&path, &partial.meta.name)
                    .is_ok_and(|meta| meta.sha256 == partial.meta.sha256);
            if !same {
                scratch.discard(&partial.meta.id)?;
                let prefix = format!("{}: ", partial.meta.name);
                self.incomplete.retain(|line| !line.starts_with(&prefix));
                self.forgotten.push(partial.meta.name);
            }
        }
        Ok(())
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
    let dead_letters =
        DeadLetters::new(bootstrap, &names.dead_letters, tokio::runtime::Handle::current())?;
    let mut sink = Sink {
        storage,
        scratch: Scratch::open(scratch)?,
        dead_letters,
        names: names.clone(),
        stored: HashMap::new(),
        versions: HashMap::new(),
        known: Known::default(),
        batch: Vec::new(),
        batched: HashMap::new(),
        offsets: Vec::new(),
        gaps: std::collections::HashSet::new(),
        report: SinkReport::default(),
    };
    let bootstrap = bootstrap.to_string();
    tokio::task::spawn_blocking(move || {
        sink.storage.append_events(&[], &mut sink.known)?;
        sink.consume(&bootstrap, until_caught_up)?;
        sink.report.incomplete = sink
            .scratch
            .partials()?
            .iter()
            .map(|p| {
                t!(
                    "{name}: {arrived} of {size} MB arrived",
                    name = p.meta.name,
                    arrived = format!("{:.1}", megabytes(p.bytes)),
                    size = format!("{:.1}", megabytes(p.meta.size))
                )
            })
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
    /// name → (stamp, SHA-256) of what storage holds, hashed once per name and change: a replayed or
    /// updated file costs no extra pass over what is stored.
    stored: HashMap<String, (Option<String>, Option<String>)>,
    /// file id → whether storage holds that version already: asked at each sending's first chunk, not at
    /// every chunk (a round trip each, with a cloud store).
    versions: HashMap<String, bool>,
    /// The events stored, as far as this sink has read them.
    known: Known,
    /// Events read but not yet written, with where each came from; their ids → lines; the offsets to store
    /// once they are written.
    batch: Vec<(Event, String)>,
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
            // Storing a large file into a cloud store over a slow uplink takes minutes between two polls.
            .set("max.poll.interval.ms", "3600000")
            .create()
            .context(t!("Failed to create the sink's consumer"))?;
        consumer
            .subscribe(&[&self.names.files, &self.names.events])
            .context(t!("Failed to subscribe the sink"))?;
        let offsets = Inspector::connect(bootstrap, None)?;
        loop {
            match consumer.poll(Duration::from_millis(250)) {
                Some(message) => {
                    let message = message.context(t!("The sink failed to consume"))?;
                    if message.topic() == self.names.files {
                        let start = std::time::Instant::now();
                        self.file_chunk(&message)?;
                        self.report.busy += start.elapsed();
                        store_offset(
                            &consumer,
                            message.topic(),
                            message.partition(),
                            message.offset(),
                        )?;
                    } else {
                        self.event(&message)?;
                        if self.batch.len() >= EVENT_BATCH {
                            self.flush_events(&consumer)?;
                        }
                    }
                }
                None => {
                    self.flush_events(&consumer)?;
                    if until_caught_up && caught_up(&consumer, &offsets)? {
                        break;
                    }
                }
            }
        }
        match consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync) {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => Ok(()),
            Err(err) => Err(err).context(t!("Failed to commit the sink's offsets")),
        }
    }

    fn set_aside(
        &mut self,
        message: &BorrowedMessage,
        reason: String,
        is_event: bool,
    ) -> Result<()> {
        let letter = DeadLetter::of(message, reason, is_event);
        self.dead_letters.set_aside(&letter)?;
        self.report.dead_letters.push(format!("{}: {}", letter.from, letter.reason));
        Ok(())
    }

    fn file_chunk(&mut self, message: &BorrowedMessage) -> Result<()> {
        let (meta, index) = match FileMeta::from_headers(message.headers()) {
            Ok(parsed) => parsed,
            Err(err) => {
                return self.set_aside(
                    message,
                    t!(
                        "a chunk the collector could not have sent: {err}",
                        err = format!("{err:#}")
                    ),
                    false,
                )
            }
        };
        let (partition, offset) = (message.partition(), message.offset());
        let at =
            Position { partition, offset, millis: message.timestamp().to_millis().unwrap_or(0) };
        if self.scratch.superseded(&meta.name, at) {
            return Ok(());
        }
        if self.already_stored(&meta, index)? {
            // A sink killed after the store took this version, before it forgot its copy, left one: it
            // would wait for chunks nobody sends again.
            return self.scratch.discard(&meta.id);
        }
        let step = self.scratch.add(&meta, index, message.payload().unwrap_or_default())?;
        match step {
            Step::Appended | Step::Replayed => Ok(()),
            Step::Complete(verified) => {
                if let Err(err) = self.storage.put(&meta, &verified) {
                    let Some(conflict) = err.downcast_ref::<super::storage::Conflict>() else {
                        return Err(err);
                    };
                    let reason =
                        t!("{name} was not stored: {conflict}", name = meta.name, conflict);
                    self.scratch.discard(&meta.id)?;
                    return self.set_aside(message, reason, false);
                }
                self.scratch.discard(&meta.id)?;
                self.scratch.discard_others(&meta.name, &meta.id)?;
                self.scratch.stored(&meta.name, at)?;
                let stamp = self.storage.stamp(&meta.name)?;
                self.stored.insert(meta.name.clone(), (stamp, Some(meta.sha256.clone())));
                self.versions.insert(meta.id.clone(), true);
                crate::ui::progress::say(&t!(
                    "stored {name} ({mb} MB, SHA-256 verified)",
                    name = meta.name,
                    mb = format!("{:.1}", megabytes(meta.size))
                ));
                self.report.files += 1;
                self.report.bytes += meta.size;
                Ok(())
            }
            Step::Gap { expected } => {
                if !self.gaps.insert(meta.id.clone()) {
                    return Ok(());
                }
                let reason = t!(
                    "chunk {index} of {name} arrived before chunk {expected}, which is not in the topic (deleted, or \
                     never sent): the file waits until the collector sends it again (lesson collect ingest)",
                    index,
                    name = meta.name,
                    expected
                );
                self.set_aside(message, reason, false)
            }
            Step::WrongLength { got, expected } => {
                let reason = t!(
                    "chunk {index} of {name} has {got} bytes where it must have {expected}",
                    index,
                    name = meta.name,
                    got,
                    expected
                );
                self.set_aside(message, reason, false)
            }
            Step::Mismatch { size, sha256 } => {
                let reason = t!(
                    "{name}: its chunks make {size} bytes with SHA-256 {sha256}…, the collector sent {sent} bytes \
                     with {sent_sha256}…; nothing was stored, and it is stored when the collector sends it again \
                     (lesson collect ingest)",
                    name = meta.name,
                    size,
                    sha256 = &sha256[..12],
                    sent = meta.size,
                    sent_sha256 = &meta.sha256[..12]
                );
                self.set_aside(message, reason, false)
            }
        }
    }

    fn already_stored(&mut self, meta: &FileMeta, index: u32) -> Result<bool> {
        // A collector sending the file again (storage lost it) starts at chunk 0: asked anew.
        if let Some(stored) = self.versions.get(&meta.id).filter(|_| index > 0) {
            return Ok(*stored);
        }
        let stored = self.stored_sha(&meta.name)?.as_deref() == Some(meta.sha256.as_str());
        self.versions.insert(meta.id.clone(), stored);
        Ok(stored)
    }

    fn stored_sha(&mut self, name: &str) -> Result<Option<String>> {
        let stamp = self.storage.stamp(name)?;
        if let Some((known, sha)) = self.stored.get(name) {
            if *known == stamp {
                return Ok(sha.clone());
            }
        }
        let sha = self.storage.stored(name)?.map(|s| s.sha256);
        self.stored.insert(name.to_string(), (stamp, sha.clone()));
        Ok(sha)
    }

    fn event(&mut self, message: &BorrowedMessage) -> Result<()> {
        let payload = message.payload().unwrap_or_default();
        let parsed = std::str::from_utf8(payload)
            .map_err(|_| t!("not UTF-8").to_string())
            .and_then(|line| match line.trim_end().contains('\n') {
                true => {
                    Err(t!("it holds a line break, and an event is one line of JSON Lines")
                        .to_string())
                }
                false => {
                    parse_event(line).map(|id| Event { id, line: line.trim_end().to_string() })
                }
            });
        let event = match parsed {
            Ok(event) => event,
            Err(why) => {
                self.set_aside(message, t!("not an event: {why}", why), true)?;
                self.offsets.push((
                    message.topic().to_string(),
                    message.partition(),
                    message.offset(),
                ));
                return Ok(());
            }
        };
        let known = self.known.events.get(&event.id).or_else(|| self.batched.get(&event.id));
        match known {
            Some(line) if *line == event.line => {}
            Some(_) => {
                let reason = t!(
                    "event `{id}` is stored with different content; one id names one event",
                    id = event.id
                );
                self.set_aside(message, reason, true)?;
            }
            None => {
                self.batched.insert(event.id.clone(), event.line.clone());
                let from =
                    format!("{}/{}@{}", message.topic(), message.partition(), message.offset());
                self.batch.push((event, from));
            }
        }
        // Even a message with nothing to write waits for the batch before it: offsets move in order.
        self.offsets.push((message.topic().to_string(), message.partition(), message.offset()));
        Ok(())
    }

    fn flush_events(&mut self, consumer: &BaseConsumer) -> Result<()> {
        let events: Vec<Event> = self.batch.iter().map(|(event, _)| event.clone()).collect();
        let appended = self.storage.append_events(&events, &mut self.known)?;
        for conflict in appended.conflicts {
            // Another sink stored this id meanwhile, with another line.
            let from =
                self.batch.iter().find(|(e, _)| e.id == conflict.id).map(|(_, from)| from.clone());
            let letter = DeadLetter {
                reason: t!(
                    "event `{id}` is stored with different content; one id names one event",
                    id = conflict.id
                ),
                from: from.unwrap_or_default(),
                key: Some(conflict.id.clone()),
                event: Some(conflict.line.clone()),
            };
            self.dead_letters.set_aside(&letter)?;
            self.report.dead_letters.push(format!("{}: {}", letter.from, letter.reason));
        }
        for (topic, partition, offset) in std::mem::take(&mut self.offsets) {
            store_offset(consumer, &topic, partition, offset)?;
        }
        self.report.events += appended.stored;
        self.batch.clear();
        self.batched.clear();
        Ok(())
    }
}

/// Stores an offset to be committed; a partition taken away by a rebalance (another sink joined) is
/// skipped: its new owner reads that message again and recognises what is stored.
fn store_offset(consumer: &BaseConsumer, topic: &str, partition: i32, offset: i64) -> Result<()> {
    match consumer.store_offset(topic, partition, offset) {
        Err(KafkaError::StoreOffset(RDKafkaErrorCode::State)) => Ok(()),
        other => other.context(t!("Failed to store the sink's offset")),
    }
}

/// Every assigned partition is read to its current end. `offsets` asks for the ends: on the consumer's own
/// connection that request waits behind its fetch in flight (fetch.wait.max.ms, 500 ms a partition).
fn caught_up(consumer: &BaseConsumer, offsets: &Inspector) -> Result<bool> {
    let assignment = consumer.assignment().context(t!("Failed to read the sink's assignment"))?;
    if assignment.count() == 0 {
        return Ok(false);
    }
    let positions = consumer.position().context(t!("Failed to read the sink's positions"))?;
    let committed = consumer
        .committed(Duration::from_secs(10))
        .context(t!("Failed to read the sink's offsets"))?;
    for element in assignment.elements() {
        let (topic, partition) = (element.topic(), element.partition());
        let (low, high) =
            offsets.watermarks(topic, &[partition])?.get(&partition).copied().unwrap_or((0, 0));
        let offset_of = |list: &rdkafka::TopicPartitionList| match list
            .find_partition(topic, partition)
            .map(|e| e.offset())
        {
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
