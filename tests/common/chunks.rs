//! Chunks sent by hand, as a collector that went wrong would send them (some corrupt or missing), and how
//! many messages a topic holds.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use rdkafka::producer::{FutureProducer, FutureRecord};
use workshop::capstone::chunk::FileMeta;
use workshop::kafka::inspect as kafka_inspect;

/// The description of `bytes` as the collector would send them under `name`.
pub fn crafted(storage: &Path, name: &str, bytes: &[u8]) -> Result<FileMeta> {
    let path = storage.join(format!("../{name}.src"));
    std::fs::write(&path, bytes)?;
    let meta = FileMeta::of(&path, name)?;
    std::fs::remove_file(&path)?;
    Ok(meta)
}

pub fn part(bytes: &[u8], index: u32) -> &[u8] {
    let size = workshop::capstone::CHUNK_SIZE;
    let start = index as usize * size;
    &bytes[start..(start + size).min(bytes.len())]
}

pub async fn send(
    producer: &FutureProducer,
    topic: &str,
    meta: &FileMeta,
    index: u32,
    chunk: &[u8],
) -> Result<()> {
    let record =
        FutureRecord::to(topic).key(&meta.name).payload(chunk).headers(meta.headers(index));
    producer
        .send(record, Duration::from_secs(30))
        .await
        .map_err(|(e, _)| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// How many messages `topic` holds.
pub async fn messages_in(bootstrap: &str, topic: &str) -> Result<i64> {
    let partitions = kafka_inspect::topic(bootstrap, topic).await?.unwrap_or_default();
    let ids: Vec<i32> = partitions.iter().map(|p| p.id).collect();
    Ok(kafka_inspect::watermarks(bootstrap, topic, &ids)
        .await?
        .values()
        .map(|(_, high)| high)
        .sum())
}

/// Sends `bytes` (three chunks) as `corrupt`, with a byte of chunk 1 flipped, and as `missing`, without
/// chunk 1.
pub async fn send_corrupt_and_missing(
    producer: &FutureProducer,
    topic: &str,
    [corrupt, missing]: [&FileMeta; 2],
    bytes: &[u8],
) -> Result<()> {
    for index in 0..3u32 {
        let mut chunk = part(bytes, index).to_vec();
        if index == 1 {
            chunk[100] ^= 0xff;
        }
        send(producer, topic, corrupt, index, &chunk).await?;
        if index != 1 {
            send(producer, topic, missing, index, part(bytes, index)).await?;
        }
    }
    Ok(())
}
