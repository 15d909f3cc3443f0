//! The cluster's compose project: three brokers and the keeper of the cluster's metadata (ZooKeeper, or a
//! KRaft controller on the KRaft track), started, killed and started again.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use crate::kafka::admin::{self, Broker};
use crate::kafka::inspect::{self, PartitionInfo};
use crate::lesson::Fact;
use crate::stack::compose::{Compose, ComposeCli};
use crate::stack::config::{port_from_env, StackConfig};
use crate::stack::engine::{Container, Engine};
use crate::stack::track::Track;

/// The repository's compose/cluster/docker-compose.yml, which lesson 8 writes into the learner's `cluster/`.
pub const FILE: &str = include_str!("../../compose/cluster/docker-compose.yml");
/// The KRaft track's: compose/kraft/cluster/docker-compose.yml.
pub const KRAFT_FILE: &str = include_str!("../../compose/kraft/cluster/docker-compose.yml");
pub const FOLDER: &str = "cluster";
pub const BROKERS: [i32; 3] = [1, 2, 3];
/// Three broker heaps of 512 MiB, ZooKeeper's (or the controller's) of 256 MiB and the JVMs around them,
/// capped under about 2.5 GiB. Measured: the ZooKeeper track's at 0.9 GiB idle and 1.0 GiB after the
/// reliability test's 200,000 records; the KRaft track's at 1.6 GiB after lessons 8 and 9.
pub const MEMORY_NEEDED: i64 = 5 << 29;

/// `kafka-2`: broker 2's compose service.
pub fn service(broker: i32) -> String {
    format!("kafka-{broker}")
}

/// The cluster's compose file on `track`.
pub fn file(track: Track) -> &'static str {
    match track {
        Track::ZooKeeper => FILE,
        Track::KRaft => KRAFT_FILE,
    }
}

pub struct Cluster {
    /// The learner's `cluster/` folder: the compose file, its `.env`, the producer's ledger.
    pub dir: PathBuf,
    pub track: Track,
    pub ports: [u16; 3],
    pub engine: Engine,
    pub compose: Compose,
}

impl Cluster {
    pub async fn connect(config: &StackConfig) -> Result<Cluster> {
        let dir = folder(config);
        // The environment first, then the folder's `.env` (what compose typed there would use), then the defaults.
        let saved = std::fs::read_to_string(dir.join(".env")).unwrap_or_default();
        let port = |n: usize| -> Result<u16> {
            let var = format!("KAFKA_{n}_PORT");
            let default = 19091 + n as u16;
            if std::env::var_os(&var).is_some() {
                return port_from_env(&var, default);
            }
            let line = saved.lines().find_map(|l| l.trim().strip_prefix(&format!("{var}=")));
            Ok(line.and_then(|v| v.trim().parse().ok()).unwrap_or(default))
        };
        let ports = [port(1)?, port(2)?, port(3)?];
        let compose = Compose {
            cli: ComposeCli::detect().await?,
            project: project(config),
            file: dir.join(crate::stack::config::COMPOSE_FILE),
            env: (1..=3).map(|n| (format!("KAFKA_{n}_PORT"), ports[n - 1].to_string())).collect(),
        };
        let engine = Engine::connect().await?;
        Ok(Cluster { dir, track: config.track, ports, engine, compose })
    }

    /// The cluster, or what to type to start it when there is none yet (`then`: what comes after).
    pub async fn started(config: &StackConfig, start: &str, then: &str) -> Result<Cluster> {
        let cluster = Cluster::connect(config).await?;
        if let Some(other) = cluster.other_track() {
            bail!(cluster.move_over(other));
        }
        if cluster.containers().await?.is_empty() {
            bail!(t!("There is no cluster yet: start it with {start}, then {then}.", start, then));
        }
        Ok(cluster)
    }

    pub fn project(&self) -> &str {
        &self.compose.project
    }

    /// Every broker's published port: a client reaches the cluster while any one of them answers.
    pub fn bootstrap(&self) -> String {
        self.ports.iter().map(|p| format!("localhost:{p}")).collect::<Vec<_>>().join(",")
    }

    pub async fn containers(&self) -> Result<Vec<Container>> {
        self.engine.containers(self.project()).await
    }

    /// The brokers whose containers run now.
    pub async fn running(&self) -> Result<Vec<i32>> {
        let containers = self.containers().await?;
        Ok(BROKERS
            .into_iter()
            .filter(|&b| containers.iter().any(|c| c.service == service(b) && c.running()))
            .collect())
    }

    /// The other track, when `cluster/docker-compose.yml` is its cluster's.
    pub fn other_track(&self) -> Option<Track> {
        let text = std::fs::read_to_string(&self.compose.file).ok()?;
        Track::of_file(&text).filter(|other| *other != self.track)
    }

    /// How to set the `other` track's cluster aside, keeping it and its data; nothing is done to it.
    pub fn move_over(&self, other: Track) -> String {
        let mut said = t!(
            "{path} is the {other} track's cluster, and this folder is on the {track} track. Nothing was done to \
             it. To move the cluster over, keeping it and its data, in {dir}:\n  \
             docker compose down                             (stops that cluster; its volumes stay)\n  \
             mv -n docker-compose.yml docker-compose.{other}.yml",
            path = self.compose.file.display(),
            other = other.name(),
            track = self.track.name(),
            dir = self.dir.display()
        );
        let kept = format!("docker-compose.{}.yml", self.track.name());
        if self.dir.join(&kept).exists() {
            said += "\n  ";
            said += &t!(
                "mv {kept} docker-compose.yml    (your {track} track's cluster, as you left it)",
                kept,
                track = self.track.name()
            );
        }
        said += "\n";
        said += t!("then run the lesson again.");
        said
    }

    /// Writes the compose file and `.env`, which names the project and its ports for compose commands typed in
    /// the folder.
    /// A compose file of the learner's that differs is kept, and the reference written beside it: what to say.
    pub fn write_files(&self) -> Result<Option<String>> {
        let write = |path: &std::path::Path, text: &str| {
            std::fs::write(path, text)
                .with_context(|| t!("Failed to write {path}", path = path.display()))
        };
        std::fs::create_dir_all(&self.dir)
            .with_context(|| t!("Failed to create {path}", path = self.dir.display()))?;
        let mut env = format!("COMPOSE_PROJECT_NAME={}\n", self.project());
        for (n, port) in self.ports.iter().enumerate() {
            env += &format!("KAFKA_{}_PORT={port}\n", n + 1);
        }
        // Lines of others stay: lesson 10's CLUSTER_ID, a learner's own.
        let saved = std::fs::read_to_string(self.dir.join(".env")).unwrap_or_default();
        let ours = |line: &str| {
            let name = line.split('=').next().unwrap_or_default().trim();
            name == "COMPOSE_PROJECT_NAME"
                || (name.starts_with("KAFKA_") && name.ends_with("_PORT"))
        };
        saved.lines().filter(|l| !ours(l)).for_each(|line| env += &format!("{line}\n"));
        let file = file(self.track);
        if let Some(other) = self.other_track() {
            bail!(self.move_over(other));
        }
        write(&self.dir.join(".env"), &env)?;
        crate::stack::reference::write_unless_theirs(&self.compose.file, file)
    }

    /// `compose up -d` in `cluster/`, once the engine has the memory; then waits until all three brokers are
    /// registered. Says if the learner's compose file was kept.
    pub async fn up(&self) -> Result<(Option<String>, Vec<Broker>)> {
        if let Some(total) = self.engine.memory_total().await {
            enough_memory(total)?;
        }
        // The other track's cluster in this folder is said first (its controller is no migration's).
        if let Some(other) = self.other_track() {
            bail!(self.move_over(other));
        }
        let begun = super::migration::begun(&self.containers().await?);
        if self.track == Track::ZooKeeper && begun {
            bail!(t!(
                "This cluster is being migrated to KRaft, or was (lesson 10): lesson 8's file would start its \
                 brokers on ZooKeeper again. Nothing was started. Where the migration is: {check}. \
                 To start over with a new ZooKeeper cluster, deleting this one and its data: lesson reset 8",
                check = "lesson check 10"
            ));
        }
        let note = self.write_files()?;
        self.compose.up().await?;
        Ok((note, self.registered().await?))
    }

    /// Waits until the three brokers are registered; fails at once when a container stopped.
    pub async fn registered(&self) -> Result<Vec<Broker>> {
        let what = match self.track {
            Track::ZooKeeper => t!("the three brokers to register with ZooKeeper"),
            Track::KRaft => t!("the three brokers to register with the controller"),
        };
        let deadline = Instant::now() + crate::stack::ready_timeout();
        crate::ui::progress::while_running(what, async {
            loop {
                self.none_stopped(&self.containers().await?).await?;
                if let Ok(brokers) = admin::brokers(&self.bootstrap(), Duration::from_secs(3)).await
                {
                    if brokers.len() == BROKERS.len() {
                        return Ok(brokers);
                    }
                }
                if Instant::now() > deadline {
                    bail!(t!(
                        "The three brokers did not all register in {seconds} s: {command}",
                        seconds = crate::stack::ready_timeout().as_secs(),
                        command = "docker compose logs"
                    ));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
        .await
    }

    /// Fails, with its last lines, for a container that exited or that its restart policy starts again and
    /// again: no wait will make it answer.
    pub async fn none_stopped(&self, containers: &[Container]) -> Result<()> {
        let Some(c) = containers.iter().find(|c| c.state.stopped() || c.restarts >= 3) else {
            return Ok(());
        };
        let logs = self.engine.logs_tail(&c.id, 20).await.unwrap_or_default();
        bail!(t!(
            "{service} stopped (exit {code}, restarted {restarts} times). Its last lines:\n{logs}",
            service = c.service,
            code = c.exit_code,
            restarts = c.restarts,
            logs = logs.trim_end()
        ))
    }

    /// The lesson topic's partitions now, or None when it does not exist.
    pub async fn partitions(&self, topic: &str) -> Result<Option<Vec<PartitionInfo>>> {
        inspect::topic(&self.bootstrap(), topic).await
    }

    /// Polls the topic's metadata until `done` holds; returns it and how long that took.
    pub async fn until(
        &self,
        what: &str,
        topic: &str,
        done: impl Fn(&[PartitionInfo]) -> bool,
    ) -> Result<(Vec<PartitionInfo>, Duration)> {
        let start = Instant::now();
        crate::ui::progress::while_running(what, async {
            let mut last: String;
            loop {
                match self.partitions(topic).await {
                    Ok(Some(partitions)) if done(&partitions) => return Ok((partitions, start.elapsed())),
                    Ok(Some(partitions)) => last = super::describe(&partitions),
                    // Just created, or deleted meanwhile: the deadline tells them apart.
                    Ok(None) => last = t!("There is no topic {topic}.", topic),
                    Err(err) => last = format!("{err:#}"),
                }
                if self.running().await?.is_empty() {
                    bail!(t!(
                        "No broker of the cluster runs: nothing can answer. In {dir}: docker compose up -d",
                        dir = self.dir.display()
                    ));
                }
                if start.elapsed() > crate::stack::ready_timeout() {
                    bail!(t!(
                        "Gave up waiting for {what} after {seconds} s. Last seen:\n{last}",
                        what,
                        seconds = start.elapsed().as_secs(),
                        last
                    ));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
    }

    /// `compose kill kafka-N`, refused for a broker that is not running.
    pub async fn kill(&self, broker: i32) -> Result<()> {
        if !BROKERS.contains(&broker) {
            bail!(t!("There is no broker {broker}: the cluster's brokers are 1, 2 and 3.", broker));
        }
        if !self.running().await?.contains(&broker) {
            bail!(t!(
                "Broker {broker} is not running, so there is nothing to kill. Start it again in {dir}: docker compose \
                 start {service}",
                broker,
                dir = self.dir.display(),
                service = service(broker)
            ));
        }
        self.compose.kill(&service(broker)).await
    }

    /// `docker compose exec SERVICE CMD…`: what it printed; a command that fails is an error with its words.
    pub async fn exec(&self, service: &str, cmd: &[&str]) -> Result<String> {
        let containers = self.containers().await?;
        let Some(container) = containers.iter().find(|c| c.service == service && c.running())
        else {
            bail!(t!(
                "{service} is not running. Start it in {dir}: docker compose start {service}",
                service,
                dir = self.dir.display()
            ));
        };
        let out = self.engine.exec(&container.id, cmd, None).await?;
        if out.exit_code != 0 {
            bail!("$ {}\n{}{}", cmd.join(" "), out.stdout, out.stderr);
        }
        Ok(out.stdout)
    }

    pub async fn start(&self, brokers: &[i32]) -> Result<()> {
        let services: Vec<String> = brokers.iter().map(|&b| service(b)).collect();
        self.compose.start(&services.iter().map(String::as_str).collect::<Vec<_>>()).await
    }

    /// `compose up -d` until three brokers are registered, said as the lesson's first step.
    pub async fn start_and_say(&self, step: &impl Fn(String)) -> Result<()> {
        let (note, mut brokers) = self.up().await?;
        brokers.sort_by_key(|b| b.id);
        note.into_iter().for_each(step);
        let registered: Vec<String> = brokers
            .iter()
            .map(|b| t!("{id} at {host}:{port}", id = b.id, host = b.host, port = b.port))
            .collect();
        step(format!(
            "$ cd {FOLDER} && {} up -d\n{}",
            self.compose.cli.name(),
            t!("Three brokers registered: {brokers}", brokers = registered.join(", "))
        ));
        Ok(())
    }

    /// A check's first facts: the cluster's containers run. False when nothing could answer a question about
    /// the cluster (no container, ZooKeeper or the controller down, every broker down); with one broker down the
    /// others answer.
    /// `start` is the command that starts it.
    pub async fn runs(&self, start: &str) -> Result<(Vec<Fact>, bool)> {
        let containers = self.containers().await?;
        let what = t!("the cluster of project `{project}` runs", project = self.project());
        if containers.is_empty() {
            let dir = self.dir.display();
            let fix = if self.compose.file.exists() {
                t!("Start it: {start} (or in {dir}: docker compose up -d)", start, dir)
            } else {
                t!(
                    "Start it: {start} (it writes the cluster's compose file into {dir} first)",
                    start,
                    dir
                )
            };
            return Ok((vec![Fact::fail(what, fix)], false));
        }
        let stopped: Vec<String> =
            containers.iter().filter(|c| !c.running()).map(|c| c.service.clone()).collect();
        let fix = t!(
            "Not running: {services}. Start again in {dir}: docker compose start {services}",
            services = stopped.join(" "),
            dir = self.dir.display()
        );
        let mut facts = vec![Fact::check(stopped.is_empty(), what, fix)];
        if let Some(other) = self.other_track() {
            let what = t!("the cluster is the {track} track's", track = self.track.name());
            facts.push(Fact::fail(what, self.move_over(other)));
            return Ok((facts, false));
        }
        if self.track == Track::ZooKeeper && super::migration::begun(&containers) {
            facts.push(Fact::fail(
                t!("the cluster is a ZooKeeper cluster, as this lesson's check reads it"),
                t!(
                    "This cluster is being migrated to KRaft, or was (lesson 10). Where the migration is: {check}. To \
                     do this lesson again on a new ZooKeeper cluster, deleting this one and its data: lesson reset 8",
                    check = "lesson check 10"
                ),
            ));
            return Ok((facts, false));
        }
        let [keeper, _] = self.track.services();
        let keeper_runs = containers.iter().any(|c| c.service == keeper && c.running());
        Ok((facts, keeper_runs && !self.running().await?.is_empty()))
    }

    /// `compose down -v`: only this track's cluster (the other's is the learner's to set aside or delete). On the
    /// ZooKeeper track with what lesson 10 started beside it: its controller (`--remove-orphans`) and that
    /// controller's volume, which lesson 8's file does not declare (a later migration would find the old
    /// cluster's metadata in it).
    pub async fn down(&self) -> Result<()> {
        if let Some(other) = self.other_track() {
            bail!(self.move_over(other));
        }
        if self.track == Track::KRaft {
            return self.compose.down(true).await.map(|_| ());
        }
        self.compose.down_everything().await?;
        let controller = format!("{}_controller-data", self.project());
        if self.engine.volumes(self.project()).await?.contains(&controller) {
            self.engine.remove_volume(&controller).await?;
        }
        Ok(())
    }
}

/// The learner's `cluster/` folder; typed in that folder itself (`cd cluster`), a command means it, not a
/// `cluster/` inside it.
pub fn folder(config: &StackConfig) -> PathBuf {
    if is_cluster_folder(&config.dir) {
        config.dir.clone()
    } else {
        config.dir.join(FOLDER)
    }
}

/// The compose project: as compose names it in the folder, so that commands typed there act on the same one;
/// a project the learner named gets a name of its own.
pub fn project(config: &StackConfig) -> String {
    if config.project_given {
        format!("{}-cluster", config.project)
    } else {
        crate::stack::config::project_name(FOLDER)
    }
}

/// A folder holding the cluster's compose file (one with its three brokers), named as lesson 8 names it.
pub fn is_cluster_folder(dir: &std::path::Path) -> bool {
    dir.file_name().is_some_and(|name| name == FOLDER)
        && std::fs::read_to_string(dir.join(crate::stack::config::COMPOSE_FILE)).is_ok_and(|text| {
            BROKERS.iter().all(|b| text.contains(&format!("\n  {}:", service(*b))))
        })
}

/// Refuses before starting anything when the engine cannot hold the cluster.
pub fn enough_memory(total: i64) -> Result<()> {
    if total >= MEMORY_NEEDED {
        return Ok(());
    }
    let gib = |bytes: i64| format!("{:.1}", bytes as f64 / f64::from(1 << 30));
    bail!(t!(
        "The cluster needs about {needed} GiB of memory and the engine has {total} GiB: its brokers would be killed \
         for lack of memory. Give Docker more (Docker Desktop: Settings → Resources → Memory), or stop what else \
         runs (the single broker of lessons 2–7: docker compose stop, in your folder). Nothing was started.",
        needed = gib(MEMORY_NEEDED),
        total = gib(total)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_little_memory_is_refused_before_starting() {
        assert!(enough_memory(MEMORY_NEEDED).is_ok());
        let err = enough_memory(2 << 30).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.starts_with("The cluster needs about 2.5 GiB of memory and the engine has 2.0 GiB"),
            "{err}"
        );
        assert!(err.ends_with("Nothing was started."), "{err}");
    }

    #[test]
    fn each_file_publishes_each_broker_on_loopback_with_a_capped_heap() {
        for (file, heap) in [(FILE, "-Xmx512m -Xms512m"), (KRAFT_FILE, "-Xmx512m\n")] {
            for b in BROKERS {
                let port = format!("\"127.0.0.1:${{KAFKA_{b}_PORT:-{}}}:9092\"", 19091 + b);
                assert!(file.contains(&port), "{port}");
            }
            assert_eq!(file.matches(&format!("KAFKA_HEAP_OPTS: {heap}")).count(), 3);
            assert_eq!(file.matches("KAFKA_HEAP_OPTS: -Xmx256m").count(), 1);
            assert!(!file.contains("docker.sock"));
        }
    }

    #[test]
    fn each_file_is_its_tracks() {
        assert_eq!(Track::of_file(FILE), Some(Track::ZooKeeper));
        assert_eq!(Track::of_file(KRAFT_FILE), Some(Track::KRaft));
    }
}
