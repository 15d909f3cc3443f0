//! Lesson 7, the capstone: files and events through Kafka into storage, nothing lost, nothing twice.

use anyhow::Result;

use anyhow::{bail, Context as _};

use super::storage::StorageUrl;
use super::{sample, verify, Capstone, Names, Paths};
use crate::lesson::Fact;

use crate::kafka::admin;
use crate::lesson::{Context, Info, Lesson, Needs, Undo};

/// The topics and group of the storage the learner named (`--storage`), or of the lesson's own, the
/// lesson's folders for it, and whether it is the lesson's own (`collect/storage`, named or not).
fn names_and_paths(ctx: &Context) -> Result<(Names, Paths, bool)> {
    let own = StorageUrl::Local(Paths::in_dir(&ctx.config.dir).storage);
    let storage = match ctx.options.storage.as_deref() {
        Some(text) => StorageUrl::parse(text, &ctx.config.dir)?,
        None => own.clone(),
    };
    let names = Names::for_storage(&ctx.config.dir, &storage);
    let paths = Paths::for_names(&ctx.config.dir, &names);
    let is_own = super::origin::key(&storage) == super::origin::key(&own);
    Ok((names, paths, is_own))
}

/// What `lesson N` says and the chapter includes: written once, in markdown.
pub const TEXT: &str = include_str!("l07_collect.md");

pub struct Collect;

impl Lesson for Collect {
    const INFO: Info = Info {
        id: 7,
        slug: "collect",
        title: n!("Capstone: collect files and events through Kafka into storage"),
        hint: n!("\
A file larger than Kafka's message limit (1 MB by default) travels as chunks: all with the file's name as
key, so they land in one partition, in order. The sink appends each chunk to disk before it stores its
offset, and stores a file only when its size and SHA-256 match, so a sink killed at any moment and
started again ends with every file exactly once. Start it again with: lesson collect sink --until-caught-up"),
        needs: Needs { any_kafka: true, ..Needs::COLLECT },
        requires: &[2],
    };

    fn explain(&self, _ctx: &Context) -> String {
        crate::ui::markdown::lesson(TEXT, &[])
    }

    async fn run(&self, ctx: &Context) -> Result<String> {
        let capstone = Capstone::of(ctx)?;
        let bootstrap = capstone.ready(ctx).await?;
        let paths = &capstone.paths;
        let mut out = String::new();
        // A sample is made only in the lesson's own folders, never where the learner named (--source, --events).
        if !capstone.named_source() && sample::is_empty(&paths.source) {
            let made = sample::write(paths)?;
            out += &t!(
                "Made a sample set in {folder}: {files}",
                folder = paths.source.display(),
                files = made.join(", ")
            );
            out.push('\n');
        }
        let sent = capstone.ingest(&bootstrap).await?;
        out += &t!("collector: {summary}", summary = sent.summary());
        let stored = capstone.sink(&bootstrap, true).await?;
        out += &t!("sink: {summary}", summary = stored.summary(&capstone));
        out += &t!("storage: {storage}", storage = capstone.storage);
        if !sent.refused.is_empty() || !stored.is_clean() {
            bail!(t!(
                "{out}\n\nNot everything was collected: fix what is named above, then run {command} again.",
                out,
                command = capstone.command("7 --run")
            ));
        }
        Ok(out)
    }

    fn undo_plan(&self, ctx: &Context) -> Option<Undo> {
        // A --storage that does not parse: undo says why, and nothing is removed.
        let Ok((names, paths, own)) = names_and_paths(ctx) else {
            return Some(Undo { does: String::new(), loses: None });
        };
        let (topics, scratch) = (names.topics().join(", "), paths.scratch.display());
        let source = ctx.options.source.as_ref().unwrap_or(&paths.source).display();
        let events = ctx.options.events.as_ref().unwrap_or(&paths.events).display();
        let storage = ctx.options.storage.as_ref().filter(|_| !own);
        let Some(storage) = storage else {
            return Some(Undo {
                does: t!(
                    "removes {storage} and {scratch}, the capstone's topics ({topics}) and its sink group; your \
                     sources in {source} and {events} stay",
                    storage = paths.storage.display(),
                    scratch,
                    topics,
                    source,
                    events
                ),
                loses: Some(t!(
                    "the stored copies in {storage} and the capstone's topics",
                    storage = paths.storage.display()
                )),
            });
        };
        // A storage the learner named may hold anything of theirs: it is never removed.
        Some(Undo {
            does: t!(
                "removes {scratch}, the topics of {storage} ({topics}) and its sink group; {storage}, which you \
                 named, and your sources in {source} and {events} stay: empty it yourself to store anew",
                storage,
                scratch,
                topics,
                source,
                events
            ),
            loses: Some(t!("the capstone's topics for {storage}", storage)),
        })
    }

    async fn undo(&self, ctx: &Context) -> Result<String> {
        let (names, paths, own) = names_and_paths(ctx)?;
        let mut done = Vec::new();
        let own = own.then_some(&paths.storage);
        for dir in own.into_iter().chain([&paths.scratch]) {
            if dir.exists() {
                std::fs::remove_dir_all(dir)
                    .with_context(|| t!("Failed to remove {path}", path = dir.display()))?;
                done.push(t!("removed {path}", path = dir.display()));
            }
        }
        if let Some(storage) = own {
            super::origin::forget(&paths.origins, &StorageUrl::Local(storage.clone()))?;
        }
        if let Ok(bootstrap) = crate::basics::common::kafka_up(ctx).await? {
            for topic in names.topics() {
                if admin::delete_topic(&bootstrap, topic).await? {
                    done.push(t!("deleted topic {topic}", topic));
                }
            }
            admin::delete_groups(&bootstrap, &[&names.group]).await?;
        } else {
            done.push(t!(
                "the stack is not running: topics {topics} are left in its volumes",
                topics = names.topics().join(", ")
            ));
        }
        Ok(done.join("; "))
    }

    async fn check(&self, ctx: &Context) -> Result<Vec<Fact>> {
        verify::facts(ctx, &Capstone::of(ctx)?).await
    }
}

#[cfg(test)]
mod tests {
    use super::TEXT;
    use crate::stack::reference::REFERENCE;

    /// Every `lesson` command of the text is one the program takes.
    #[test]
    fn the_commands_parse() {
        use clap::Parser;
        for command in crate::ui::markdown::commands(TEXT) {
            let Some(at) = command.find("lesson ") else { continue };
            let words = command[at..].split_whitespace();
            if let Err(err) = crate::runner::cli::Cli::try_parse_from(words) {
                panic!("`{command}` does not parse: {err}");
            }
        }
    }

    /// The text's local S3 settings are those the reference compose file gives the S3 server.
    #[test]
    fn the_cloud_commands_match_the_reference_file() {
        let commands = crate::ui::markdown::commands(TEXT);
        let has = |part: &str| commands.iter().any(|c| c.contains(part));
        for (text, file) in [
            ("AWS_ACCESS_KEY_ID=workshop ", "S3PROXY_IDENTITY: workshop\n"),
            ("AWS_SECRET_ACCESS_KEY=workshop-secret", "S3PROXY_CREDENTIAL: workshop-secret\n"),
            ("AWS_ENDPOINT_URL=http://127.0.0.1:9000 ", "\"127.0.0.1:${S3_PORT:-9000}:80\""),
            ("docker compose --profile cloud up -d", "profiles: [\"cloud\"]"),
        ] {
            assert!(has(text), "the text has no command with {text}");
            assert!(REFERENCE.contains(file), "the reference file has no {file}");
        }
    }
}
