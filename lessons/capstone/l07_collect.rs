//! Lesson 7, the capstone: files and events through Kafka into storage, nothing lost, nothing twice.

use anyhow::Result;

use anyhow::{bail, Context as _};

use super::{sample, verify, Capstone, Names, Paths};
use crate::lesson::Fact;

use crate::kafka::admin;
use crate::lesson::{Context, Info, Lesson, Needs, Undo};

pub const EXPLAIN: &str = "\
GOAL
  Collect a real data source through Kafka into storage, with nothing lost: a stream of JSON events, and
  every file under a folder, of any type and size: PDF, images, video, Office documents.

HOW IT WORKS
  collector  reads each file, detects its type from its bytes, and sends it in chunks of 512 KiB: Kafka
             refuses messages above 1 MB by default, and a video is far above that. Every chunk has the
             file's name as key (so all of them land in one partition, in order) and headers: file id,
             name, content type, size, SHA-256, chunk index and count. Idempotent producer, acks=all.
             It sends only what storage lacks: run it again and it sends nothing twice.
  sink       a consumer group that appends each chunk to the file it rebuilds in collect/.sink before it
             stores the chunk's offset, and moves the file into storage only when its size and SHA-256
             match the collector's. Events are appended to storage/events.jsonl, each id once. A message it
             cannot store is set aside in a dead-letter topic, with why, and the sink goes on.
  Topics and group are named after your folder (collect-<hash>-files, -events, -dead-letters, -sink):
  two folders on one broker never mix their files.

TYPE (with the stack running: lesson 2 --run starts it again after lesson 6)
  lesson 7 --run
    makes a sample set in collect/source (a PDF, a PNG, a 24 MB video, a docx, an xlsx) and
    collect/events.jsonl, unless you put your own there, then runs the collector and the sink.
    Your own files: any regular file under collect/source with a UTF-8 name; links are not followed.
    Your own events: one JSON object per line, each with an `id` (a string or a number) that names it;
    the whole line is kept, once per id. A line that breaks the rule is not sent, with its number and why.

  Or run the two halves yourself, in two terminals, and stop the sink whenever you like (even kill -9):
  lesson collect sink
  lesson collect ingest

  Into the cloud instead of collect/storage: add --storage s3://BUCKET/PREFIX (AWS S3, or any S3 server:
  credentials and address from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL).
  An S3 server on your laptop: docker compose --profile cloud up -d, then
    export AWS_ACCESS_KEY_ID=workshop AWS_SECRET_ACCESS_KEY=workshop-secret
    export AWS_ENDPOINT_URL=http://127.0.0.1:9000 AWS_REGION=us-east-1
    lesson 7 --run --storage s3://collect/my-first-run
  Azure Blob Storage: --storage az://CONTAINER/PREFIX, with AZURE_STORAGE_CONNECTION_STRING (or
  AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY). Azurite, Microsoft's emulator, is in the same
  profile: export AZURE_STORAGE_USE_EMULATOR=true, then lesson 7 --run --storage az://collect/my-first-run

YOU SHOULD SEE
  How many files, MB and events were sent, and what the sink stored. Then collect/storage/files holds
  every file, byte for byte: `lesson check 7` compares their SHA-256 and asks Kafka whether the sink has
  read everything, and what it set aside.

WHY IT MATTERS
  This is what Kafka is for: a source that produces faster or slower than its consumer, a consumer that
  may crash, and a guarantee built from offsets, keys and checksums: Kafka delivers each message at least
  once (a restarted sink may read some again), and the sink stores each file and event exactly once.";

pub struct Collect;

impl Lesson for Collect {
    const INFO: Info = Info {
        id: 7,
        slug: "collect",
        title: "Capstone: collect files and events through Kafka into storage",
        hint: "\
A file larger than Kafka's message limit (1 MB by default) travels as chunks: all with the file's name as
key, so they land in one partition, in order. The sink appends each chunk to disk before it stores its
offset, and stores a file only when its size and SHA-256 match, so a sink killed at any moment and
started again ends with every file exactly once. Start it again with: lesson collect sink --until-caught-up",
        needs: Needs::NOTHING,
        requires: &[2],
    };

    fn explain(&self, _ctx: &Context) -> String {
        EXPLAIN.to_string()
    }

    async fn run(&self, ctx: &Context) -> Result<String> {
        let capstone = Capstone::of(ctx)?;
        let stack = capstone.ready(ctx).await?;
        let paths = &capstone.paths;
        let mut out = String::new();
        if sample::is_empty(&paths.source) {
            let made = sample::write(paths)?;
            out += &format!("Made a sample set in {}: {}\n", paths.source.display(), made.join(", "));
        }
        let bootstrap = stack.bootstrap();
        let sent = capstone.ingest(&bootstrap).await?;
        out += &format!("collector: {}", sent.summary());
        let stored = capstone.sink(&bootstrap, true).await?;
        out += &format!("sink: {}", stored.summary(&capstone.names));
        out += &format!("storage: {}", capstone.storage);
        if !sent.refused.is_empty() || !stored.is_clean() {
            bail!("{out}\n\nNot everything was collected: fix what is named above, then run lesson 7 --run again.");
        }
        Ok(out)
    }

    fn undo_plan(&self, ctx: &Context) -> Option<Undo> {
        let paths = Paths::in_dir(&ctx.config.dir);
        let names = Names::for_dir(&ctx.config.dir);
        Some(Undo {
            does: format!(
                "removes {} and {}, the capstone's topics ({}) and its sink group; your sources in {} and {} stay",
                paths.storage.display(),
                paths.scratch.display(),
                names.topics().join(", "),
                paths.source.display(),
                paths.events.display()
            ),
            loses: Some(format!("the stored copies in {} and the capstone's topics", paths.storage.display())),
        })
    }

    async fn undo(&self, ctx: &Context) -> Result<String> {
        let paths = Paths::in_dir(&ctx.config.dir);
        let names = Names::for_dir(&ctx.config.dir);
        let mut done = Vec::new();
        for dir in [&paths.storage, &paths.scratch] {
            if dir.exists() {
                std::fs::remove_dir_all(dir).with_context(|| format!("Failed to remove {}", dir.display()))?;
                done.push(format!("removed {}", dir.display()));
            }
        }
        let stack = ctx.stack().await?;
        if stack.service("kafka").await.is_ok() {
            for topic in names.topics() {
                if admin::delete_topic(&stack.bootstrap(), topic).await? {
                    done.push(format!("deleted topic {topic}"));
                }
            }
            admin::delete_groups(&stack.bootstrap(), &[&names.group]).await?;
        } else {
            done.push(format!(
                "the stack is not running: topics {} are left in its volumes",
                names.topics().join(", ")
            ));
        }
        Ok(done.join("; "))
    }

    async fn check(&self, ctx: &Context) -> Result<Vec<Fact>> {
        verify::facts(ctx, &Capstone::of(ctx)?).await
    }
}
