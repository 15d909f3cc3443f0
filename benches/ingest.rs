//! Lesson 7's collector and sink on a live stack: `cargo bench --bench ingest`. Starts its own stack (own
//! project, free ports) from compose/docker-compose.yml, and for the last measure its storage servers too
//! (profile `cloud`: S3Proxy and Azurite), then, in rounds that alternate so both sides see the same machine,
//! prints medians (and for the collector, the median of each round's ratio to rdkafka) of:
//! - files: the collector (read, SHA-256, chunk, send) against rdkafka sending the collector's very messages
//!   (keys, headers, bytes), made in memory beforehand, with the same settings, on the same connected
//!   producer (the capstone aims at 0.9 or more), and as `lesson collect ingest` runs it, connecting anew (an
//!   idempotent producer's start); and rdkafka after hashing the files as the collector must (the first
//!   before its first chunk): what the hash alone costs, so that the collector's own cost shows;
//! - many small files (documents, images): the same, on the same connected producer, in files/s; where
//!   waiting for each file's acknowledgements before the next would show;
//! - events: the collector against rdkafka sending the same lines (the capstone aims at >= 5,000 events/s);
//! - an update: the sink storing a changed version of a large stored file (MB/s stored and verified);
//! - each backend: the sink storing the same new files into a fresh folder or prefix of a local folder, S3
//!   and Azure Blob in turn (MB/s stored and verified).
//!
//! A benchmark, not a test: it asserts no figure (only that the sink stored what was sent, or a figure would
//! mean nothing).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use futures_util::stream::{FuturesUnordered, StreamExt};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use workshop::capstone::chunk::FileMeta;
use workshop::capstone::events::{self, Event};
use workshop::capstone::ingest::{self, Source};
use workshop::capstone::storage::{self, LocalDir, StorageUrl};
use workshop::capstone::{megabytes, sample, sink, Names, Paths, CHUNK_SIZE};
use workshop::stack::compose::CLOUD_PROFILE;
use workshop::stack::config::StackConfig;
use workshop::stack::Stack;

const ROUNDS: usize = 21;
/// Rounds of the sink into each backend: S3Proxy stores at about 9 MB/s.
const SINK_ROUNDS: usize = 7;
const VIDEOS: usize = 3;
/// A folder of many small files (documents, images): where waiting for each file's acknowledgements shows.
const SMALL_FILES: usize = 400;
const SMALL_BYTES: usize = 16 * 1024;
const EVENTS: usize = 20_000;
const UPDATED_BYTES: usize = 100 * 1024 * 1024;
/// What the compose file's S3 server (service `s3`) accepts; its bucket `collect` exists from the start.
const S3_IDENTITY: &str = "workshop";
const S3_SECRET: &str = "workshop-secret";

/// Where the sink stores, in the order each round visits them.
#[derive(Clone, Copy)]
enum Backend {
    Local,
    S3,
    Azure,
}

const BACKENDS: [Backend; 3] = [Backend::Local, Backend::S3, Backend::Azure];

impl Backend {
    fn label(self) -> &'static str {
        match self {
            Backend::Local => "local folder",
            Backend::S3 => "S3 (S3Proxy, compose service s3)",
            Backend::Azure => "Azure Blob (Azurite, compose service azurite)",
        }
    }

    /// A `--storage` no earlier round stored into: a folder of the bench's directory, or a prefix.
    fn fresh(self, round: usize) -> String {
        match self {
            Backend::Local => format!("bench-local-{round}"),
            Backend::S3 => format!("s3://collect/bench-{round}"),
            Backend::Azure => format!("az://collect/bench-{round}"),
        }
    }
}

/// The host ports of the storage servers (profile `cloud`).
#[derive(Clone, Copy)]
struct CloudPorts {
    s3: u16,
    azurite: u16,
}

fn main() -> Result<()> {
    let cloud = CloudPorts { s3: free_port()?, azurite: free_port()? };
    // The storage client reads its servers and credentials from the environment, as tests/cloud.rs gives them
    // to `lesson`: set here, before any thread runs. Variables that would take precedence over these go.
    for variable in [
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT",
        "AWS_SESSION_TOKEN",
        "AZURE_STORAGE_CONNECTION_STRING",
    ] {
        std::env::remove_var(variable);
    }
    for (variable, value) in [
        ("AWS_ACCESS_KEY_ID", S3_IDENTITY.to_string()),
        ("AWS_SECRET_ACCESS_KEY", S3_SECRET.to_string()),
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", cloud.s3)),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AZURE_STORAGE_USE_EMULATOR", "true".to_string()),
        ("AZURITE_BLOB_STORAGE_URL", format!("http://127.0.0.1:{}", cloud.azurite)),
    ] {
        std::env::set_var(variable, value);
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(bench(cloud))
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The first and third quartiles: where the middle half of the samples lie.
fn quartiles(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: usize| samples.get(samples.len() * q / 4).copied().unwrap_or(f64::NAN);
    (at(1), at(3))
}

async fn bench(cloud: CloudPorts) -> Result<()> {
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
        project_given: true,
        kafka_port: free_port()?,
        zookeeper_port: free_port()?,
        track: Default::default(),
    };
    let stack = Stack::connect(config).await?;
    let result = measure(&stack, &dir, cloud).await;
    // `--profile cloud down -v`: the storage servers and their volumes go too.
    stack.down(true).await?;
    std::fs::remove_dir_all(&dir).ok();
    result
}

async fn measure(stack: &Stack, dir: &std::path::Path, cloud: CloudPorts) -> Result<()> {
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
    let small = dir.join("small-source");
    std::fs::create_dir_all(&small)?;
    for i in 0..SMALL_FILES {
        std::fs::write(small.join(format!("page-{i}.pdf")), sample::video(SMALL_BYTES + i))?;
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
    // rdkafka's side reuses one connected producer; the collector is measured both ways: connecting anew,
    // as `lesson collect ingest` does, and on that same producer (the data path alone).
    let producer = ingest::producer(&bootstrap).await?;
    let (mut files, mut raw_files, mut evs, mut raw_evs) = (vec![], vec![], vec![], vec![]);
    let (mut warm_files, mut smalls, mut raw_smalls, mut hashed) = (vec![], vec![], vec![], vec![]);
    let messages = messages_of(&paths.source)?;
    let contents = Arc::new(contents_of(&paths.source)?);
    let small_messages = messages_of(&small)?;
    let mut total = 0;
    for round in 0..ROUNDS {
        let source = Source { folder: &paths.source, events: events::Events::default() };
        let report = ingest::ingest(&bootstrap, &names, source, &empty).await?;
        total = report.bytes;
        files.push(megabytes(report.bytes) / report.elapsed.as_secs_f64());
        // The pair compared is measured in turn collector first and rdkafka first: what the first of two
        // runs leaves behind (the broker flushing its log, a collection) falls on each side as often.
        if round % 2 == 1 {
            raw_files.push(raw_chunks(&producer, &messages).await?);
            hashed.push(raw_chunks_hashed(&producer, &messages, &contents).await?);
        }
        let source = Source { folder: &paths.source, events: events::Events::default() };
        let mut seen = ingest::Seen::default();
        let report = ingest::ingest_unseen(&producer, &names, source, &empty, &mut seen).await?;
        warm_files.push(megabytes(report.bytes) / report.elapsed.as_secs_f64());
        if round % 2 == 0 {
            hashed.push(raw_chunks_hashed(&producer, &messages, &contents).await?);
            raw_files.push(raw_chunks(&producer, &messages).await?);
        }
        let source = Source { folder: &small, events: events::Events::default() };
        let mut seen = ingest::Seen::default();
        let report = ingest::ingest_unseen(&producer, &names, source, &empty, &mut seen).await?;
        smalls.push(report.files as f64 / report.elapsed.as_secs_f64());
        let rate = raw_chunks(&producer, &small_messages).await?;
        let small_bytes: usize = small_messages.iter().map(|(_, _, bytes)| bytes.len()).sum();
        raw_smalls.push(rate / megabytes(small_bytes as u64) * SMALL_FILES as f64);

        let source = Source {
            folder: &dir.join("no-files"),
            events: events::Events { events: lines.clone(), ..Default::default() },
        };
        let report = ingest::ingest(&bootstrap, &names, source, &empty).await?;
        evs.push(report.events as f64 / report.elapsed.as_secs_f64());
        raw_evs.push(raw_events(&producer, &lines).await?);
    }
    // `cargo bench --bench ingest -- collector`: the collector's measures alone (to profile them).
    let collector_only = std::env::args().any(|arg| arg == "collector");
    let (update, backends) = if collector_only {
        (0.0, vec![Vec::new(); BACKENDS.len()])
    } else {
        let update = sink_update(&bootstrap, &names, &paths).await?;
        start_cloud(stack, cloud).await?;
        (update, sink_backends(&bootstrap, &names, &paths, dir).await?)
    };

    // Each round's ratio compares two runs made seconds apart: the machine's drift between rounds cancels out.
    let ratios = |ours: &[f64]| ours.iter().zip(&raw_files).map(|(o, r)| o / r).collect::<Vec<_>>();
    let (ratio, warm_ratios) = (median(ratios(&files)), ratios(&warm_files));
    let (warm_low, warm_high) = quartiles(warm_ratios.clone());
    let warm_ratio = median(warm_ratios);
    let hashed_ratio = median(ratios(&hashed));
    let of_hashed = median(warm_files.iter().zip(&hashed).map(|(o, h)| o / h).collect());
    let hashed = median(hashed);
    let small_ratio = median(smalls.iter().zip(&raw_smalls).map(|(o, r)| o / r).collect());
    let (smalls, raw_smalls) = (median(smalls), median(raw_smalls));
    let (files, raw_files, evs, raw_evs) =
        (median(files), median(raw_files), median(evs), median(raw_evs));
    let warm_files = median(warm_files);
    println!("medians of {ROUNDS} alternating rounds, one broker:");
    println!("  files, {:.1} MB in chunks of {} KiB:", megabytes(total), CHUNK_SIZE / 1024);
    println!("    lesson 7 collector (read, SHA-256, chunk, send)  {files:>9.1} MB/s");
    println!("    rdkafka, the same messages made in memory          {raw_files:>9.1} MB/s");
    println!("    collector / rdkafka, median of each round's ratio = {ratio:.2}");
    println!("    lesson 7 collector, on the same connected producer {warm_files:>8.1} MB/s");
    println!("    collector (connected) / rdkafka, median of each round's ratio = {warm_ratio:.2} (target >= 0.9)");
    println!("      half of the rounds between {warm_low:.2} and {warm_high:.2}");
    println!("    rdkafka, the same messages, each file hashed first   {hashed:>9.1} MB/s");
    println!("      that / rdkafka = {hashed_ratio:.2}: the most a collector that hashes first reaches here");
    println!("      collector (connected) / that = {of_hashed:.2}: the collector's own cost beside the hash");
    println!(
        "  {SMALL_FILES} files of {} KiB, on the same connected producer:",
        SMALL_BYTES / 1024
    );
    println!("    lesson 7 collector                                {smalls:>9.0} files/s");
    println!("    rdkafka, the same messages made in memory         {raw_smalls:>9.0} files/s");
    println!("    collector / rdkafka, median of each round's ratio = {small_ratio:.2}");
    println!("  events, {EVENTS} JSON lines:");
    println!("    lesson 7 collector                                {evs:>9.0} events/s (target >= 5000)");
    println!("    rdkafka, same lines                               {raw_evs:>9.0} events/s");
    if collector_only {
        return Ok(());
    }
    println!(
        "  sink, a stored {} MB file updated, stored and verified again:",
        UPDATED_BYTES / (1024 * 1024)
    );
    println!("    local folder                                      {update:>9.1} MB/s");
    println!(
        "  sink, {VIDEOS} new files ({:.1} MB) stored and verified, a fresh folder or prefix each round ({SINK_ROUNDS}):",
        megabytes(total)
    );
    for (backend, rates) in BACKENDS.into_iter().zip(backends) {
        println!("    {:<50}{:>9.1} MB/s", backend.label(), median(rates));
    }
    Ok(())
}

/// The collector's own messages for the files of `folder`, made once in memory: each chunk with the file's
/// name as key and its headers, the bytes of the file.
fn messages_of(folder: &std::path::Path) -> Result<Vec<(FileMeta, u32, Vec<u8>)>> {
    let mut messages = Vec::new();
    for (name, path) in workshop::capstone::source::scan(folder).files {
        let meta = FileMeta::of(&path, &name)?;
        let bytes = std::fs::read(&path)?;
        for (index, chunk) in (0..meta.chunks).zip(bytes.chunks(CHUNK_SIZE)) {
            messages.push((meta.clone(), index, chunk.to_vec()));
        }
    }
    Ok(messages)
}

/// The bytes of each file of `folder`, in the collector's order.
fn contents_of(folder: &std::path::Path) -> Result<Vec<Vec<u8>>> {
    let files = workshop::capstone::source::scan(folder).files;
    files.into_iter().map(|(_, path)| Ok(std::fs::read(&path)?)).collect()
}

/// rdkafka sending the collector's messages, already in memory: no file read, no hash.
async fn raw_chunks(
    producer: &FutureProducer,
    messages: &[(FileMeta, u32, Vec<u8>)],
) -> Result<f64> {
    let start = Instant::now();
    let bytes = send_chunks(producer, messages, None).await?;
    Ok(megabytes(bytes) / start.elapsed().as_secs_f64())
}

/// A file's SHA-256, from the thread that hashes them in turn.
type Hashes = tokio::sync::mpsc::Receiver<sha2::digest::Output<sha2::Sha256>>;

/// The same, after what any collector that names a file by its SHA-256 must do: each file hashed before
/// its first chunk goes, the next one hashed on a thread while this one is sent (the collector's own
/// pipeline, without its reading from disk or its bookkeeping).
async fn raw_chunks_hashed(
    producer: &FutureProducer,
    messages: &[(FileMeta, u32, Vec<u8>)],
    contents: &Arc<Vec<Vec<u8>>>,
) -> Result<f64> {
    use sha2::{Digest, Sha256};
    let start = Instant::now();
    let (hashed, mut next) = tokio::sync::mpsc::channel(1);
    let files = Arc::clone(contents);
    let hashing = tokio::task::spawn_blocking(move || {
        for file in files.iter() {
            if hashed.blocking_send(Sha256::digest(file)).is_err() {
                break;
            }
        }
    });
    let bytes = send_chunks(producer, messages, Some(&mut next)).await?;
    hashing.await?;
    Ok(megabytes(bytes) / start.elapsed().as_secs_f64())
}

/// Sends `messages` with 64 in flight across files, as the collector does, each file's first chunk after
/// its hash if `hashes` gives them; returns the bytes sent.
async fn send_chunks(
    producer: &FutureProducer,
    messages: &[(FileMeta, u32, Vec<u8>)],
    mut hashes: Option<&mut Hashes>,
) -> Result<u64> {
    let mut in_flight = FuturesUnordered::new();
    let mut bytes = 0;
    for (meta, index, payload) in messages {
        if let (Some(hashes), 0) = (hashes.as_deref_mut(), index) {
            hashes.recv().await.context("a file was not hashed")?;
        }
        bytes += payload.len() as u64;
        in_flight.push(
            producer.send(
                FutureRecord::to("bench-raw")
                    .key(meta.name.as_str())
                    .payload(payload.as_slice())
                    .headers(meta.headers(*index)),
                Duration::from_secs(60),
            ),
        );
        while in_flight.len() >= 64 {
            in_flight.next().await;
        }
    }
    while in_flight.next().await.is_some() {}
    Ok(bytes)
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

/// `compose --profile cloud up -d s3 azurite` in the bench's project, as tests/cloud.rs starts them, then
/// waits until each answers HTTP on its host port.
async fn start_cloud(stack: &Stack, ports: CloudPorts) -> Result<()> {
    let compose = &stack.compose;
    let mut words = compose.cli.name().split(' ');
    let program = words.next().context("no compose command")?;
    let up = tokio::process::Command::new(program)
        .args(words)
        .arg("--project-name")
        .arg(&compose.project)
        .arg("--file")
        .arg(&compose.file)
        .args(["--profile", CLOUD_PROFILE, "up", "-d", "s3", "azurite"])
        .current_dir(compose.dir())
        .envs(compose.env.iter().map(|(k, v)| (k, v)))
        .env("S3_PORT", ports.s3.to_string())
        .env("AZURITE_PORT", ports.azurite.to_string())
        .output()
        .await
        .context("Failed to run compose up for s3 and azurite")?;
    ensure!(
        up.status.success(),
        "compose up s3 azurite failed: {}",
        String::from_utf8_lossy(&up.stderr)
    );
    wait_for("the S3 server to answer GET /healthz", ports.s3, b"GET /healthz HTTP/1.0\r\n\r\n")
        .await?;
    wait_for("Azurite to answer GET /", ports.azurite, b"GET / HTTP/1.0\r\n\r\n").await
}

/// Polls every 50 ms, for up to two minutes, until `port` answers `request` with an HTTP status line.
async fn wait_for(what: &str, port: u16, request: &[u8]) -> Result<()> {
    eprintln!("waiting for {what} (127.0.0.1:{port})");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !answers(port, request).await {
        ensure!(Instant::now() < deadline, "gave up after two minutes waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// The port answers an HTTP request with a status line (Docker's port proxy accepts and closes before the
/// server listens).
async fn answers(port: u16, request: &[u8]) -> bool {
    let talk = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream.write_all(request).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<bool, std::io::Error>(answer.starts_with(b"HTTP/1.1 "))
    };
    matches!(tokio::time::timeout(Duration::from_secs(2), talk).await, Ok(Ok(true)))
}

/// In each round, for each backend in turn: the videos sent again, then the sink storing them into a fresh
/// folder or prefix of that backend; MB/s stored and verified, from the time the sink spends on the files'
/// chunks (appending, hashing, storing), not waiting for Kafka. One list of rates per backend.
async fn sink_backends(
    bootstrap: &str,
    names: &Names,
    paths: &Paths,
    dir: &std::path::Path,
) -> Result<Vec<Vec<f64>>> {
    let mut rates = vec![Vec::new(); BACKENDS.len()];
    for round in 0..SINK_ROUNDS {
        for (backend, rates) in BACKENDS.into_iter().zip(&mut rates) {
            let url = StorageUrl::parse(&backend.fresh(round), dir)?;
            // Opening a bucket or container is a round trip on a runtime of its own: a blocking call.
            let target = tokio::task::block_in_place(|| storage::open(&url, true))?;
            // Nothing is stored there yet: every file is sent.
            let source = Source { folder: &paths.source, events: events::Events::default() };
            let sent = ingest::ingest(bootstrap, names, source, target.as_ref()).await?;
            let report = sink::run(bootstrap, names, &paths.scratch, target, true).await?;
            ensure!(
                report.files == sent.files && report.bytes == sent.bytes,
                "{url}: the sink stored {} of {} files",
                report.files,
                sent.files
            );
            rates.push(megabytes(report.bytes) / report.busy.as_secs_f64().max(0.001));
        }
    }
    Ok(rates)
}
