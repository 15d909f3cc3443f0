//! The one handle on the learner's stack: the Docker API, the compose CLI, ZooKeeper and Kafka.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::compose::Compose;
use super::config::StackConfig;
use super::engine::{Container, Engine, ExecOutput, Health};
use super::guidance;
use super::track::Track;
use super::zookeeper::{self, Srvr};
use crate::kafka::admin::{self, Broker};
use crate::kafka::quorum::{self, Quorum};
use crate::ui::progress::Progress;
use crate::ui::text::fill;

pub struct Stack {
    pub config: StackConfig,
    pub engine: Engine,
    pub compose: Compose,
    noted_running: AtomicBool,
}

/// What the services said when they were ready.
#[derive(Clone, Debug)]
pub struct Ready {
    pub keeper: Keeper,
    pub brokers: Vec<Broker>,
    pub containers: Vec<Container>,
}

/// What keeps the cluster's metadata, as it answered: ZooKeeper, or the KRaft controller quorum.
#[derive(Clone, Debug)]
pub enum Keeper {
    ZooKeeper(Srvr),
    KRaft(Quorum),
}

impl std::fmt::Display for Keeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Keeper::ZooKeeper(srvr) => f.write_str(&t!(
                "ZooKeeper answers: {mode} mode, version {version}",
                mode = srvr.mode,
                version = srvr.version
            )),
            Keeper::KRaft(quorum) => f.write_str(&t!(
                "The controller quorum answers: leader {leader}, epoch {epoch}, voters {voters}",
                leader = quorum.leader,
                epoch = quorum.epoch,
                voters =
                    quorum.voters.iter().map(|v| v.id.to_string()).collect::<Vec<_>>().join(", ")
            )),
        }
    }
}

/// What is left of a project after `down`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Leftovers {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

impl Stack {
    pub async fn connect(config: StackConfig) -> Result<Stack> {
        let engine = Engine::connect().await?;
        let compose = Compose::for_config(&config).await?;
        Ok(Stack { config, engine, compose, noted_running: AtomicBool::new(false) })
    }

    pub fn bootstrap(&self) -> String {
        self.config.bootstrap()
    }

    /// The two services of lessons 1–6 on the learner's track: ZooKeeper or the controller, and the broker.
    pub fn services_of_track(&self) -> [&'static str; 2] {
        self.config.track.services()
    }

    pub fn zookeeper_addr(&self) -> String {
        format!("127.0.0.1:{}", self.config.zookeeper_port)
    }

    pub async fn containers(&self) -> Result<Vec<Container>> {
        let containers = self.engine.containers(&self.config.project).await?;
        if containers.iter().any(Container::running)
            && !self.noted_running.swap(true, Ordering::Relaxed)
        {
            // A note, not a state: a folder the learner cannot write to only loses check 6's evidence.
            let note = self.seen_running_note();
            let _ = note
                .parent()
                .map(std::fs::create_dir_all)
                .transpose()
                .and_then(|_| std::fs::write(&note, ""));
        }
        Ok(containers)
    }

    /// Whether any lesson saw this project's stack running in the learner's folder. After `down -v` nothing in
    /// the engine says a stack was ever started there; check 6 asks this.
    pub fn was_seen_running(&self) -> bool {
        self.seen_running_note().exists()
    }

    /// Lesson 2's undo: the stack never ran, as far as the lessons know.
    pub fn forget_seen_running(&self) -> Result<()> {
        self.noted_running.store(false, Ordering::Relaxed);
        let note = self.seen_running_note();
        match std::fs::remove_file(&note) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                Err(err).with_context(|| t!("Failed to remove {path}", path = note.display()))
            }
            _ => Ok(()),
        }
    }

    fn seen_running_note(&self) -> std::path::PathBuf {
        self.config.dir.join(".lesson").join(format!("{}.seen-running", self.config.project))
    }

    /// The running container of `service`, or the message that says to start the stack.
    pub async fn service(&self, service: &str) -> Result<Container> {
        self.services(&[service]).await?.into_iter().next().context("no service was asked for")
    }

    /// The running containers of `services`, from one listing, or the message that says to start the stack.
    pub async fn services(&self, services: &[&str]) -> Result<Vec<Container>> {
        let containers = self.containers().await?;
        services
            .iter()
            .map(|service| match containers.iter().find(|c| c.service == *service) {
                Some(c) if c.running() => Ok(c.clone()),
                Some(c) => {
                    bail!(self.not_up(&t!(
                        "the {service} container is {state}",
                        service,
                        state = c.state
                    )))
                }
                None => bail!(self.not_up(&t!("no {service} container exists", service))),
            })
            .collect()
    }

    /// Why a service whose container runs does not answer, when the container says so: it keeps restarting,
    /// and its log names a cause the workshop knows.
    pub async fn restart_loop(&self, service: &str) -> Option<RestartLoop> {
        self.restarts_after(service, 2).await
    }

    /// [`Self::restart_loop`] once the container has restarted `at_least` times (or is restarting now).
    async fn restarts_after(&self, service: &str, at_least: i64) -> Option<RestartLoop> {
        let containers = self.containers().await.ok()?;
        let c = containers.into_iter().find(|c| c.service == service)?;
        if c.restarts < at_least && c.state != super::engine::State::Restarting {
            return None;
        }
        let logs = self.engine.logs_tail(&c.id, 200).await.unwrap_or_default();
        let cause = KNOWN_CAUSES.iter().find(|(needle, _, _)| logs.contains(needle));
        let restarts = c.restarts;
        // A container that stopped at once, before its engine restarted it (a failed `compose up`).
        let head = if restarts > 0 {
            t!(
                "The {service} container keeps restarting ({restarts} restarts so far).",
                service,
                restarts
            )
        } else {
            t!("The {service} container stopped as it started.", service)
        };
        let (message, lasting) = match cause {
            Some((needle, why, lasting)) => {
                let line = logs.lines().find(|l| l.contains(needle)).unwrap_or(needle).trim();
                let why = match self.config.track {
                    Track::KRaft => cluster_id_changed(line),
                    Track::ZooKeeper => None,
                }
                .unwrap_or_else(|| crate::ui::lang::tr(why).to_string());
                (t!("{head}\nIts log says: {line}\n{why}", head, line, why), *lasting)
            }
            None => (t!("{head} Read why: docker compose logs {service}", head, service), false),
        };
        Some(RestartLoop { message, lasting })
    }

    pub fn not_up(&self, what: &str) -> String {
        fill(
            guidance::STACK_NOT_UP,
            &[
                ("project", &self.config.project),
                ("what", &what),
                ("dir", &self.config.dir.display()),
            ],
        )
    }

    /// `docker exec <service> cmd...`, through the Docker API.
    pub async fn exec(
        &self,
        service: &str,
        cmd: &[&str],
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput> {
        let container = self.service(service).await?;
        self.engine.exec(&container.id, cmd, stdin).await
    }

    /// `compose up -d`, then waits until ZooKeeper and Kafka answer.
    pub async fn up(&self) -> Result<(String, Ready)> {
        super::ports::ensure_free(&self.config, &self.containers().await?)?;
        let output = match self.compose.up().await {
            Ok(output) => output,
            // Compose v2 gives up on a dependency that never turns healthy, sometimes before its first restart
            // (the failed health check came first): a cause in its log that no restart ends says why already.
            Err(err) => match self.lasting_restart(0).await {
                Some(why) => bail!("{err:#}\n\n{why}"),
                None => return Err(err),
            },
        };
        match self.wait_ready(ready_timeout()).await {
            Ok(ready) => Ok((output, ready)),
            // What compose said comes first: it started the containers that then failed.
            Err(err) => {
                let why: Vec<String> = err
                    .chain()
                    .enumerate()
                    .map(|(i, cause)| match i {
                        0 => cause.to_string(),
                        _ => t!("because: {cause}", cause),
                    })
                    .collect();
                bail!(
                    "$ {} up -d\n{}\n\n{}",
                    self.compose.cli.name(),
                    output.trim_end(),
                    why.join("\n  ")
                )
            }
        }
    }

    pub async fn down(&self, volumes: bool) -> Result<String> {
        self.compose.down(volumes).await
    }

    // ANCHOR: leftovers
    pub async fn leftovers(&self) -> Result<Leftovers> {
        let project = &self.config.project;
        let sorted = |mut names: Vec<String>| {
            names.sort();
            names
        };
        Ok(Leftovers {
            containers: sorted(self.containers().await?.into_iter().map(|c| c.name).collect()),
            networks: sorted(self.engine.networks(project).await?),
            volumes: sorted(self.engine.volumes(project).await?),
        })
    }
    // ANCHOR_END: leftovers

    // ANCHOR: wait_ready
    /// Polls, with growing intervals, until both services run and are healthy, ZooKeeper
    /// answers `srvr` (or the controller quorum names a leader) and Kafka returns metadata
    /// naming a broker; fails at once if a container stops.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<Ready> {
        let start = Instant::now();
        let mut progress = Progress::default();
        progress.label(match self.config.track {
            Track::ZooKeeper => t!("ZooKeeper and Kafka to answer"),
            Track::KRaft => t!("the controller quorum and Kafka to answer"),
        });
        let mut interval = Duration::from_millis(250);
        loop {
            let waiting_for = match self.probe().await {
                Ok(ready) => {
                    progress.finish();
                    return Ok(ready);
                }
                Err(Probe::Broken(err)) => {
                    progress.finish();
                    return Err(err);
                }
                Err(Probe::Waiting(what)) => what,
            };
            if start.elapsed() > timeout {
                progress.finish();
                bail!(fill(
                    guidance::NOT_READY,
                    &[
                        ("seconds", &timeout.as_secs()),
                        ("waiting", &waiting_for),
                        (
                            "services",
                            &self
                                .services_of_track()
                                .iter()
                                .rev()
                                .copied()
                                .collect::<Vec<_>>()
                                .join(" ")
                        )
                    ]
                ));
            }
            progress.update(&waiting_for, start.elapsed());
            tokio::time::sleep(interval).await;
            interval = (interval * 2).min(Duration::from_secs(2));
        }
    }
    // ANCHOR_END: wait_ready

    // ANCHOR: probe
    async fn probe(&self) -> Result<Ready, Probe> {
        let containers = self.containers().await.map_err(Probe::Broken)?;
        for service in self.services_of_track() {
            let Some(c) = containers.iter().find(|c| c.service == service) else {
                return Err(Probe::Waiting(t!("the {service} container to exist", service)));
            };
            if c.state.stopped() {
                let logs = self.engine.logs_tail(&c.id, 20).await.unwrap_or_default();
                return Err(Probe::Broken(anyhow::anyhow!(fill(
                    guidance::SERVICE_EXITED,
                    &[
                        ("service", &service),
                        ("project", &self.config.project),
                        ("code", &c.exit_code),
                        ("logs", &logs.trim_end())
                    ],
                ))));
            }
            if !c.running() {
                return Err(Probe::Waiting(t!(
                    "the {service} container to start ({state})",
                    service,
                    state = c.state
                )));
            }
        }
        // What the keeper of the metadata answers, or what is still awaited.
        let keeper = match self.config.track {
            Track::ZooKeeper => match zookeeper::srvr(&self.zookeeper_addr()).await {
                Ok(srvr) => Ok(Keeper::ZooKeeper(srvr)),
                Err(_) => Err(t!("ZooKeeper to answer on {addr}", addr = self.zookeeper_addr())),
            },
            // The controller publishes no port: the broker forwards the question to it.
            Track::KRaft => match quorum::describe(&self.bootstrap(), Duration::from_secs(3)).await
            {
                Ok(Some(q)) if q.leader >= 0 => Ok(Keeper::KRaft(q)),
                Ok(Some(_)) => {
                    return Err(Probe::Waiting(t!(
                        "the controller quorum to elect a leader (asked through {bootstrap})",
                        bootstrap = self.bootstrap()
                    )))
                }
                Ok(None) => {
                    let bootstrap = self.bootstrap();
                    return Err(Probe::Broken(anyhow::anyhow!(t!(
                        "The broker on {bootstrap} runs with ZooKeeper, and this folder is on \
                         the KRaft track: another stack holds the port. Stop it (docker compose \
                         down in its folder), or give this one another port: \
                         export KAFKA_PORT=19092",
                        bootstrap
                    ))));
                }
                Err(_) => Err(t!("Kafka to answer on {bootstrap}", bootstrap = self.bootstrap())),
            },
        };
        let keeper = match keeper {
            Ok(keeper) => keeper,
            Err(waiting) => return Err(self.waiting_unless_restarting(waiting).await),
        };
        let brokers = admin::brokers(&self.bootstrap(), Duration::from_secs(3))
            .await
            .ok()
            .filter(|b| !b.is_empty());
        let Some(brokers) = brokers else {
            let waiting =
                t!("Kafka to return metadata on {bootstrap}", bootstrap = self.bootstrap());
            return Err(self.waiting_unless_restarting(waiting).await);
        };
        if let Some(c) =
            containers.iter().find(|c| !matches!(c.health, Health::Healthy | Health::None))
        {
            return Err(Probe::Waiting(t!(
                "the {service} health check ({health})",
                service = c.service,
                health = c.health
            )));
        }
        Ok(Ready { keeper, brokers, containers })
    }
    // ANCHOR_END: probe

    /// What one of the track's services says when it keeps restarting for a cause no restart will end (its
    /// log names it).
    async fn lasting_restart(&self, at_least: i64) -> Option<String> {
        for service in self.services_of_track() {
            if let Some(restarts) =
                self.restarts_after(service, at_least).await.filter(|r| r.lasting)
            {
                return Some(restarts.message);
            }
        }
        None
    }

    /// Still `waiting` for what does not answer yet, unless a service's restarts say it never will.
    async fn waiting_unless_restarting(&self, waiting: String) -> Probe {
        match self.lasting_restart(2).await {
            Some(why) => Probe::Broken(anyhow::anyhow!(why)),
            None => Probe::Waiting(waiting),
        }
    }
}

/// A container its engine keeps restarting: what to say, and whether waiting can end it.
pub struct RestartLoop {
    pub message: String,
    /// No restart will fix it: waiting longer is pointless.
    pub lasting: bool,
}

/// On the KRaft track, `Invalid cluster.id in: … Expected NEW, but read OLD`: the image formats each start with
/// the compose file's CLUSTER_ID, and a volume formatted with another is refused (measured on Kafka 4.4,
/// changing CLUSTER_ID with the volumes kept). Putting the id back loses nothing.
fn cluster_id_changed(line: &str) -> Option<String> {
    let (_, ids) = line.split_once("Expected ")?;
    let (expected, read) = ids.split_once(", but read ")?;
    let read = read.split_whitespace().next()?;
    Some(t!(
        "This volume was formatted for cluster {read}, and the compose file now says CLUSTER_ID: {expected}.
If you changed CLUSTER_ID, put it back to {read} and start again: nothing is lost. If a volume was removed
and formatted anew, the nodes no longer hold one cluster: read \"Invalid cluster.id\" in the book's
troubleshooting chapter before deleting anything.",
        read,
        expected
    ))
}

/// Log lines that name why a broker cannot start, what to do, and whether it lasts.
const KNOWN_CAUSES: &[(&str, &str, bool)] = &[
    ("Invalid cluster.id", guidance::STALE_VOLUMES, true),
    ("InconsistentClusterIdException", guidance::STALE_VOLUMES, true),
    ("NodeExists", guidance::OLD_SESSION, false),
];

enum Probe {
    Waiting(String),
    Broken(anyhow::Error),
}

/// WORKSHOP_READY_TIMEOUT seconds, 180 by default (a first start may pull images).
pub fn ready_timeout() -> Duration {
    let seconds =
        std::env::var("WORKSHOP_READY_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(180);
    Duration::from_secs(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_cluster_id_is_named_with_the_one_to_put_back() {
        // As Kafka 4.4's formatter said it here, CLUSTER_ID changed with the volumes kept.
        let line = "Exception in thread \"main\" java.lang.RuntimeException: Invalid cluster.id in: \
                    /var/lib/kafka/data/meta.properties. Expected otherKRaftClusterIdxxAA, but read \
                    workshopKRaftTrack4xAA";
        let why = cluster_id_changed(line).unwrap_or_default();
        assert!(why.starts_with(
            "This volume was formatted for cluster workshopKRaftTrack4xAA, and the compose file now says \
             CLUSTER_ID: otherKRaftClusterIdxxAA."
        ));
        assert!(why.contains("put it back to workshopKRaftTrack4xAA"), "{why}");
        assert_eq!(cluster_id_changed("Invalid cluster.id"), None);
    }
}
