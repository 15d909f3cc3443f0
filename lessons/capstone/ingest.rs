//! The collector: every file under a directory, in chunks, and every line of an events file, to Kafka.
//! Idempotent producer, acks=all: a retried send is never stored twice by the broker.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use futures_util::stream::{FuturesUnordered, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::future_producer::OwnedDeliveryResult;
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::chunk::FileMeta;
use super::storage::{parse_event, walk};
use super::{megabytes, CHUNK_SIZE, EVENTS_TOPIC, FILES_TOPIC};

/// Sends in flight at once; librdkafka batches them.
const IN_FLIGHT: usize = 64;

#[derive(Debug, Default)]
pub struct IngestReport {
    pub files: u64,
    pub bytes: u64,
    pub events: u64,
    /// (what, why) for each file or event line that was not sent.
    pub skipped: Vec<(String, String)>,
    pub elapsed: Duration,
}

impl IngestReport {
    pub fn summary(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(0.001);
        let mut out = format!(
            "sent {} files ({:.1} MB) and {} events in {:.1}s: {:.1} files/s, {:.1} MB/s\n",
            self.files,
            megabytes(self.bytes),
            self.events,
            secs,
            self.files as f64 / secs,
            megabytes(self.bytes) / secs
        );
        for (what, why) in &self.skipped {
            out += &format!("  skipped {what}: {why}\n");
        }
        out
    }
}

pub fn producer(bootstrap: &str) -> Result<FutureProducer> {
    crate::kafka::config::producer(bootstrap)
        .set("linger.ms", "5")
        .set("message.timeout.ms", "300000")
        .create()
        .context("Failed to create the collector's producer")
}

pub async fn ingest(bootstrap: &str, source: &Path, events: Option<&Path>) -> Result<IngestReport> {
    let start = Instant::now();
    let files = if source.exists() {
        walk(source).with_context(|| format!("Failed to list the files to collect in {}", source.display()))?
    } else {
        Vec::new()
    };
    let event_lines = match events {
        Some(path) if path.exists() => std::fs::read_to_string(path)
            .with_context(|| format!("Failed to read the events in {}", path.display()))?
            .lines()
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    if files.is_empty() && event_lines.is_empty() {
        bail!("There is nothing to collect in {}: no files, no events. Put files there, or run lesson 7 --run to make a sample set.", source.display());
    }
    let producer = producer(bootstrap)?;
    let mut report = IngestReport::default();
    let total: u64 = files.iter().filter_map(|(_, p)| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let bar = progress_bar(total);
    for (name, path) in &files {
        match send_file(&producer, path, name, &bar).await {
            Ok(size) => {
                report.files += 1;
                report.bytes += size;
            }
            Err(err) => report.skipped.push((name.clone(), format!("{err:#}"))),
        }
    }
    bar.finish_and_clear();
    for (n, line) in event_lines.iter().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let id = match parse_event(line) {
            Ok(id) => id,
            Err(problem) => {
                report.skipped.push((format!("event line {}", n + 1), problem));
                continue;
            }
        };
        let record = FutureRecord::to(EVENTS_TOPIC).key(&id).payload(line);
        producer
            .send(record, Duration::from_secs(300))
            .await
            .map_err(|(e, _)| anyhow!("Kafka did not accept event {id}: {e}"))?;
        report.events += 1;
    }
    report.elapsed = start.elapsed();
    Ok(report)
}

/// Hashes the file, then sends it chunk by chunk; a file that changes or vanishes meanwhile is reported.
async fn send_file(producer: &FutureProducer, path: &Path, name: &str, bar: &ProgressBar) -> Result<u64> {
    let (owned_path, owned_name) = (path.to_path_buf(), name.to_string());
    let meta = tokio::task::spawn_blocking(move || FileMeta::of(&owned_path, &owned_name)).await??;
    let mut file = std::fs::File::open(path).with_context(|| format!("Failed to open {}", path.display()))?;
    let mut in_flight = FuturesUnordered::new();
    let mut sent = 0u64;
    for index in 0..meta.chunks {
        let mut chunk = Vec::with_capacity(CHUNK_SIZE);
        // A read from disk blocks its thread: let the runtime move its other tasks elsewhere meanwhile.
        tokio::task::block_in_place(|| (&mut file).take(CHUNK_SIZE as u64).read_to_end(&mut chunk))
            .with_context(|| format!("Failed to read {name}"))?;
        sent += chunk.len() as u64;
        let delivery = loop {
            let record = FutureRecord::to(FILES_TOPIC).key(&meta.id).payload(&chunk).headers(meta.headers(index));
            match producer.send_result(record) {
                Ok(delivery) => break delivery,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) if !in_flight.is_empty() => {
                    settle(in_flight.next().await, name)?;
                }
                Err((err, _)) => bail!("Failed to queue a chunk of {name}: {err}"),
            }
        };
        in_flight.push(delivery);
        bar.inc(chunk.len() as u64);
        while in_flight.len() >= IN_FLIGHT {
            settle(in_flight.next().await, name)?;
        }
    }
    while let Some(result) = in_flight.next().await {
        settle(Some(result), name)?;
    }
    if sent != meta.size {
        bail!("it changed while it was read ({} bytes, then {sent}); the sink will not store it", meta.size);
    }
    Ok(meta.size)
}

fn settle<E>(result: Option<std::result::Result<OwnedDeliveryResult, E>>, name: &str) -> Result<()> {
    match result {
        Some(Ok(Ok(_))) | None => Ok(()),
        Some(Ok(Err((err, _)))) => Err(anyhow!("Kafka did not accept a chunk of {name}: {err}")),
        Some(Err(_)) => Err(anyhow!("the producer stopped while sending {name}")),
    }
}

fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
