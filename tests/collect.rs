//! Lesson 7 on a live stack: a mixed set with a 24 MB file through Kafka into storage, with the sink
//! killed (SIGKILL) mid-file and started again, the broker restarted during an ingest, and corrupt or
//! missing chunks detected and never stored as complete.

mod common;

use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use common::Learner;
use rdkafka::producer::{FutureProducer, FutureRecord};
use workshop::capstone::chunk::FileMeta;
use workshop::capstone::{ingest, sample, Paths, FILES_TOPIC};
use workshop::kafka::inspect as kafka_inspect;
use workshop::stack::engine::Engine;

const NOT_DONE: i32 = 1;
const ERROR: i32 = 2;

#[test]
fn l07_collect_on_a_live_stack() -> Result<()> {
    let l = Learner::new()?;
    let _down = l.down_on_drop();
    l.expect(&["1", "--run"], 0)?;
    l.expect(&["2", "--run"], 0)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let paths = Paths::in_dir(&l.config.dir);
    l07_collect_check_before(&l)?;
    l07_collect_sink_killed_mid_file(&l, &paths)?;
    l07_collect_kafka_restarted_during_ingest(&l, &paths, &runtime)?;
    l07_collect_corrupt_and_missing_chunks(&l, &paths, &runtime)?;
    l07_collect_storage_not_writable(&l, &paths)?;
    Ok(())
}

fn l07_collect_check_before(l: &Learner) -> Result<()> {
    snapshot!("l07_collect_explain", l.expect(&["7"], 0)?);
    snapshot!("l07_collect_check_before", l.expect(&["check", "7"], NOT_DONE)?);
    let empty = l.fails(&["collect", "ingest"], ERROR)?;
    snapshot!("l07_collect_nothing_to_collect", empty.stderr);
    Ok(())
}

fn l07_collect_sink_killed_mid_file(l: &Learner, paths: &Paths) -> Result<()> {
    sample::write(paths)?;
    let mut sink = l.command(&["collect", "sink"]).stdout(std::process::Stdio::null()).spawn()?;
    let ingest = l.command(&["collect", "ingest"]).spawn()?;
    let scratch = paths.storage.join(".work");
    common::wait_for("a chunk spooled by the sink", || Ok(has_part(&scratch)))?;
    sink.kill().context("Failed to kill the sink")?;
    sink.wait()?;
    let sent = ingest.wait_with_output()?;
    ensure!(sent.status.success(), "ingest failed: {}", String::from_utf8_lossy(&sent.stderr));
    l.expect(&["collect", "sink", "--until-caught-up"], 0)?;
    snapshot!("l07_collect_check", l.expect(&["check", "7"], 0)?);
    Ok(())
}

fn l07_collect_kafka_restarted_during_ingest(
    l: &Learner,
    paths: &Paths,
    runtime: &tokio::runtime::Runtime,
) -> Result<()> {
    std::fs::write(paths.source.join("second-clip.mp4"), sample::video(40 * 1024 * 1024))?;
    let bootstrap = format!("localhost:{}", l.config.kafka_port);
    let before = runtime.block_on(files_in_topic(&bootstrap))?;
    let ingest = l.command(&["collect", "ingest"]).spawn()?;
    common::wait_for("the ingest to start sending", || Ok(runtime.block_on(files_in_topic(&bootstrap))? > before))?;
    runtime.block_on(async {
        let engine = Engine::connect().await?;
        engine.restart(&l.kafka_container(&engine).await?, 60).await
    })?;
    let sent = ingest.wait_with_output()?;
    ensure!(sent.status.success(), "ingest failed across the restart: {}", String::from_utf8_lossy(&sent.stderr));
    l.expect(&["collect", "sink", "--until-caught-up"], 0)?;
    let check = l.expect(&["check", "7"], 0)?;
    ensure!(check.contains("7 of 7 source files"), "{check}");
    Ok(())
}

fn l07_collect_corrupt_and_missing_chunks(l: &Learner, paths: &Paths, runtime: &tokio::runtime::Runtime) -> Result<()> {
    let bootstrap = format!("localhost:{}", l.config.kafka_port);
    let producer = ingest::producer(&bootstrap)?;
    let bytes = sample::video(3 * workshop::capstone::CHUNK_SIZE);
    let corrupt = crafted(&paths.storage, "corrupt.mp4", &bytes)?;
    let missing = crafted(&paths.storage, "missing.mp4", &bytes)?;
    runtime.block_on(async {
        for index in 0..3u32 {
            let mut chunk = part(&bytes, index).to_vec();
            if index == 1 {
                chunk[100] ^= 0xff;
            }
            send(&producer, &corrupt, index, &chunk).await?;
            if index != 1 {
                send(&producer, &missing, index, part(&bytes, index)).await?;
            }
        }
        anyhow::Ok(())
    })?;
    let sink = l.fails(&["collect", "sink", "--until-caught-up"], NOT_DONE)?;
    snapshot!("l07_collect_sink_rejects", sink.stdout);
    let stored = paths.storage.join("files");
    ensure!(!stored.join("corrupt.mp4").exists() && !stored.join("missing.mp4").exists(), "a bad file was stored");
    Ok(())
}

fn l07_collect_storage_not_writable(l: &Learner, paths: &Paths) -> Result<()> {
    std::fs::remove_dir_all(&paths.storage)?;
    std::fs::write(&paths.storage, "a file where the storage directory should be")?;
    let sink = l.fails(&["collect", "sink", "--until-caught-up"], ERROR)?;
    snapshot!("l07_collect_storage_not_writable", sink.stderr);
    Ok(())
}

fn crafted(storage: &Path, name: &str, bytes: &[u8]) -> Result<FileMeta> {
    let path = storage.join(format!("../{name}.src"));
    std::fs::write(&path, bytes)?;
    let meta = FileMeta::of(&path, name)?;
    std::fs::remove_file(&path)?;
    Ok(meta)
}

fn part(bytes: &[u8], index: u32) -> &[u8] {
    let size = workshop::capstone::CHUNK_SIZE;
    let start = index as usize * size;
    &bytes[start..(start + size).min(bytes.len())]
}

async fn send(producer: &FutureProducer, meta: &FileMeta, index: u32, chunk: &[u8]) -> Result<()> {
    let record = FutureRecord::to(FILES_TOPIC).key(&meta.id).payload(chunk).headers(meta.headers(index));
    producer.send(record, Duration::from_secs(30)).await.map_err(|(e, _)| anyhow::anyhow!("{e}"))?;
    Ok(())
}

async fn files_in_topic(bootstrap: &str) -> Result<i64> {
    let partitions = kafka_inspect::topic(bootstrap, FILES_TOPIC).await?.unwrap_or_default();
    let ids: Vec<i32> = partitions.iter().map(|p| p.id).collect();
    Ok(kafka_inspect::watermarks(bootstrap, FILES_TOPIC, &ids).await?.values().map(|(_, high)| high).sum())
}

fn has_part(dir: &Path) -> bool {
    workshop::capstone::storage::walk(dir).unwrap_or_default().iter().any(|(name, _)| name.ends_with(".part"))
}
