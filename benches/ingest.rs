//! Lesson 7's collector and sink on a live stack: `cargo bench --bench ingest`. Starts its own stack (own
//! project, free ports) from compose/docker-compose.yml, then, in rounds that alternate so both sides see
//! the same machine, prints medians of:
//! - files: the collector (read, SHA-256, chunk, send) against rdkafka sending the same number of
//!   same-sized messages with the same settings (the capstone aims at >= 0.9);
//! - events: the collector against rdkafka sending the same lines (the capstone aims at >= 5,000 events/s);
//! - an update: the sink storing a changed version of a large stored file (MB/s stored and verified).
//!
//! A benchmark, not a test: it asserts nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::stream::{FuturesUnordered, StreamExt};
use rdkafka::producer::{FutureProducer, FutureRecord};
use workshop::capstone::events::{self, Event};
use workshop::capstone::ingest::{self, Source};
use workshop::capstone::storage::LocalDir;
use workshop::capstone::{megabytes, sample, sink, Names, Paths, CHUNK_SIZE};
use workshop::stack::config::StackConfig;
use workshop::stack::Stack;

const ROUNDS: usize = 5;
const VIDEOS: usize = 3;
const EVENTS: usize = 20_000;
const UPDATED_BYTES: usize = 100 * 1024 * 1024;

fn main() -> Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(bench())
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

async fn bench() -> Result<()> {
    let project = format!("wks-bench-{:08x}", std::process::id());
    let dir = std::env::temp_dir().join(&project);
    std::fs::create_dir_all(&dir)?;
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/compose/docker-compose.yml"),
        dir.join("docker-compose.yml"),
    )?;
    let config = StackConfig {
        dir: dir.clone(),
        project,
        kafka_port: free_port()?,
        zookeeper_port: free_port()?,
    };
    let stack = Stack::connect(config).await?;
    let result = measure(&stack, &dir).await;
    stack.down(true).await?;
    std::fs::remove_dir_all(&dir).ok();
    result
}

async fn measure(stack: &Stack, dir: &std::path::Path) -> Result<()> {
    stack.up().await?;
    let bootstrap = stack.bootstrap();
    let paths = Paths::in_dir(dir);
    std::fs::create_dir_all(&paths.source)?;
    for i in 0..VIDEOS {
        std::fs::write(
            paths.source.join(format!("clip-{i}.mp4")),
            sample::video(sample::VIDEO_BYTES + i),
        )?;
    }
    let lines: Vec<Event> = (0..EVENTS)
        .map(|i| Event {
            id: format!("e-{i}"),
            line: format!(r#"{{"id":"e-{i}","kind":"click","page":"/p/{}"}}"#, i % 97),
        })
        .collect();
    let names = Names::for_dir(dir);
    workshop::capstone::ensure_topics(&bootstrap, &names).await?;
    workshop::kafka::admin::create_topic(&bootstrap, "bench-raw", 3, 1).await?;
    // Nothing is stored: every round sends everything.
    let empty = LocalDir::at(&dir.join("no-storage"));
    // rdkafka's side reuses one connected producer, where the collector connects anew on every run: the
    // stricter comparison for the collector.
    let producer = ingest::producer(&bootstrap)?;
    let (mut files, mut raw_files, mut evs, mut raw_evs) = (vec![], vec![], vec![], vec![]);
    let mut total = 0;
    for _ in 0..ROUNDS {
        let source = Source { folder: &paths.source, events: events::Events::default() };
        let report = ingest::ingest(&bootstrap, &names, source, &empty).await?;
        total = report.bytes;
        files.push(megabytes(report.bytes) / report.elapsed.as_secs_f64());
        raw_files
            .push(raw_chunks(&producer, report.bytes.div_ceil(CHUNK_SIZE as u64) as usize).await?);

        let source = Source {
            folder: &dir.join("no-files"),
            events: events::Events { events: lines.clone(), ..Default::default() },
        };
        let report = ingest::ingest(&bootstrap, &names, source, &empty).await?;
        evs.push(report.events as f64 / report.elapsed.as_secs_f64());
        raw_evs.push(raw_events(&producer, &lines).await?);
    }
    let update = sink_update(&bootstrap, &names, &paths).await?;

    let (files, raw_files, evs, raw_evs) =
        (median(files), median(raw_files), median(evs), median(raw_evs));
    println!("medians of {ROUNDS} alternating rounds, one broker:");
    println!("  files, {:.1} MB in chunks of {} KiB:", megabytes(total), CHUNK_SIZE / 1024);
    println!("    lesson 7 collector (read, SHA-256, chunk, send)  {files:>9.1} MB/s");
    println!("    rdkafka, same messages and settings, no files     {raw_files:>9.1} MB/s");
    println!("    collector / rdkafka = {:.2} (target >= 0.9)", files / raw_files);
    println!("  events, {EVENTS} JSON lines:");
    println!("    lesson 7 collector                                {evs:>9.0} events/s (target >= 5000)");
    println!("    rdkafka, same lines                               {raw_evs:>9.0} events/s");
    println!(
        "  sink, a stored {} MB file updated, stored and verified again:",
        UPDATED_BYTES / (1024 * 1024)
    );
    println!("    local folder                                      {update:>9.1} MB/s");
    Ok(())
}

async fn raw_chunks(producer: &FutureProducer, chunks: usize) -> Result<f64> {
    let payload = sample::video(CHUNK_SIZE);
    let keys: Vec<String> = (0..chunks).map(|i| format!("file-{}", i / 48)).collect();
    let start = Instant::now();
    let mut in_flight = FuturesUnordered::new();
    for key in &keys {
        in_flight.push(producer.send(
            FutureRecord::to("bench-raw").key(key).payload(&payload),
            Duration::from_secs(60),
        ));
        while in_flight.len() >= 64 {
            in_flight.next().await;
        }
    }
    while in_flight.next().await.is_some() {}
    Ok(megabytes((chunks * CHUNK_SIZE) as u64) / start.elapsed().as_secs_f64())
}

async fn raw_events(producer: &FutureProducer, lines: &[Event]) -> Result<f64> {
    let start = Instant::now();
    let mut in_flight = FuturesUnordered::new();
    for event in lines {
        let record = FutureRecord::to("bench-raw").key(&event.id).payload(&event.line);
        in_flight.push(producer.send(record, Duration::from_secs(60)));
    }
    while in_flight.next().await.is_some() {}
    Ok(lines.len() as f64 / start.elapsed().as_secs_f64())
}

/// Stores a large file, then in each round changes one byte and measures the sink storing the new
/// version: the time it spends on the file's chunks (appending, hashing, storing), not waiting for Kafka.
async fn sink_update(bootstrap: &str, names: &Names, paths: &Paths) -> Result<f64> {
    let folder = paths.source.with_file_name("update-source");
    std::fs::create_dir_all(&folder)?;
    let file = folder.join("big.mp4");
    let mut bytes = sample::video(UPDATED_BYTES);
    let mut rates = Vec::new();
    for round in 0..6u8 {
        bytes[1000] = round;
        std::fs::write(&file, &bytes)?;
        let source = Source { folder: &folder, events: events::Events::default() };
        ingest::ingest(bootstrap, names, source, &LocalDir::open(&paths.storage)?).await?;
        let storage = Arc::new(LocalDir::open(&paths.storage)?);
        let report = sink::run(bootstrap, names, &paths.scratch, storage, true).await?;
        if round > 0 {
            rates.push(megabytes(UPDATED_BYTES as u64) / report.busy.as_secs_f64().max(0.001));
        }
    }
    Ok(median(rates))
}
