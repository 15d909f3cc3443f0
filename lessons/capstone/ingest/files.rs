//! Files to Kafka without a pause between them: one window of chunks in flight across files, each
//! acknowledgement counted to its file. Waiting for a file's last acknowledgement before reading the next
//! file drained the window at every file: a folder of small documents went out one linger at a time.

use std::collections::HashMap;
use std::future::Future;
use std::io::Read;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::SystemTime;

use anyhow::{Context, Result};
use futures_util::stream::{FuturesUnordered, StreamExt};
use indicatif::ProgressBar;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

use super::super::chunk::FileMeta;
use super::super::CHUNK_SIZE;
use super::{queue, settle, CHUNKS_IN_FLIGHT};

/// A file's size and modification time when it was hashed.
pub type Stamp = Option<(u64, SystemTime)>;

/// The file's size and modification time now.
pub fn stamp(path: &Path) -> Stamp {
    std::fs::metadata(path).and_then(|m| Ok((m.len(), m.modified()?))).ok()
}

/// A file whose every chunk Kafka answered: sent, or why not.
pub struct Done {
    /// Its place among the files of the round: answers come in any order, reports in this one.
    pub order: usize,
    pub name: String,
    pub size: u64,
    pub before: Stamp,
    pub result: Result<(), String>,
}

/// A delivery, and which file it carries a chunk of.
struct Tagged {
    file: usize,
    delivery: DeliveryFuture,
}

impl Future for Tagged {
    type Output = (usize, <DeliveryFuture as Future>::Output);

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let file = self.file;
        Pin::new(&mut self.delivery).poll(cx).map(|result| (file, result))
    }
}

/// Where a file's chunks come from: the bytes its hashing kept, or the file read again.
enum Chunks<'b> {
    Kept(&'b [u8]),
    FromDisk(std::fs::File),
}

struct Pending {
    name: String,
    size: u64,
    before: Stamp,
    unanswered: usize,
    all_queued: bool,
    error: Option<String>,
}

pub struct Files<'a> {
    producer: &'a FutureProducer,
    topic: &'a str,
    bar: &'a ProgressBar,
    in_flight: FuturesUnordered<Tagged>,
    pending: HashMap<usize, Pending>,
    done: Vec<Done>,
    /// Each chunk is read here, then copied by librdkafka: one buffer for every chunk.
    chunk: Vec<u8>,
}

impl<'a> Files<'a> {
    pub fn new(producer: &'a FutureProducer, topic: &'a str, bar: &'a ProgressBar) -> Files<'a> {
        Files {
            producer,
            topic,
            bar,
            in_flight: FuturesUnordered::new(),
            pending: HashMap::new(),
            done: Vec::new(),
            chunk: Vec::with_capacity(CHUNK_SIZE),
        }
    }

    /// Queues every chunk of a file, from `bytes` if the hashing kept them or else read from `path`, and
    /// returns the files Kafka has answered for meanwhile. A file read again that changes between its
    /// hashing and its last chunk (its size or modification time, as they were `before`, differ after) is
    /// reported; the sink will not store that copy either, as its chunks do not make the file their headers
    /// describe.
    pub async fn send(
        &mut self,
        file: usize,
        path: &Path,
        meta: &FileMeta,
        before: Stamp,
        bytes: Option<Vec<u8>>,
    ) -> Vec<Done> {
        self.pending.insert(
            file,
            Pending {
                name: meta.name.clone(),
                size: meta.size,
                before,
                unanswered: 0,
                all_queued: false,
                error: None,
            },
        );
        if let Err(err) = self.queue_chunks(file, path, meta, bytes.as_deref()).await {
            self.fail(file, format!("{err:#}"));
        }
        if let Some(pending) = self.pending.get_mut(&file) {
            pending.all_queued = true;
        }
        finish_if_answered(&mut self.pending, &mut self.done, file);
        std::mem::take(&mut self.done)
    }

    /// Waits for Kafka's answer to every chunk queued, and returns the files answered since the last call.
    pub async fn flush(&mut self) -> Vec<Done> {
        while let Some(answer) = self.in_flight.next().await {
            self.answered(answer);
        }
        std::mem::take(&mut self.done)
    }

    async fn queue_chunks(
        &mut self,
        file: usize,
        path: &Path,
        meta: &FileMeta,
        bytes: Option<&[u8]>,
    ) -> Result<()> {
        let before = self.pending.get(&file).and_then(|p| p.before);
        let mut from = match bytes {
            Some(bytes) => Chunks::Kept(bytes),
            None => Chunks::FromDisk(
                std::fs::File::open(path)
                    .with_context(|| t!("Failed to open {path}", path = path.display()))?,
            ),
        };
        let mut read = 0u64;
        for index in 0..meta.chunks {
            // Kafka refused one of its chunks: the file is not sent, its other chunks need not go.
            if self.pending.get(&file).is_some_and(|p| p.error.is_some()) {
                return Ok(());
            }
            let chunk = match &mut from {
                Chunks::Kept(bytes) => {
                    let start = (index as usize * CHUNK_SIZE).min(bytes.len());
                    &bytes[start..(start + CHUNK_SIZE).min(bytes.len())]
                }
                Chunks::FromDisk(reader) => {
                    let chunk = &mut self.chunk;
                    chunk.clear();
                    // A read from disk blocks its thread: let the runtime move its other tasks elsewhere.
                    tokio::task::block_in_place(|| {
                        reader.take(CHUNK_SIZE as u64).read_to_end(chunk)
                    })
                    .with_context(|| t!("Failed to read {path}", path = path.display()))?;
                    &self.chunk
                }
            };
            read += chunk.len() as u64;
            // The key is the name: every chunk of every version of a file lands in one partition, in order.
            let record = || {
                FutureRecord::to(self.topic)
                    .key(meta.name.as_str())
                    .payload(chunk)
                    .headers(meta.headers(index))
            };
            let (in_flight, pending, done) =
                (&mut self.in_flight, &mut self.pending, &mut self.done);
            let delivery = queue(self.producer, record, in_flight, |answer| {
                answer_to(pending, done, answer);
                Ok(())
            })
            .await?;
            self.in_flight.push(Tagged { file, delivery });
            if let Some(pending) = self.pending.get_mut(&file) {
                pending.unanswered += 1;
            }
            self.bar.inc(chunk.len() as u64);
            while self.in_flight.len() >= CHUNKS_IN_FLIGHT {
                if let Some(answer) = self.in_flight.next().await {
                    self.answered(answer);
                }
            }
        }
        // Chunks from the bytes hashed make the file their headers describe; its hashing checked it stood still.
        if matches!(from, Chunks::Kept(_)) {
            return Ok(());
        }
        if read != meta.size || before.is_none() || stamp(path) != before {
            anyhow::bail!(t!(
                "it changed while it was sent; a copy that does not match what was hashed is never stored: collect it \
                 again once it stops changing"
            ));
        }
        Ok(())
    }

    fn answered(&mut self, answer: <Tagged as Future>::Output) {
        answer_to(&mut self.pending, &mut self.done, answer);
    }

    fn fail(&mut self, file: usize, why: String) {
        if let Some(pending) = self.pending.get_mut(&file) {
            pending.error.get_or_insert(why);
        }
    }
}

fn answer_to(
    pending: &mut HashMap<usize, Pending>,
    done: &mut Vec<Done>,
    (file, answer): <Tagged as Future>::Output,
) {
    if let Some(waiting) = pending.get_mut(&file) {
        waiting.unanswered = waiting.unanswered.saturating_sub(1);
        if let Err(err) = settle(Some(answer)) {
            waiting.error.get_or_insert(format!("{err:#}"));
        }
    }
    finish_if_answered(pending, done, file);
}

fn finish_if_answered(pending: &mut HashMap<usize, Pending>, done: &mut Vec<Done>, file: usize) {
    if !pending.get(&file).is_some_and(|p| p.all_queued && p.unanswered == 0) {
        return;
    }
    if let Some(p) = pending.remove(&file) {
        let result = p.error.map_or(Ok(()), Err);
        done.push(Done { order: file, name: p.name, size: p.size, before: p.before, result });
    }
}
