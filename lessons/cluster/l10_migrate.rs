//! Lesson 10: lesson 8's cluster moved from ZooKeeper to KRaft while it runs, in the five steps Kafka 3.9
//! documents; the phase read from live facts after each, and at the end the cluster held against what it held
//! before.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};

use super::migration::{self, baseline, steps, Phase};
use super::stack::{self, Cluster};
use crate::lesson::{Context, Fact, Info, Lesson, Needs, Undo};
use crate::stack::compose::Compose;
use crate::stack::engine::Health;
use crate::stack::track::Track;

pub const TEXT: &str = include_str!("l10_migrate.md");

pub struct Migrate;

impl Lesson for Migrate {
    const INFO: Info = Info {
        id: 10,
        slug: "migrate",
        title: n!("Migrate the cluster from ZooKeeper to KRaft"),
        hint: n!("\
Lesson 10 runs on lesson 8's cluster, all three brokers running. In the cluster/ folder, run `lesson cluster
prepare` once, then the chapter's five steps one command at a time; after each, `lesson check 10` names the
phase the cluster is in and the next command. `lesson 10 --run` does it all, from whatever phase the cluster
is in."),
        needs: Needs { cluster: true, ..Needs::NOTHING },
        requires: &[8],
    };

    fn kraft_hint(&self) -> Option<&'static str> {
        Some(KRAFT_TRACK)
    }

    fn on_track(&self, track: Track) -> bool {
        track == Track::ZooKeeper
    }

    fn explain(&self, ctx: &Context) -> String {
        crate::ui::markdown::lesson(
            TEXT,
            &ctx.config.track.exec_values("kafka-1", &["kafka-topics"]),
        )
    }

    async fn run(&self, ctx: &Context) -> Result<String> {
        let cluster = zookeeper_cluster(ctx).await?;
        let step = |line: String| crate::ui::progress::print(&line);
        // Lesson 8's cluster, started when there is none: any container there may be mid-migration.
        if cluster.containers().await?.is_empty() {
            cluster.start_and_say(&step).await?;
        }
        loop {
            let facts = migration::facts(&cluster.engine, cluster.project()).await?;
            let phase = migration::phase(&facts).map_err(|m| {
                anyhow!(steps::way_back(&m, &facts, cluster.project(), &cluster.dir))
            })?;
            step(t!("Now: {phase}", phase = steps::describe(phase)));
            if phase == Phase::Before {
                prepare_cluster(&cluster).await?.into_iter().for_each(step);
            } else {
                steps::write_files(&cluster.dir)?.into_iter().for_each(step);
            }
            match steps::next(phase, &facts) {
                Some(next) => {
                    step(format!("{}\n$ cd {} && {}", next.says(), stack::FOLDER, next.command()));
                    let args: Vec<&str> = next.args.iter().map(String::as_str).collect();
                    compose(&cluster, next.file).up_with(&args).await?;
                    settle(&cluster).await?;
                }
                None if phase == Phase::Copying => copied(&cluster).await?,
                None => break,
            }
        }
        set_env(&cluster.dir, "COMPOSE_FILE", Some(steps::MIGRATED))?;
        step(t!(
            "{file} is the cluster's file now: cluster/.env names it (COMPOSE_FILE), so docker compose typed there \
             means the migrated cluster.",
            file = steps::MIGRATED
        ));
        let compared = compare(&cluster).await?;
        let failed: Vec<String> = compared
            .iter()
            .filter_map(|f| f.fix.as_ref().map(|fix| format!("✗ {}\n  {fix}", f.what)))
            .collect();
        if !failed.is_empty() {
            bail!(failed.join("\n"));
        }
        compared.iter().for_each(|f| step(format!("✓ {}", f.what)));
        Ok(t!("The cluster runs on KRaft, without ZooKeeper, and holds all it held before.")
            .to_string())
    }

    fn undo_plan(&self, ctx: &Context) -> Option<Undo> {
        let dir = stack::folder(&ctx.config);
        let prepared = steps::FILES.iter().any(|(name, _)| dir.join(name).exists())
            || baseline::path(&dir).exists()
            || env_value(&dir, "CLUSTER_ID").is_some();
        (ctx.config.track == Track::ZooKeeper && prepared).then(|| Undo {
            does: t!(
                "removes lesson 10's step files, its record of before and its lines in cluster/.env; if the \
                 migration has begun, the whole cluster of project `{project}` too, with every volume (compose \
                 down -v --remove-orphans): there is no way back to ZooKeeper that keeps it",
                project = stack::project(&ctx.config)
            ),
            loses: Some(t!("if the migration has begun: every topic and message of the cluster").into()),
        })
    }

    async fn undo(&self, ctx: &Context) -> Result<String> {
        let cluster = Cluster::connect(&ctx.config).await?;
        let begun = migration::begun(&cluster.containers().await?);
        if begun {
            // The step file that declares every service and volume of the migration.
            let (finalized, text) = steps::FILES[3];
            std::fs::write(cluster.dir.join(finalized), text)?;
            let mut down = compose(&cluster, finalized);
            if env_value(&cluster.dir, "CLUSTER_ID").is_none() {
                // Compose refuses the file without one, even to take it down.
                down.env.push(("CLUSTER_ID".into(), "removed".into()));
            }
            down.down_everything().await?;
        }
        for name in steps::FILES.map(|(name, _)| name).iter().chain(&[baseline::FILE]) {
            match std::fs::remove_file(cluster.dir.join(name)) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err.into()),
                _ => {}
            }
        }
        set_env(&cluster.dir, "CLUSTER_ID", None)?;
        set_env(&cluster.dir, "COMPOSE_FILE", None)?;
        if !begun {
            return Ok(t!(
                "removed the step files and the record of before; the cluster was not touched"
            )
            .into());
        }
        Ok(t!(
            "removed the cluster of project `{project}` with every volume, the step files and the record of before",
            project = cluster.project()
        ))
    }

    async fn check(&self, ctx: &Context) -> Result<Vec<Fact>> {
        if ctx.config.track == Track::KRaft {
            return Ok(vec![Fact::fail(
                t!("this folder is on the zookeeper track"),
                crate::ui::lang::tr(KRAFT_TRACK),
            )]);
        }
        let cluster = Cluster::connect(&ctx.config).await?;
        if let Some(other) = cluster.other_track() {
            let what = t!("the cluster is the {track} track's", track = cluster.track.name());
            return Ok(vec![Fact::fail(what, cluster.move_over(other))]);
        }
        if cluster.containers().await?.is_empty() {
            let start = ctx.options.command("8 --run", Needs::NOTHING);
            return Ok(vec![Fact::fail(
                t!("the cluster of project `{project}` runs", project = cluster.project()),
                t!("Lesson 10 migrates lesson 8's cluster: start it first with {start}", start),
            )]);
        }
        let facts = migration::facts(&cluster.engine, cluster.project()).await?;
        let phase = match migration::phase(&facts) {
            Ok(phase) => phase,
            Err(mistake) => {
                let what = t!("the cluster is in one of the migration's phases");
                return Ok(vec![Fact::fail(
                    what,
                    steps::way_back(&mistake, &facts, cluster.project(), &cluster.dir),
                )]);
            }
        };
        let mut found = vec![Fact::info(t!("phase: {phase}", phase = steps::describe(phase)))];
        if phase == Phase::Done {
            found.push(Fact::check(
                env_value(&cluster.dir, "COMPOSE_FILE").as_deref() == Some(steps::MIGRATED),
                t!(
                    "docker compose in {folder}/ means the migrated cluster (COMPOSE_FILE={file} in .env)",
                    folder = stack::FOLDER,
                    file = steps::MIGRATED
                ),
                t!(
                    "Without it, docker compose up -d there would start lesson 8's brokers on ZooKeeper again, \
                     from ZooKeeper's stale metadata. In {dir}:\n  echo COMPOSE_FILE={file} >> .env",
                    dir = cluster.dir.display(),
                    file = steps::MIGRATED
                ),
            ));
            found.extend(compare(&cluster).await?);
            return Ok(found);
        }
        let prepared = baseline::path(&cluster.dir).exists()
            && steps::FILES.iter().all(|(name, _)| cluster.dir.join(name).exists());
        if phase == Phase::Before && !prepared {
            found.push(Fact::fail(
                t!("what the cluster holds before the migration is saved, and the step files written"),
                t!("In {dir}: lesson cluster prepare", dir = cluster.dir.display()),
            ));
            return Ok(found);
        }
        if phase == Phase::Before {
            let id = migration::cluster_id(&cluster.engine, cluster.project()).await?;
            if env_value(&cluster.dir, "CLUSTER_ID").as_deref() != Some(id.as_str()) {
                found.push(Fact::fail(
                    t!("cluster/.env names this cluster's id, {id}", id),
                    t!(
                        "It names another cluster's (this one was made anew since). In {dir}: lesson cluster prepare",
                        dir = cluster.dir.display()
                    ),
                ));
                return Ok(found);
            }
        }
        let containers = cluster.containers().await?;
        cluster.none_stopped(&containers).await?;
        let starting: Vec<&str> = containers
            .iter()
            .filter(|c| c.health != Health::Healthy)
            .map(|c| c.service.as_str())
            .collect();
        if !starting.is_empty() {
            found.push(Fact::fail(
                t!("every container is healthy"),
                t!(
                    "Not yet: {services}. A container started a moment ago takes a few seconds: check again before \
                     the next step.",
                    services = starting.join(", ")
                ),
            ));
            return Ok(found);
        }
        let lagging = match under_replicated(&cluster).await {
            Ok(lagging) => lagging,
            Err(err) if crate::kafka::transient(&err) => {
                vec![t!("(the brokers do not answer yet)").to_string()]
            }
            Err(err) => return Err(err),
        };
        if !lagging.is_empty() {
            found.push(Fact::fail(
                t!("every replica is in sync"),
                t!(
                    "Not yet in sync: {partitions}. A broker restarted a moment ago is catching up: check again in a \
                     few seconds, before the next step.",
                    partitions = lagging.join(", ")
                ),
            ));
        }
        found.push(Fact::fail(
            t!("the cluster runs on KRaft, without ZooKeeper"),
            steps::what_next(phase, &facts, &cluster.dir),
        ));
        Ok(found)
    }
}

const KRAFT_TRACK: &str = n!("\
Lesson 10 migrates lesson 8's cluster from ZooKeeper to KRaft, and this folder is on the kraft track, whose
cluster never had ZooKeeper. Take it on the zookeeper track: lesson --track zookeeper 8 --run, then
lesson --track zookeeper 10");

/// Lesson 8's cluster on the ZooKeeper track, or why not.
async fn zookeeper_cluster(ctx: &Context) -> Result<Cluster> {
    if ctx.config.track == Track::KRaft {
        bail!(crate::ui::lang::tr(KRAFT_TRACK));
    }
    let cluster = Cluster::connect(&ctx.config).await?;
    if let Some(other) = cluster.other_track() {
        bail!(cluster.move_over(other));
    }
    Ok(cluster)
}

/// `lesson cluster prepare`: the step files, ZooKeeper's cluster id in `.env`, and the baseline; once the
/// migration has begun, the files only.
pub async fn prepare(ctx: &Context) -> Result<String> {
    let cluster = zookeeper_cluster(ctx).await?;
    if cluster.containers().await?.is_empty() {
        let start = ctx.options.command("8 --run", Needs::NOTHING);
        bail!(t!(
            "There is no cluster yet: lesson 10 migrates lesson 8's. Start it with {start}, then prepare.",
            start
        ));
    }
    let facts = migration::facts(&cluster.engine, cluster.project()).await?;
    match migration::phase(&facts) {
        Ok(Phase::Before) => Ok(prepare_cluster(&cluster).await?.join("\n")),
        Ok(phase) => {
            let mut said = steps::write_files(&cluster.dir)?;
            said.push(t!(
                "The migration has begun ({phase}): what the cluster held before it was saved then, and is kept.",
                phase = steps::describe(phase)
            ));
            Ok(said.join("\n"))
        }
        Err(mistake) => bail!(steps::way_back(&mistake, &facts, cluster.project(), &cluster.dir)),
    }
}

/// Before step 1: the step files, `CLUSTER_ID` and the baseline. What it did, line by line.
async fn prepare_cluster(cluster: &Cluster) -> Result<Vec<String>> {
    let mut said = steps::write_files(&cluster.dir)?;
    said.push(t!(
        "Wrote the five step files into {dir}: {first} to {last}.",
        dir = cluster.dir.display(),
        first = steps::file(1),
        last = steps::file(5)
    ));
    let id = migration::cluster_id(&cluster.engine, cluster.project()).await?;
    set_env(&cluster.dir, "CLUSTER_ID", Some(&id))?;
    said.push(t!(
        "ZooKeeper's cluster id is {id}: CLUSTER_ID in {dir}/.env.",
        id,
        dir = stack::FOLDER
    ));
    let before = baseline::take_settled(&cluster.bootstrap()).await?;
    baseline::save(&cluster.dir, &before)?;
    said.push(t!(
        "Saved what the cluster holds: {topics} topics, {records} records, in {path}.",
        topics = before.topics.len(),
        records = before.records(),
        path = baseline::path(&cluster.dir).display()
    ));
    Ok(said)
}

/// The cluster now, held against the baseline; none saved is said, not failed.
async fn compare(cluster: &Cluster) -> Result<Vec<Fact>> {
    let Some(before) = baseline::load(&cluster.dir)? else {
        return Ok(vec![Fact::info(t!(
            "No record of the cluster before the migration ({file}; lesson cluster prepare saves it), so its topics \
             and records are not compared.",
            file = baseline::FILE
        ))]);
    };
    let after = baseline::take_settled(&cluster.bootstrap()).await?;
    Ok(baseline::compare(&before, &after))
}

/// The partitions with no leader, or a replica out of sync.
async fn under_replicated(cluster: &Cluster) -> Result<Vec<String>> {
    crate::kafka::inspect::inspect(&cluster.bootstrap(), |k| {
        Ok(k.topics()?
            .into_iter()
            .flat_map(|(topic, partitions)| {
                partitions
                    .into_iter()
                    .filter(|p| p.leader < 0 || p.isr.len() < p.replicas.len())
                    .map(move |p| format!("{topic}-{}", p.id))
            })
            .collect())
    })
    .await
}

/// The cluster's project with one step's file.
fn compose(cluster: &Cluster, file: &str) -> Compose {
    Compose { file: cluster.dir.join(file), ..cluster.compose.clone() }
}

/// Polls until every container runs healthy and every replica is in sync: a rolling step is over only then.
async fn settle(cluster: &Cluster) -> Result<()> {
    let what = t!("every container to be healthy and every replica in sync");
    let start = Instant::now();
    crate::ui::progress::while_running(what, async {
        loop {
            let containers = cluster.containers().await?;
            cluster.none_stopped(&containers).await?;
            let healthy = containers.iter().all(|c| c.health == Health::Healthy);
            // A broker restarting answers nothing for a moment: that is waited out, as the health checks are.
            if healthy && under_replicated(cluster).await.is_ok_and(|l| l.is_empty()) {
                return Ok(());
            }
            if start.elapsed() > crate::stack::ready_timeout() {
                let states: Vec<String> =
                    containers.iter().map(|c| format!("{} {}", c.service, c.health)).collect();
                bail!(t!(
                    "Gave up waiting for {what} after {seconds} s. Last seen: {last}",
                    what,
                    seconds = start.elapsed().as_secs(),
                    last = states.join(", ")
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await
}

/// Polls until the controller has copied ZooKeeper's metadata (ZooKeeper's `/migration` says so).
async fn copied(cluster: &Cluster) -> Result<()> {
    let what = t!("the controller to copy ZooKeeper's metadata");
    let start = Instant::now();
    crate::ui::progress::while_running(what, async {
        loop {
            let facts = migration::facts(&cluster.engine, cluster.project()).await?;
            if migration::phase(&facts) != Ok(Phase::Copying) {
                return Ok(());
            }
            if start.elapsed() > crate::stack::ready_timeout() {
                bail!(t!(
                    "The controller has not copied ZooKeeper's metadata after {seconds} s. Its log says why: docker \
                     compose -f {file} logs controller (in the cluster folder)",
                    seconds = start.elapsed().as_secs(),
                    file = steps::file(2)
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await
}

/// The value of `NAME=` in the folder's `.env`.
fn env_value(dir: &std::path::Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(".env")).ok()?;
    text.lines().find_map(|l| l.trim().strip_prefix(&format!("{name}=")).map(str::to_string))
}

/// Sets (or, with None, removes) `NAME=value` in the folder's `.env`, keeping every other line.
fn set_env(dir: &std::path::Path, name: &str, value: Option<&str>) -> Result<()> {
    let path = dir.join(".env");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => {
            return Err(err).with_context(|| t!("Failed to read {path}", path = path.display()))
        }
    };
    let prefix = format!("{name}=");
    let mut lines: Vec<String> =
        text.lines().filter(|l| !l.trim().starts_with(&prefix)).map(str::to_string).collect();
    lines.extend(value.map(|v| format!("{prefix}{v}")));
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).with_context(|| t!("Failed to write {path}", path = path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::migration::{Facts, Mode};

    #[test]
    fn the_text_shows_each_command_check_10_gives_first() {
        let commands = crate::ui::markdown::commands(TEXT);
        let mut facts = Facts::default();
        for broker in stack::BROKERS.map(stack::service) {
            facts.brokers.insert(broker, Mode::ZooKeeper);
        }
        let phases = [
            Phase::Before,
            Phase::ControllerReady,
            Phase::Copied,
            Phase::DualWrite,
            Phase::Finalized,
        ];
        for phase in phases {
            let command = steps::next(phase, &facts).map(|step| step.command());
            assert!(
                command.as_ref().is_some_and(|c| commands.contains(c)),
                "{command:?} is not in the text"
            );
        }
        let waits = steps::in_sync_command("kafka-1");
        assert!(commands.contains(&waits), "{waits}");
    }
}
