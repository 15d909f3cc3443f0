//! Lesson 2: start the stack with the compose CLI and wait until ZooKeeper and Kafka answer.

use anyhow::{bail, Result};

use crate::kafka::admin;
use crate::lesson::Fact;
use crate::lesson::{Context, Info, Lesson, Needs, Undo};
use crate::stack::track::Track;
use crate::stack::zookeeper;

use super::common::compose_hint;

/// What `lesson N` says and the chapter includes: written once, in markdown.
pub const TEXT: &str = include_str!("l02_start.md");
/// The same lesson on the KRaft track (`lesson --track kraft`).
pub const KRAFT_TEXT: &str = include_str!("l02_start.kraft.md");

pub struct Start;

impl Lesson for Start {
    const INFO: Info = Info {
        id: 2,
        slug: "start",
        title: n!("Start the stack"),
        hint: n!("\
Run `docker compose up -d` (Compose v1: `docker-compose up -d`) in the directory that holds your
docker-compose.yml. If it says a port is already allocated, another program (often an earlier Kafka)
holds 9092 or 2181: stop it, or set KAFKA_PORT / ZOOKEEPER_PORT to free ports. If kafka exits, read
`docker compose logs kafka`. `Invalid cluster.id` (Kafka 3.9) or InconsistentClusterIdException means
ZooKeeper's volume was removed but Kafka's kept: the two belong to different clusters now, and kafka
restarts over and over. See the troubleshooting chapter before you delete anything: `down -v` fixes it
by deleting every topic and message."),
        needs: Needs { starts_stack: true, ..Needs::NOTHING },
        requires: &[1],
    };

    fn kraft_hint(&self) -> Option<&'static str> {
        Some(n!("\
Run `docker compose up -d` (Compose v1: `docker-compose up -d`) in the directory that holds your
docker-compose.yml. If it says a port is already allocated, another program (often an earlier Kafka, or
this folder's ZooKeeper-track stack) holds 9092: stop it, or set KAFKA_PORT to a free port. If a container
exits, read `docker compose logs controller kafka`. A node that says its cluster id does not match was
formatted for another cluster: the two volumes belong to different clusters now. See the troubleshooting
chapter before you delete anything: `down -v` fixes it by deleting every topic and message."))
    }

    fn explain(&self, ctx: &Context) -> String {
        crate::ui::markdown::lesson(ctx.config.track.text(TEXT, KRAFT_TEXT), &[])
    }

    async fn run(&self, ctx: &Context) -> Result<String> {
        if !ctx.config.compose_file().exists() {
            bail!(t!(
                "There is no docker-compose.yml in {dir}. Do lesson 1 first: lesson 1 --run",
                dir = ctx.config.dir.display()
            ));
        }
        let stack = ctx.stack().await?;
        let (output, ready) = stack.up().await?;
        let brokers: Vec<String> = ready
            .brokers
            .iter()
            .map(|b| t!("{id} at {host}:{port}", id = b.id, host = b.host, port = b.port))
            .collect();
        Ok(format!(
            "$ {} up -d\n{}\n{}\n{}",
            stack.compose.cli.name(),
            output.trim_end(),
            ready.keeper,
            t!("Kafka answers: broker {brokers}", brokers = brokers.join(", "))
        ))
    }

    fn undo_plan(&self, ctx: &Context) -> Option<Undo> {
        Some(Undo {
            does: t!(
                "stops and removes the stack of project `{project}` with its volumes (compose down -v)",
                project = ctx.config.project
            ),
            loses: Some(t!("every topic and message in the stack's volumes").into()),
        })
    }

    async fn undo(&self, ctx: &Context) -> Result<String> {
        let stack = ctx.stack().await?;
        stack.down(true).await?;
        stack.forget_seen_running()?;
        Ok(t!(
            "removed the stack of project `{project}` and its volumes",
            project = ctx.config.project
        ))
    }

    async fn check(&self, ctx: &Context) -> Result<Vec<Fact>> {
        let stack = ctx.stack().await?;
        let containers = stack.containers().await?;
        let mut facts = Vec::new();
        for service in stack.services_of_track() {
            let what = t!("the {service} container runs", service);
            facts.push(match containers.iter().find(|c| c.service == service) {
                Some(c) if c.running() => Fact::pass(what),
                Some(c) => Fact::fail(
                    what,
                    match stack.restart_loop(service).await {
                        Some(restarts) => restarts.message,
                        None => t!(
                            "It is {state}; read why: {command}",
                            state = c.state,
                            command = compose_hint(&format!("logs {service}"))
                        ),
                    },
                ),
                None => Fact::fail(
                    what,
                    t!(
                        "Start the stack: lesson 2 --run, or {command}",
                        command = compose_hint("up -d")
                    ),
                ),
            });
        }
        if facts.iter().any(|f| f.fix.is_some()) {
            return Ok(facts);
        }
        let bootstrap = stack.bootstrap();
        facts.push(match stack.config.track {
            Track::ZooKeeper => match zookeeper::srvr(&stack.zookeeper_addr()).await {
                Ok(srvr) => Fact::pass(t!(
                    "ZooKeeper answers on {address} ({mode} mode)",
                    address = stack.zookeeper_addr(),
                    mode = srvr.mode
                )),
                Err(err) => Fact::fail(
                    t!("ZooKeeper answers on {address}", address = stack.zookeeper_addr()),
                    format!("{err:#}"),
                ),
            },
            Track::KRaft => quorum_fact(&bootstrap).await,
        });
        facts.push(match admin::brokers(&bootstrap, std::time::Duration::from_secs(10)).await {
            Ok(brokers) if !brokers.is_empty() => {
                let b = &brokers[0];
                Fact::pass(t!(
                    "Kafka answers on {bootstrap}: broker {id} at {host}:{port}",
                    bootstrap,
                    id = b.id,
                    host = b.host,
                    port = b.port
                ))
            }
            _ => Fact::fail(
                t!("Kafka answers on {bootstrap}", bootstrap),
                match stack.restart_loop("kafka").await {
                    Some(restarts) => restarts.message,
                    None => t!(
                        "Give it a few seconds and check again; if it stays silent: {command}",
                        command = compose_hint("logs kafka")
                    ),
                },
            ),
        });
        Ok(facts)
    }
}

/// The controller quorum has a leader, as the broker reports it (the controller publishes no port).
async fn quorum_fact(bootstrap: &str) -> Fact {
    let what = t!("the controller quorum has a leader (asked through {bootstrap})", bootstrap);
    match super::common::quorum_of(bootstrap).await {
        Ok(q) if q.leader >= 0 => Fact::pass(t!(
            "the controller quorum has a leader: node {leader}, epoch {epoch} (asked through {bootstrap})",
            leader = q.leader,
            epoch = q.epoch,
            bootstrap
        )),
        Ok(_) => Fact::fail(
            what,
            t!("No leader yet: give the controller a few seconds, or read {command}", command = compose_hint("logs controller")),
        ),
        Err(fix) => Fact::fail(what, fix),
    }
}
