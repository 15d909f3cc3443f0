//! Lesson 7's collector against raw producing on the same stack: `cargo bench --bench ingest`.
//! Starts its own stack (own project, free ports) from compose/docker-compose.yml, makes ~100 MB of
//! files, and prints MB/s for: the collector (read, hash, chunk, send), rdkafka sending the same number of
//! same-sized messages with the same settings, and kafka-producer-perf-test inside the kafka container.
//! A benchmark, not a test: it asserts nothing, and prints the ratio the capstone aims at (>= 0.8).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::stream::{FuturesUnordered, StreamExt};
use rdkafka::producer::FutureRecord;
use workshop::capstone::{ingest, megabytes, sample, Paths, CHUNK_SIZE};
use workshop::stack::config::StackConfig;
use workshop::stack::Stack;

const EXTRA_VIDEOS: usize = 3;

fn main() -> Result<()> {
    tokio::runtime::Runtime::new()?.block_on(bench())
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn bench() -> Result<()> {
    let project = format!("wks-bench-{:08x}", std::process::id());
    let dir = std::env::temp_dir().join(&project);
    std::fs::create_dir_all(&dir)?;
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/compose/docker-compose.yml"), dir.join("docker-compose.yml"))?;
    let config = StackConfig { dir: dir.clone(), project, kafka_port: free_port()?, zookeeper_port: free_port()? };
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
    sample::write(&paths)?;
    for i in 0..EXTRA_VIDEOS {
        std::fs::write(paths.source.join(format!("more-{i}.mp4")), sample::video(sample::VIDEO_BYTES + i))?;
    }
    workshop::capstone::ensure_topics(&bootstrap).await?;

    let report = ingest::ingest(&bootstrap, &paths.source, None).await?;
    let chunks = report.bytes.div_ceil(CHUNK_SIZE as u64) as usize;
    let collector = megabytes(report.bytes) / report.elapsed.as_secs_f64();

    workshop::kafka::admin::create_topic(&bootstrap, "bench-raw", 3, 1).await?;
    let raw = raw_rdkafka(&bootstrap, chunks).await?;

    workshop::kafka::admin::create_topic(&bootstrap, "bench-perf-test", 3, 1).await?;
    let perf = perf_test(stack, chunks).await?;

    println!("{:.1} MB in {chunks} chunks of {} KiB, on one broker:", megabytes(report.bytes), CHUNK_SIZE / 1024);
    println!("  lesson 7 collector (read, SHA-256, chunk, send)  {collector:>8.1} MB/s");
    println!("  rdkafka, same messages and settings, no files     {raw:>8.1} MB/s");
    println!("  kafka-producer-perf-test in the container (acks=all) {perf:>5.1} MB/s");
    println!(
        "  collector / rdkafka raw = {:.2}, collector / perf-test = {:.2} (target >= 0.8)",
        collector / raw,
        collector / perf
    );
    Ok(())
}

async fn raw_rdkafka(bootstrap: &str, chunks: usize) -> Result<f64> {
    let producer = ingest::producer(bootstrap)?;
    let payload = sample::video(CHUNK_SIZE);
    let keys: Vec<String> = (0..chunks).map(|i| format!("file-{}", i / 48)).collect();
    let start = Instant::now();
    let mut in_flight = FuturesUnordered::new();
    for key in &keys {
        let record = FutureRecord::to("bench-raw").key(key).payload(&payload);
        in_flight.push(producer.send(record, Duration::from_secs(60)));
        while in_flight.len() >= 64 {
            in_flight.next().await;
        }
    }
    while in_flight.next().await.is_some() {}
    Ok(megabytes((chunks * CHUNK_SIZE) as u64) / start.elapsed().as_secs_f64())
}

async fn perf_test(stack: &Stack, chunks: usize) -> Result<f64> {
    let (records, size) = (chunks.to_string(), CHUNK_SIZE.to_string());
    let cmd = [
        "kafka-producer-perf-test",
        "--topic",
        "bench-perf-test",
        "--num-records",
        &records,
        "--record-size",
        &size,
        "--throughput",
        "-1",
        "--producer-props",
        "bootstrap.servers=kafka:29092",
        "acks=all",
    ];
    let out = stack.exec("kafka", &cmd, None).await?;
    let last = out.stdout.lines().rev().find(|l| l.contains("MB/sec")).context("no summary from perf-test")?;
    let mb = last.split('(').nth(1).and_then(|s| s.split_whitespace().next()).context("no MB/sec")?;
    Ok(mb.parse::<f64>()? * 1.048_576)
}
