//! Lesson 7, the capstone: collect files of any type and size, and a stream of JSON events, through
//! Kafka into storage, with nothing lost and nothing stored twice, even when a process is killed.

pub mod assembly;
pub mod chunk;
pub mod dead_letter;
pub mod events;
pub mod ingest;
pub mod l07_collect;
pub mod origin;
pub mod sample;
pub mod sink;
pub mod source;
pub mod storage;
pub mod verify;
pub mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Result};

use crate::lesson::Context;
use storage::StorageUrl;

/// Half of Kafka's default 1 MB message limit, leaving room for headers.
pub const CHUNK_SIZE: usize = 512 * 1024;

/// The capstone's topics and the sink's group. They carry a short hash of the learner's directory, and of
/// the storage when it is not the lesson's own: two directories against one broker (even two folders of the
/// same name, which compose gives one project) never read each other's files, and a sink of one storage
/// never takes what was sent for another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    pub files: String,
    pub events: String,
    /// Where the sink sets aside a message it cannot store, with the reason in its headers.
    pub dead_letters: String,
    pub group: String,
}

impl Names {
    /// The names of the lesson's own storage, `collect/storage`.
    pub fn for_dir(dir: &Path) -> Names {
        Names::hashed(dir, None)
    }

    /// The names for `storage`: the lesson's own keeps the directory's names, any other has its own.
    pub fn for_storage(dir: &Path, storage: &StorageUrl) -> Names {
        let own = StorageUrl::Local(Paths::in_dir(dir).storage);
        let key = origin::key(storage);
        Names::hashed(dir, (key != origin::key(&own)).then_some(key.as_str()))
    }

    fn hashed(dir: &Path, storage: Option<&str>) -> Names {
        use sha2::Digest;
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let mut hasher = sha2::Sha256::new();
        hasher.update(dir.as_os_str().as_encoded_bytes());
        if let Some(storage) = storage {
            hasher.update([0]);
            hasher.update(storage.as_bytes());
        }
        let hash = chunk::hex(&hasher.finalize());
        let base = format!("collect-{}", &hash[..8]);
        Names {
            files: format!("{base}-files"),
            events: format!("{base}-events"),
            dead_letters: format!("{base}-dead-letters"),
            group: format!("{base}-sink"),
        }
    }

    pub fn topics(&self) -> [&str; 3] {
        [&self.files, &self.events, &self.dead_letters]
    }
}

/// Where lesson 7 works inside the learner's directory. `scratch` is the sink's own: files being
/// rebuilt wait there, outside storage, so storage only ever shows complete files.
#[derive(Clone, Debug)]
pub struct Paths {
    pub source: PathBuf,
    pub events: PathBuf,
    pub storage: PathBuf,
    pub scratch: PathBuf,
    /// Which source each storage holds the copies of (origin.rs).
    pub origins: PathBuf,
}

impl Paths {
    pub fn in_dir(dir: &Path) -> Paths {
        let base = dir.join("collect");
        Paths {
            source: base.join("source"),
            events: base.join("events.jsonl"),
            storage: base.join("storage"),
            scratch: base.join(".sink"),
            origins: base.join("origins.json"),
        }
    }

    /// The lesson's folders for the storage `names` were made for: a storage other than the lesson's own
    /// has a scratch folder of its own (`collect/.sink-<hash>`), so what one sink half-rebuilt or stored
    /// never misleads another's.
    pub fn for_names(dir: &Path, names: &Names) -> Paths {
        let mut paths = Paths::in_dir(dir);
        if *names != Names::for_dir(dir) {
            let tag = names.group.trim_start_matches("collect-").trim_end_matches("-sink");
            paths.scratch = paths.scratch.with_file_name(format!(".sink-{tag}"));
        }
        paths
    }
}

/// `path` as the file system finds it: links followed, `..` resolved; for a path that does not exist yet,
/// its nearest existing parent resolved and the rest added.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut rest = Vec::new();
    let mut existing = absolute.as_path();
    loop {
        if let Ok(found) = existing.canonicalize() {
            return rest.iter().rev().fold(found, |out, part| out.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// Whether one of `a` and `b` is, or lies inside, the other.
fn overlap(a: &Path, b: &Path) -> bool {
    let (a, b) = (resolved(a), resolved(b));
    a.starts_with(&b) || b.starts_with(&a)
}

/// Lesson 7 for one learner: its topics and group, its folders, where the sink stores (`--storage`), and
/// the options every command it suggests repeats.
#[derive(Clone)]
pub struct Capstone {
    pub names: Names,
    pub paths: Paths,
    pub storage: StorageUrl,
    /// `--events -`: the events come from standard input, as they arrive (`lesson collect ingest` only).
    pub events_from_stdin: bool,
    options: crate::lesson::Options,
}

impl Capstone {
    pub fn of(ctx: &Context) -> Result<Capstone> {
        Capstone::open(ctx, false)
    }

    /// Lesson 7 for the collector, which alone can read events from standard input (`--events -`).
    pub fn for_ingest(ctx: &Context) -> Result<Capstone> {
        Capstone::open(ctx, true)
    }

    fn open(ctx: &Context, stdin: bool) -> Result<Capstone> {
        let own = Paths::in_dir(&ctx.config.dir);
        let storage = match &ctx.options.storage {
            Some(text) => StorageUrl::parse(text, &ctx.config.dir)?,
            None => StorageUrl::Local(own.storage.clone()),
        };
        let names = Names::for_storage(&ctx.config.dir, &storage);
        let mut paths = Paths::for_names(&ctx.config.dir, &names);
        let mut events_from_stdin = false;
        if let Some(source) = &ctx.options.source {
            if !source.is_dir() {
                bail!(t!(
                    "--source {source} is not a folder: name the folder whose files lesson 7 collects \
                     (it must exist).",
                    source = source.display()
                ));
            }
            paths.source = source.clone();
        }
        if let Some(events) = &ctx.options.events {
            if events.file_name().is_some_and(|name| name == "-") {
                if !stdin {
                    bail!(t!(
                        "--events - (standard input) is for lesson collect ingest alone, which sends each line as it \
                         arrives: this command would have to read the events again. Run it without --events (check 7 \
                         then checks that every stored event is stored once), or save them to a file: --events FILE."
                    ));
                }
                events_from_stdin = true;
            } else if !events.is_file() {
                bail!(t!(
                    "--events {events} is not a file: name a JSON Lines file, one JSON object with an \"id\" \
                     per line (it must exist).",
                    events = events.display()
                ));
            }
            if !events_from_stdin {
                paths.events = events.clone();
            }
        }
        let mut written = vec![paths.scratch.clone()];
        if let StorageUrl::Local(folder) = &storage {
            written.push(folder.clone());
        }
        for (flag, read) in [("--source", &paths.source), ("--events", &paths.events)] {
            if let Some(folder) = written.iter().find(|folder| overlap(folder, read)) {
                bail!(t!(
                    "{flag} {read} and {folder}, where lesson 7 writes, overlap: the collector would collect \
                     what the sink stores, and lesson reset 7 would delete your files. Keep what you collect \
                     apart from {folder} (or store elsewhere: --storage).",
                    flag,
                    read = read.display(),
                    folder = folder.display()
                ));
            }
        }
        Ok(Capstone { names, paths, storage, events_from_stdin, options: ctx.options.clone() })
    }

    /// `lesson ARGS` with the learner's folders, storage and directory: it collects the same things.
    pub fn command(&self, args: &str) -> String {
        self.options.command(args, crate::lesson::Needs::COLLECT)
    }

    /// Did the learner name the folder or the events to collect (then no sample is ever made for them)?
    pub fn named_source(&self) -> bool {
        self.options.source.is_some() || self.options.events.is_some()
    }

    /// The storage holds this source's copies, and no other's.
    fn claim(&self, storage: &dyn storage::Storage) -> Result<()> {
        // lesson reset 7 empties the lesson's own storage only: for another, the way out is another storage.
        let own = origin::key(&self.storage)
            == origin::key(&StorageUrl::Local(self.paths.storage.clone()));
        let reset = own.then(|| self.command("reset 7"));
        let holds_files = || Ok(!tokio::task::block_in_place(|| storage.files())?.is_empty());
        origin::claim(
            &self.paths.origins,
            &self.storage,
            &self.paths.source,
            reset.as_deref(),
            holds_files,
        )
    }

    /// What to do when there is nothing to collect.
    pub fn when_empty(&self) -> String {
        if self.named_source() {
            t!("Put the files to collect in {folder}.", folder = self.paths.source.display())
        } else {
            t!(
                "Put files there, or make a sample set and collect it: {command}",
                command = self.command("7 --run")
            )
        }
    }

    /// The stack, once Kafka answers (a broker just restarted may still be loading, or restarting again),
    /// with the capstone's topics there.
    pub async fn ready(&self, ctx: &Context) -> Result<String> {
        let bootstrap = match ctx.profile() {
            Some(profile) => profile.connection.bootstrap.clone(),
            None => {
                let stack = ctx.stack().await?;
                stack.service("kafka").await?;
                stack.wait_ready(crate::stack::ready_timeout()).await?;
                stack.bootstrap()
            }
        };
        ensure_topics(&bootstrap, &self.names).await?;
        Ok(bootstrap)
    }

    /// The storage, reached off the async runtime: a cloud store answers over the network, and meanwhile the
    /// status line and Ctrl-C keep working.
    async fn open_storage(&self, write: bool) -> Result<Arc<dyn storage::Storage>> {
        let url = self.storage.clone();
        tokio::task::spawn_blocking(move || storage::open(&url, write)).await?
    }

    /// Sends what storage lacks of the source folder and the events file.
    pub async fn ingest(&self, bootstrap: &str) -> Result<ingest::IngestReport> {
        let scan = tokio::task::block_in_place(|| source::scan(&self.paths.source));
        let events = self.events();
        let nothing = [scan.files.len(), scan.refused.len(), scan.ignored.len()];
        if nothing == [0; 3]
            && events.events.is_empty()
            && events.refused.is_empty()
            && !self.events_from_stdin
        {
            bail!(t!(
                "There is nothing to collect in {folder}: no files, no events. {fix}",
                folder = self.paths.source.display(),
                fix = self.when_empty()
            ));
        }
        let producer = ingest::producer(bootstrap).await?;
        self.ingest_unseen(&producer, &mut ingest::Seen::default()).await
    }

    /// Sends what storage lacks and `seen` does not hold yet (a collector that keeps running: `--watch`).
    pub async fn ingest_unseen(
        &self,
        producer: &rdkafka::producer::FutureProducer,
        seen: &mut ingest::Seen,
    ) -> Result<ingest::IngestReport> {
        let storage = self.open_storage(false).await?;
        self.claim(storage.as_ref())?;
        let source = ingest::Source { folder: &self.paths.source, events: self.events() };
        let sending = t!("the collector to send what storage lacks");
        let mut report = crate::ui::progress::while_running(
            sending,
            ingest::ingest_unseen(producer, &self.names, source, storage.as_ref(), seen),
        )
        .await?;
        if self.events_from_stdin {
            ingest::ingest_stdin(producer, &self.names, storage.as_ref(), &mut report).await?;
        }
        Ok(report)
    }

    /// The events file's events; none when they come from standard input (sent as they arrive).
    fn events(&self) -> events::Events {
        if self.events_from_stdin {
            return events::Events::default();
        }
        events::read(&self.paths.events)
    }

    /// Stores what arrives, until stopped or, with `until_caught_up`, until every partition is read.
    pub async fn sink(&self, bootstrap: &str, until_caught_up: bool) -> Result<sink::SinkReport> {
        let storage = self.open_storage(true).await?;
        let sink = sink::run(bootstrap, &self.names, &self.paths.scratch, storage, until_caught_up);
        let storing =
            t!("the sink to store every message sent (it stops when it has read them all)");
        let mut report = if until_caught_up {
            crate::ui::progress::while_running(storing, sink).await?
        } else {
            sink.await?
        };
        report.forget_orphans(&self.paths.scratch, &self.paths.source)?;
        Ok(report)
    }
}

/// The capstone's topics: files and events with three partitions each, dead letters with one. A topic
/// the broker lists is kept as it is; one it does not list yet is created, which a broker still loading
/// answers with "already exists" when it has it: creating is the one question that cannot mislead.
pub async fn ensure_topics(bootstrap: &str, names: &Names) -> anyhow::Result<()> {
    let asked =
        [(names.files.clone(), 3), (names.events.clone(), 3), (names.dead_letters.clone(), 1)];
    let missing = crate::kafka::inspect::inspect(bootstrap, move |k| {
        let mut missing = Vec::new();
        for (topic, partitions) in asked {
            if k.topic(&topic)?.is_none() {
                missing.push((topic, partitions));
            }
        }
        Ok(missing)
    })
    .await?;
    // Through a connection profile the Kafka's own default (-1): Confluent Cloud accepts only three replicas.
    let replicas = if crate::kafka::profile::current().is_some() { -1 } else { 1 };
    for (topic, partitions) in missing {
        crate::kafka::admin::create_topic(bootstrap, &topic, partitions, replicas).await?;
    }
    Ok(())
}

pub fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// How `count` says files, events and messages: `[one, many]`, each with `{n}`.
pub const FILES: [&str; 2] = [n!("{n} file"), n!("{n} files")];
pub const EVENTS: [&str; 2] = [n!("{n} event"), n!("{n} events")];
pub const MESSAGES: [&str; 2] = [n!("{n} message"), n!("{n} messages")];

/// "1 file", "3 files": `one` or `many`, translated, with `{n}` filled.
pub fn count(n: u64, [one, many]: [&str; 2]) -> String {
    crate::ui::text::fill(if n == 1 { one } else { many }, &[("n", &n)])
}

#[cfg(test)]
mod tests {
    use super::overlap;

    #[test]
    fn folders_overlap_through_links_and_in_either_direction() -> std::io::Result<()> {
        let root = std::env::temp_dir().join(format!("capstone-overlap-{}", std::process::id()));
        let work = root.join("work");
        std::fs::create_dir_all(work.join("collect/storage/mine"))?;
        std::fs::create_dir_all(root.join("elsewhere"))?;
        std::os::unix::fs::symlink(&work, root.join("link"))?;
        let storage = work.join("collect/storage");
        let cases = [
            (root.join("link"), true),
            (work.join("collect/storage/mine"), true),
            (work.join("collect/storage/not-yet/events.jsonl"), true),
            (work.join("collect/../collect/storage"), true),
            (root.join("elsewhere"), false),
            (work.join("collect/source"), false),
        ];
        let seen: Vec<bool> = cases.iter().map(|(path, _)| overlap(&storage, path)).collect();
        std::fs::remove_dir_all(&root)?;
        for ((path, expected), seen) in cases.iter().zip(seen) {
            assert_eq!(seen, *expected, "{}", path.display());
        }
        Ok(())
    }
}
