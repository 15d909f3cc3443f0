//! Lesson 3: verify the containers: running, healthy, ports on 127.0.0.1, the broker registered in ZooKeeper.

use anyhow::Result;

use crate::lesson::Fact;
use crate::lesson::{Context, Info, Lesson, Needs};
use crate::stack::engine::Health;
use crate::stack::zookeeper;

use super::common::{compose_hint, kafka_tool_ok, on_track, stack_up, IN_NETWORK_BOOTSTRAP};
use crate::kafka::admin;
use crate::stack::track::Track;
use crate::stack::Stack;

/// What `lesson N` says and the chapter includes: written once, in markdown.
pub const TEXT: &str = include_str!("l03_status.md");
/// The same lesson on the KRaft track (`lesson --track kraft`).
pub const KRAFT_TEXT: &str = include_str!("l03_status.kraft.md");

/// What the learner types to see the registration, run in the kafka container (it ships zookeeper-shell).
const ZOOKEEPER_LS: [&str; 4] = ["zookeeper-shell", "zookeeper:2181", "ls", "/brokers/ids"];

/// The KRaft track's way to see the same: the quorum, its leader, and the broker among its observers.
const QUORUM_STATUS: [&str; 5] =
    ["kafka-metadata-quorum", "--bootstrap-server", IN_NETWORK_BOOTSTRAP, "describe", "--status"];

pub struct Status;

impl Lesson for Status {
    const INFO: Info = Info {
        id: 3,
        slug: "status",
        title: n!("Verify the containers"),
        hint: n!("\
`docker ps` lists running containers; `docker compose ps` lists just this project's. Both services
should say Up and (healthy). A health of (starting) needs a few more seconds; (unhealthy) means the
service runs but does not answer: read `docker compose logs kafka`."),
        needs: Needs::NOTHING,
        requires: &[2],
    };

    fn explain(&self, ctx: &Context) -> String {
        crate::ui::markdown::lesson(ctx.config.track.text(TEXT, KRAFT_TEXT), &[])
    }

    async fn run(&self, ctx: &Context) -> Result<String> {
        let stack = ctx.stack().await?;
        let containers = stack.containers().await?;
        let mut out =
            format!("{:<10} {:<9} {:<10} {:<32} IMAGE\n", "SERVICE", "STATE", "HEALTH", "PORTS");
        for c in &containers {
            out += &format!(
                "{:<10} {:<9} {:<10} {:<32} {}\n",
                c.service,
                c.state,
                c.health,
                c.ports.join(","),
                c.image
            );
        }
        if containers.is_empty() {
            let reason = stack.not_up(t!("nothing was started"));
            out += &t!(
                "(no containers: {reason})",
                reason = reason.lines().next().unwrap_or_default()
            );
            out += "\n";
            return Ok(out);
        }
        if stack.config.track == Track::KRaft {
            let command = on_track(stack, QUORUM_STATUS.map(str::to_string).to_vec());
            let printed = kafka_tool_ok(stack, &command, None).await?;
            out += &format!("\n$ {}\n{}\n", command.join(" "), printed.trim_end());
            return Ok(out);
        }
        let command = ZOOKEEPER_LS.map(str::to_string);
        let printed = kafka_tool_ok(stack, &command, None).await?;
        let answer = printed.lines().rev().find(|l| l.starts_with('[')).unwrap_or_default();
        out += &format!("\n$ {}\n{answer}\n", command.join(" "));
        Ok(out)
    }

    async fn check(&self, ctx: &Context) -> Result<Vec<Fact>> {
        let stack = match stack_up(ctx).await? {
            Ok(stack) => stack,
            Err(facts) => return Ok(facts),
        };
        let mut facts = Vec::new();
        for c in stack.containers().await? {
            facts.push(match c.health {
                Health::Healthy => Fact::pass(t!("{service} is healthy", service = c.service)),
                Health::Starting => Fact::fail(
                    t!("{service} is healthy (now: starting)", service = c.service),
                    match stack.restart_loop(&c.service).await {
                        Some(restarts) => restarts.message,
                        None => t!("Its health check has not passed yet; wait a few seconds and check again").into(),
                    },
                ),
                Health::None => Fact::fail(
                    t!("{service} is healthy (now: no health check)", service = c.service),
                    t!(
                        "Docker cannot tell whether {service} answers: give it a healthcheck as lesson 1 shows \
                         (`lesson check 1` prints the lines), then {command}",
                        service = c.service,
                        command = compose_hint("up -d")
                    ),
                ),
                other => Fact::fail(
                    t!("{service} is healthy (now: {health})", service = c.service, health = other),
                    match stack.restart_loop(&c.service).await {
                        Some(restarts) => restarts.message,
                        None => t!(
                            "Read what it says: {command}",
                            command = compose_hint(&format!("logs {}", c.service))
                        ),
                    },
                ),
            });
            let open: Vec<&String> =
                c.ports.iter().filter(|p| !p.starts_with("127.0.0.1:")).collect();
            // Only clients need a port: the KRaft controller is reached by the broker inside the network.
            if c.service == "controller" {
                facts.push(Fact::check(
                    open.is_empty(),
                    t!("controller publishes no port beyond 127.0.0.1"),
                    t!(
                        "Ports now: {ports}; the controller needs none on your machine: remove its ports:",
                        ports = format!("{:?}", c.ports)
                    ),
                ));
                continue;
            }
            facts.push(Fact::check(
                open.is_empty() && !c.ports.is_empty(),
                t!("{service} publishes its port on 127.0.0.1 only", service = c.service),
                t!(
                    "Ports now: {ports}; write them as \"127.0.0.1:HOST:CONTAINER\" in docker-compose.yml",
                    ports = format!("{:?}", c.ports)
                ),
            ));
        }
        if stack.config.track == Track::KRaft {
            facts.extend(quorum_facts(stack).await);
            return Ok(facts);
        }
        let zk = stack.zookeeper_addr();
        facts.push(match zookeeper::broker_ids(&zk).await {
            Ok(ids) if !ids.is_empty() => {
                let endpoints = zookeeper::broker_endpoints(&zk, ids[0]).await.unwrap_or_default();
                Fact::pass(t!(
                    "ZooKeeper lists broker {ids} under /brokers/ids ({endpoints})",
                    ids = format!("{ids:?}"),
                    endpoints = endpoints.join(" ")
                ))
            }
            Ok(_) => Fact::fail(
                t!("ZooKeeper lists the broker under /brokers/ids"),
                t!("No broker registered: read {command}", command = compose_hint("logs kafka")),
            ),
            Err(err) => {
                Fact::fail(t!("ZooKeeper lists the broker under /brokers/ids"), format!("{err:#}"))
            }
        });
        Ok(facts)
    }
}

/// The KRaft twins of `/brokers/ids`: the quorum has a leader among its voters, the broker reads the metadata
/// log as an observer and has caught up with it, and the cluster's metadata lists the broker.
async fn quorum_facts(stack: &Stack) -> Vec<Fact> {
    let bootstrap = stack.bootstrap();
    let what = t!("the controller quorum has a leader");
    let quorum = match super::common::quorum_of(&bootstrap).await {
        Ok(quorum) => quorum,
        Err(fix) => return vec![Fact::fail(what, fix)],
    };
    let voters: Vec<String> = quorum.voters.iter().map(|v| v.id.to_string()).collect();
    let mut facts = vec![Fact::check(
        quorum.voters.iter().any(|v| v.id == quorum.leader),
        t!(
            "the controller quorum has a leader: node {leader} of voters [{voters}], epoch {epoch}",
            leader = quorum.leader,
            voters = voters.join(", "),
            epoch = quorum.epoch
        ),
        t!(
            "No voter leads yet: wait a few seconds and check again, or read {command}",
            command = compose_hint("logs controller")
        ),
    )];
    let brokers = match admin::brokers(&bootstrap, std::time::Duration::from_secs(10)).await {
        Ok(brokers) => brokers,
        Err(err) => {
            facts.push(Fact::fail(
                t!("the cluster's metadata lists the broker"),
                format!("{err:#}"),
            ));
            return facts;
        }
    };
    for broker in &brokers {
        let observer = quorum.observers.iter().find(|o| o.id == broker.id);
        facts.push(match observer {
            // Followers trail the leader by the records of the last moments; what tells a broker that follows
            // from one that never caught up is whether it ever reached the leader's log end.
            Some(o) if o.last_caught_up >= 0 => Fact::pass(t!(
                "broker {id} at {host}:{port} follows the metadata log (offset {offset}, high watermark {hw})",
                id = broker.id,
                host = broker.host,
                port = broker.port,
                offset = o.log_end_offset,
                hw = quorum.high_watermark
            )),
            Some(o) => Fact::fail(
                t!("broker {id} has caught up with the metadata log", id = broker.id),
                t!(
                    "It is at offset {offset} of {hw} and has not reached the end yet: give it a few seconds and \
                     check again",
                    offset = o.log_end_offset,
                    hw = quorum.high_watermark
                ),
            ),
            None => Fact::fail(
                t!("broker {id} reads the metadata log (an observer of the quorum)", id = broker.id),
                t!("The quorum does not list it: read {command}", command = compose_hint("logs kafka")),
            ),
        });
    }
    if brokers.is_empty() {
        facts.push(Fact::fail(
            t!("the cluster's metadata lists the broker"),
            t!("No broker registered: read {command}", command = compose_hint("logs kafka")),
        ));
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kraft_text_shows_the_command_the_lesson_runs() {
        let command = QUORUM_STATUS.map(str::to_string).to_vec();
        let typed = format!("docker compose exec kafka {}", command.join(" "));
        let typed = typed.replace(
            "exec kafka kafka-metadata-quorum",
            "exec kafka /opt/kafka/bin/kafka-metadata-quorum.sh",
        );
        assert!(
            crate::ui::markdown::commands(KRAFT_TEXT).contains(&typed),
            "{typed} is not in the text"
        );
    }

    #[test]
    fn the_text_shows_the_command_the_check_runs() {
        let typed = format!("docker compose exec kafka {}", ZOOKEEPER_LS.join(" "));
        assert!(crate::ui::markdown::commands(TEXT).contains(&typed), "{typed} is not in the text");
    }
}
