//! Lesson 3: verify the containers: running, healthy, ports on 127.0.0.1, the broker registered in ZooKeeper.

use anyhow::Result;

use crate::lesson::Fact;
use crate::lesson::{Context, Info, Lesson, Needs};
use crate::stack::engine::Health;
use crate::stack::zookeeper;

use super::common::{compose_hint, kafka_tool_ok, stack_up};

/// What `lesson N` says and the chapter includes: written once, in markdown.
pub const TEXT: &str = include_str!("l03_status.md");

/// What the learner types to see the registration, run in the kafka container (it ships zookeeper-shell).
const ZOOKEEPER_LS: [&str; 4] = ["zookeeper-shell", "zookeeper:2181", "ls", "/brokers/ids"];

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

    fn explain(&self, _ctx: &Context) -> String {
        crate::ui::markdown::lesson(TEXT, &[])
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
            facts.push(Fact::check(
                open.is_empty() && !c.ports.is_empty(),
                t!("{service} publishes its port on 127.0.0.1 only", service = c.service),
                t!(
                    "Ports now: {ports}; write them as \"127.0.0.1:HOST:CONTAINER\" in docker-compose.yml",
                    ports = format!("{:?}", c.ports)
                ),
            ));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_shows_the_command_the_check_runs() {
        let typed = format!("docker compose exec kafka {}", ZOOKEEPER_LS.join(" "));
        assert!(crate::ui::markdown::commands(TEXT).contains(&typed), "{typed} is not in the text");
    }
}
