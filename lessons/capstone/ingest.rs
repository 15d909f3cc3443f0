//! The collector: every file of a source folder, in chunks, and every event of a JSON Lines file, to
//! Kafka; only what storage lacks, so running it again sends nothing twice. Idempotent producer,
//! acks=all: a retried send is never stored twice by the broker. A file or line it cannot send is
//! reported with why, and the others go on.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use futures_util::stream::{FuturesUnordered, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::future_producer::OwnedDeliveryResult;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

use super::chunk::FileMeta;
use super::events::Event;
use super::storage::Storage;
use super::{count, megabytes, Names, EVENTS, FILES};

mod files;

/// File chunks in flight at once; librdkafka batches them.
const CHUNKS_IN_FLIGHT: usize = 64;
/// A file up to this size is read once, hashed and sent from memory; a larger one is read again to be sent.
/// At most three are held at once: one hashed, one waiting, one sent.
const KEPT_IN_MEMORY: u64 = 32 * 1024 * 1024;
/// Events in flight at once: small messages, batched by librdkafka into few requests.
const EVENTS_IN_FLIGHT: usize = 20_000;

#[derive(Debug, Default)]
pub struct IngestReport {
    pub files: u64,
    pub bytes: u64,
    pub events: u64,
    /// Already in storage with the same content: not sent again.
    pub stored_files: u64,
    pub stored_events: u64,
    /// (what, why) for each file, folder or event line that was not sent, and needs a fix to be.
    pub refused: Vec<(String, String)>,
    /// (what, why) for links and special files: nothing of their own to collect.
    pub ignored: Vec<(String, String)>,
    pub elapsed: Duration,
    /// The part of `elapsed` spent sending events.
    pub events_elapsed: Duration,
}

impl IngestReport {
    pub fn summary(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(0.001);
        let mut out = t!(
            "sent {files} ({mb} MB) and {events} in {secs} s",
            files = count(self.files, FILES),
            mb = format!("{:.1}", megabytes(self.bytes)),
            events = count(self.events, EVENTS),
            secs = format!("{secs:.1}")
        );
        // A rate says something only about enough work: not about one small file or a few events.
        let mut rates = Vec::new();
        if self.bytes >= 10_000_000 {
            rates.push(format!(
                "{:.1} MB/s",
                megabytes(self.bytes) / (secs - self.events_elapsed.as_secs_f64()).max(0.001)
            ));
        }
        if self.events >= 1000 {
            rates.push(t!(
                "{n} events/s",
                n = format!(
                    "{:.0}",
                    self.events as f64 / self.events_elapsed.as_secs_f64().max(0.001)
                )
            ));
        }
        if !rates.is_empty() {
            out += &format!(": {}", rates.join(", "));
        }
        out.push('\n');
        if self.stored_files + self.stored_events > 0 {
            out += &format!(
                "  {}\n",
                t!(
                    "already in storage, not sent again: {files} and {events}",
                    files = count(self.stored_files, FILES),
                    events = count(self.stored_events, EVENTS)
                )
            );
        }
        for (what, why) in &self.ignored {
            out += &format!("  {}\n", t!("left out: {what}: {why}", what, why));
        }
        for (what, why) in &self.refused {
            out += &format!("  {}\n", t!("not sent: {what}: {why}", what, why));
        }
        out
    }
}

pub async fn producer(bootstrap: &str) -> Result<FutureProducer> {
    let producer = crate::kafka::config::producer(bootstrap)
        .set("linger.ms", "5")
        .set("message.timeout.ms", "300000")
        .create()
        .context(t!("Failed to create the collector's producer"))?;
    crate::kafka::config::ask_producer_id(&producer).await;
    Ok(producer)
}

/// What to collect: a folder of files, and JSON Lines events (already read, from a file or stdin).
pub struct Source<'a> {
    pub folder: &'a Path,
    pub events: super::events::Events,
}

/// What a collector that keeps running has sent or found stored: a file unchanged since (same size and
/// modification time) is not read again, an event with the same line is not sent again.
#[derive(Debug, Default)]
pub struct Seen {
    files: HashMap<String, (u64, SystemTime)>,
    events: HashMap<String, String>,
    /// A file modified more recently than this is left for a later round: it may still be written.
    young: Option<Duration>,
    /// The last round left such a file.
    pub left_young: bool,
}

impl Seen {
    /// For a collector that keeps running: a file written more recently than `young` waits a round.
    pub fn leaving_young(young: Duration) -> Seen {
        Seen { young: Some(young), ..Seen::default() }
    }
}

pub async fn ingest(
    bootstrap: &str,
    names: &Names,
    source: Source<'_>,
    storage: &dyn Storage,
) -> Result<IngestReport> {
    let producer = producer(bootstrap).await?;
    ingest_unseen(&producer, names, source, storage, &mut Seen::default()).await
}

/// Sends what storage lacks and `seen` does not hold, and adds what it sent or found stored to `seen`.
pub async fn ingest_unseen(
    producer: &FutureProducer,
    names: &Names,
    source: Source<'_>,
    storage: &dyn Storage,
    seen: &mut Seen,
) -> Result<IngestReport> {
    let start = Instant::now();
    seen.left_young = false;
    let scan = tokio::task::block_in_place(|| super::source::scan(source.folder));
    let events = source.events;
    let mut report =
        IngestReport { refused: scan.refused, ignored: scan.ignored, ..IngestReport::default() };
    report.refused.extend(events.refused);
    let total: u64 =
        scan.files.iter().filter_map(|(_, p)| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let bar = progress_bar(total);
    let mut candidates = Vec::new();
    for (name, path) in scan.files {
        let before = files::stamp(&path);
        if before.is_some() && seen.files.get(&name) == before.as_ref() {
            continue;
        }
        if let (Some(young), Some((_, modified))) = (seen.young, before) {
            if modified.elapsed().is_ok_and(|age| age < young) {
                seen.left_young = true;
                continue;
            }
        }
        candidates.push((name, path, before));
    }
    // The next file is hashed while this one is sent: hashing is the collector's one pass that raw
    // rdkafka does not make, and the other core is often idle meanwhile.
    let (hashed, mut next) = tokio::sync::mpsc::channel(1);
    let hashing = tokio::task::spawn_blocking(move || {
        for (name, path, before) in candidates {
            let meta = FileMeta::read(&path, &name, KEPT_IN_MEMORY);
            // Kept bytes are sent as they were read: the file must not have changed since it was listed.
            let changed = meta.as_ref().is_ok_and(|(_, kept)| kept.is_some())
                && files::stamp(&path) != before;
            let meta = meta.map(|read| (read, changed));
            if hashed.blocking_send((name, path, before, meta)).is_err() {
                break;
            }
        }
    });
    let mut sender = files::Files::new(producer, &names.files, &bar);
    // What Kafka answered and what could not be read, reported in the files' order once all is answered.
    let mut done = Vec::new();
    let mut order = 0;
    while let Some((name, path, before, meta)) = next.recv().await {
        order += 1;
        let ((meta, bytes), changed) = match meta {
            Ok(read) => read,
            Err(err) => {
                let result = Err(super::source::unreadable(&err));
                done.push(files::Done { order, name, size: 0, before, result });
                continue;
            }
        };
        if tokio::task::block_in_place(|| storage.stored(&name))?
            .is_some_and(|s| s.sha256 == meta.sha256)
        {
            report.stored_files += 1;
            bar.inc(meta.size);
            seen.files.extend(before.map(|b| (name, b)));
            continue;
        }
        if changed {
            let result =
                Err(t!("it changed while it was read; collect it again once it stops changing")
                    .into());
            done.push(files::Done { order, name, size: meta.size, before, result });
            continue;
        }
        done.extend(sender.send(order, &path, &meta, before, bytes).await);
    }
    done.extend(sender.flush().await);
    done.sort_by_key(|file| file.order);
    count_sent(done, &mut report, seen);
    hashing.await.context(t!("The collector's hashing stopped"))?;
    bar.finish_and_clear();
    let unseen: Vec<Event> =
        events.events.into_iter().filter(|e| seen.events.get(&e.id) != Some(&e.line)).collect();
    // Reading what storage holds is a listing of every event in a cloud store: only when there is news.
    let stored: HashMap<String, String> = if unseen.is_empty() {
        HashMap::new()
    } else {
        tokio::task::block_in_place(|| storage.events())?
            .into_iter()
            .map(|e| (e.id, e.line))
            .collect()
    };
    let mut to_send = Vec::new();
    for event in unseen {
        if seen.events.get(&event.id).is_some_and(|line| *line != event.line) {
            // Sent before with another line, maybe not stored yet: one id names one event.
            report.refused.push((
                t!("event `{id}`", id = event.id),
                t!("it was sent before with other content; one id names one event, give this one its own")
                    .into(),
            ));
            continue;
        }
        match stored.get(&event.id) {
            Some(line) if *line == event.line => {
                report.stored_events += 1;
                seen.events.insert(event.id, event.line);
            }
            Some(_) => report.refused.push((
                t!("event `{id}`", id = event.id),
                t!("storage holds another event with this id; one id names one event, give this one its own")
                    .into(),
            )),
            None => to_send.push(event),
        }
    }
    let sending = Instant::now();
    report.events = send_events(producer, &names.events, &to_send).await?;
    seen.events.extend(to_send.into_iter().map(|e| (e.id, e.line)));
    report.events_elapsed = sending.elapsed();
    report.elapsed = start.elapsed();
    Ok(report)
}

/// Files Kafka answered for: each sent, or refused with why.
fn count_sent(done: Vec<files::Done>, report: &mut IngestReport, seen: &mut Seen) {
    for file in done {
        match file.result {
            Ok(()) => {
                report.files += 1;
                report.bytes += file.size;
                seen.files.extend(file.before.map(|b| (file.name, b)));
            }
            Err(why) => report.refused.push((file.name, why)),
        }
    }
}

/// Sends the events of standard input as they arrive (`--events -`), until it ends or Ctrl-C: each line
/// checked as a file's lines are, an event storage holds already not sent again, what is refused said at
/// once. Standard input cannot be read again, so Ctrl-C ends it like its end: what was read is sent and
/// acknowledged before it returns.
pub async fn ingest_stdin(
    producer: &FutureProducer,
    names: &Names,
    storage: &dyn Storage,
    report: &mut IngestReport,
) -> Result<()> {
    use tokio::io::AsyncBufReadExt;
    let start = Instant::now();
    let stored: HashMap<String, String> = tokio::task::block_in_place(|| storage.events())?
        .into_iter()
        .map(|e| (e.id, e.line))
        .collect();
    let mut lines = super::events::Lines::new(t!("standard input"));
    let mut input = tokio::io::BufReader::new(tokio::io::stdin());
    let mut in_flight = FuturesUnordered::new();
    let mut raw = Vec::new();
    let mut stop = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        tokio::select! {
            _ = &mut stop => {
                eprintln!("{}", t!("Stopped: every line read before Ctrl-C is sent, once Kafka acknowledges it."));
                break;
            }
            // read_until keeps what it read when the other branch wins: the line goes on next time.
            read = input.read_until(b'\n', &mut raw) => {
                let read = read.context(t!("Failed to read standard input"))?;
                if read == 0 {
                    break;
                }
                let line = lines.next(raw.strip_suffix(b"\n").unwrap_or(&raw));
                raw.clear();
                let event = match line {
                    super::events::Line::Event(event) => event,
                    super::events::Line::Refused(what, why) => {
                        eprintln!("{}", t!("not sent: {what}: {why}", what, why));
                        report.refused.push((what, why));
                        continue;
                    }
                    super::events::Line::Repeated | super::events::Line::Blank => continue,
                };
                match stored.get(&event.id) {
                    Some(line) if *line == event.line => report.stored_events += 1,
                    Some(_) => {
                        let what = t!("event `{id}`", id = event.id);
                        let why = t!(
                            "storage holds another event with this id; one id names one event, give this one its own"
                        )
                        .to_string();
                        eprintln!("{}", t!("not sent: {what}: {why}", what, why));
                        report.refused.push((what, why));
                    }
                    None => {
                        let record = || {
                            FutureRecord::to(&names.events)
                                .key(event.id.as_str())
                                .payload(event.line.as_bytes())
                        };
                        let delivery =
                            queue(producer, record, &mut in_flight, |a| settle(Some(a))).await?;
                        in_flight.push(delivery);
                        report.events += 1;
                    }
                }
            }
            Some(result) = in_flight.next(), if !in_flight.is_empty() => settle(Some(result))?,
        }
    }
    while let Some(result) = in_flight.next().await {
        settle(Some(result))?;
    }
    report.events_elapsed += start.elapsed();
    report.elapsed += start.elapsed();
    Ok(())
}

// ANCHOR: send_events
/// Sends events without waiting for each: up to EVENTS_IN_FLIGHT at once, then every acknowledgement.
async fn send_events(producer: &FutureProducer, topic: &str, events: &[Event]) -> Result<u64> {
    let mut in_flight = FuturesUnordered::new();
    for event in events {
        let record =
            || FutureRecord::to(topic).key(event.id.as_str()).payload(event.line.as_bytes());
        let delivery = queue(producer, record, &mut in_flight, |a| settle(Some(a))).await?;
        in_flight.push(delivery);
        while in_flight.len() >= EVENTS_IN_FLIGHT {
            settle(in_flight.next().await)?;
        }
    }
    while let Some(result) = in_flight.next().await {
        settle(Some(result))?;
    }
    Ok(events.len() as u64)
}
// ANCHOR_END: send_events

/// Queues a record; while librdkafka's queue is full, waits for Kafka to answer sends in flight, each
/// answer given to `answered`.
async fn queue<'a, F, T>(
    producer: &FutureProducer,
    record: F,
    in_flight: &mut FuturesUnordered<T>,
    mut answered: impl FnMut(T::Output) -> Result<()>,
) -> Result<DeliveryFuture>
where
    F: Fn() -> FutureRecord<'a, str, [u8]>,
    T: std::future::Future,
{
    loop {
        match producer.send_result(record()) {
            Ok(delivery) => return Ok(delivery),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _))
                if !in_flight.is_empty() =>
            {
                if let Some(answer) = in_flight.next().await {
                    answered(answer)?;
                }
            }
            Err((err, _)) => bail!(t!("Kafka did not take a message: {err}", err)),
        }
    }
}

fn settle<E>(result: Option<std::result::Result<OwnedDeliveryResult, E>>) -> Result<()> {
    match result {
        Some(Ok(Ok(_))) | None => Ok(()),
        Some(Ok(Err((err, _)))) => Err(anyhow!(t!("Kafka did not accept a message: {err}", err))),
        Some(Err(_)) => Err(anyhow!(t!("the producer stopped before Kafka answered"))),
    }
}

fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let style =
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
