//! Lesson 7, the capstone: files and events through Kafka into storage, nothing lost, nothing twice.

use std::sync::Arc;

use anyhow::Result;

use super::storage::LocalDir;
use super::{ensure_topics, ingest, sample, sink, verify, Paths};
use crate::lesson::Fact;
use crate::lesson::{Context, Info, Lesson, Needs};

pub const EXPLAIN: &str = "\
GOAL
  Collect a real data source through Kafka into storage, with nothing lost: a stream of JSON events, and
  every file under a directory, of any type and size: PDF, images, video, Office documents.

HOW IT WORKS
  collector  reads each file, detects its type from its bytes, and sends it in chunks of 512 KiB: Kafka
             refuses messages above 1 MB by default, and a video is far above that. Every chunk has the
             file's id as key (so all of them land in one partition, in order) and headers: file id, name,
             content type, size, SHA-256, chunk index and count. Idempotent producer, acks=all.
  sink       a consumer group that writes each chunk to disk before it commits the chunk's offset, and
             stores a file only when its size and SHA-256 match the producer's, by writing a temporary
             file and renaming it. Events are appended to events.jsonl, each id once.

TYPE (with the stack running: lesson 2 --run starts it again after lesson 6)
  lesson 7 --run
    makes a sample set in collect/source (a PDF, a PNG, a 24 MB video, a docx, an xlsx) and
    collect/events.jsonl, unless you put your own there, then runs the collector and the sink.

  Or run the two halves yourself, in two terminals, and stop the sink whenever you like (even kill -9):
  lesson collect sink
  lesson collect ingest

YOU SHOULD SEE
  How many files and MB were sent, at how many files/s and MB/s, and what the sink stored. Then
  collect/storage/files holds every file, byte for byte: `lesson check 7` compares their SHA-256.

WHY IT MATTERS
  This is what Kafka is for: a source that produces faster or slower than its consumer, a consumer that
  may crash, and a guarantee, built from offsets, keys and checksums, that every byte arrives exactly once.";

pub struct Collect;

impl Lesson for Collect {
    const INFO: Info = Info {
        id: 7,
        slug: "collect",
        title: "Capstone: collect files and events through Kafka into storage",
        hint: "\
A file larger than Kafka's message limit (1 MB by default) travels as chunks: all with the file's id as
key, so they land in one partition, in order. The sink spools each chunk to disk before committing its
offset, and stores a file only when its size and SHA-256 match, so a sink killed at any moment and
started again ends with every file exactly once. Start it again with: lesson collect sink --until-caught-up",
        needs: Needs::NOTHING,
    };

    fn explain(&self, _ctx: &Context) -> String {
        EXPLAIN.to_string()
    }

    async fn run(&self, ctx: &Context) -> Result<String> {
        let stack = ctx.stack().await?;
        stack.service("kafka").await?;
        let paths = Paths::in_dir(&ctx.config.dir);
        let mut out = String::new();
        if sample::is_empty(&paths.source) {
            let names = sample::write(&paths)?;
            out += &format!("Made a sample set in {}: {}\n", paths.source.display(), names.join(", "));
        }
        let bootstrap = stack.bootstrap();
        ensure_topics(&bootstrap).await?;
        let sent = ingest::ingest(&bootstrap, &paths.source, Some(&paths.events)).await?;
        out += &format!("collector: {}", sent.summary());
        let storage = Arc::new(LocalDir::open(&paths.storage)?);
        let stored = sink::run(&bootstrap, storage, true).await?;
        out += &format!("sink: {}", stored.summary());
        out += &format!("storage: {}", paths.storage.display());
        Ok(out)
    }

    async fn check(&self, ctx: &Context) -> Result<Vec<Fact>> {
        let paths = Paths::in_dir(&ctx.config.dir);
        // Hashing every source and stored file is blocking work: off the async runtime.
        tokio::task::spawn_blocking(move || verify::facts(&paths)).await?
    }
}
