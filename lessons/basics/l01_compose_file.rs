//! Lesson 1: write a compose file for ZooKeeper and Kafka in the learner's own directory.

use anyhow::{Context as _, Result};

use crate::lesson::Fact;
use crate::lesson::{Context, Info, Lesson, Needs, Undo};
use crate::stack::compose::Compose;
use crate::stack::compose_file::{self, Service};
use crate::stack::config::HostPorts;

mod kraft;
mod rules;

use crate::stack::track::Track;

/// What `lesson N` says and the chapter includes: written once, in markdown.
pub const TEXT: &str = include_str!("l01_compose_file.md");
/// The same lesson on the KRaft track (`lesson --track kraft`).
pub const KRAFT_TEXT: &str = include_str!("l01_compose_file.kraft.md");

pub struct ComposeFile;

impl Lesson for ComposeFile {
    const INFO: Info = Info {
        id: 1,
        slug: "compose-file",
        title: n!("Write the compose file"),
        hint: n!("\
Run `lesson 1 --run` to write the reference file into this directory, then compare it with yours.
What people get wrong most: KAFKA_ZOOKEEPER_CONNECT=zookeeper:2181 (the service name, not localhost);
KAFKA_ADVERTISED_LISTENERS must give programs on your machine an address they can reach (localhost and
the published port); listeners with names of their own (INTERNAL, EXTERNAL) need
KAFKA_LISTENER_SECURITY_PROTOCOL_MAP and KAFKA_INTER_BROKER_LISTENER_NAME, or the broker refuses to
start; and with one broker, KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR must be 1. `lesson check 1` names each."),
        needs: Needs::NOTHING,
        requires: &[],
    };

    fn kraft_hint(&self) -> Option<&'static str> {
        Some(n!("\
Run `lesson 1 --run` to write the reference file into this directory, then compare it with yours.
What people get wrong most: a CLUSTER_ID that is not Kafka's form (22 characters; make one with
`docker run --rm apache/kafka:4.4.0 /opt/kafka/bin/kafka-storage.sh random-uuid`), or different on the two
services; KAFKA_CONTROLLER_QUORUM_VOTERS that does not name the controller by its service name and the port
of its CONTROLLER listener (9@controller:9093); the broker without CONTROLLER:PLAINTEXT in its
KAFKA_LISTENER_SECURITY_PROTOCOL_MAP; and KAFKA_ADVERTISED_LISTENERS, which must give programs on your
machine localhost and the published port. `lesson check 1` names each."))
    }

    fn explain(&self, ctx: &Context) -> String {
        crate::ui::markdown::lesson(ctx.config.track.text(TEXT, KRAFT_TEXT), &[])
    }

    async fn run(&self, ctx: &Context) -> Result<String> {
        let path = ctx.config.compose_file();
        let reference = ctx.config.track.reference();
        std::fs::create_dir_all(&ctx.config.dir)
            .with_context(|| t!("Failed to create {path}", path = ctx.config.dir.display()))?;
        if Track::remembered(&ctx.config.dir).ok() != Some(ctx.config.track) {
            ctx.config.track.remember(&ctx.config.dir)?;
        }
        match std::fs::read_to_string(&path) {
            Ok(existing) if existing == reference => {
                Ok(t!("{path} is already the reference file.", path = path.display()))
            }
            Ok(_) => {
                let beside = ctx.config.dir.join("docker-compose.reference.yml");
                std::fs::write(&beside, reference)
                    .with_context(|| t!("Failed to write {path}", path = beside.display()))?;
                Ok(t!(
                    "{path} exists and is yours, so it was left as it is.\nThe reference file is now beside it: {reference}\n\
                     Compare them (diff docker-compose.yml docker-compose.reference.yml) and copy what you need.",
                    path = path.display(),
                    reference = beside.display()
                ))
            }
            Err(_) => {
                std::fs::write(&path, reference)
                    .with_context(|| t!("Failed to write {path}", path = path.display()))?;
                Ok(t!(
                    "Wrote {path} ({lines} lines).",
                    path = path.display(),
                    lines = reference.lines().count()
                ))
            }
        }
    }

    fn undo_plan(&self, ctx: &Context) -> Option<Undo> {
        let path = ctx.config.compose_file();
        path.exists().then(|| Undo {
            does: t!("moves {path} aside (nothing is deleted)", path = path.display()),
            loses: None,
        })
    }

    async fn undo(&self, ctx: &Context) -> Result<String> {
        let path = ctx.config.compose_file();
        let aside = (0..)
            .map(|n| {
                path.with_extension(if n == 0 {
                    "yml.before-reset".into()
                } else {
                    format!("yml.before-reset.{n}")
                })
            })
            .find(|p| !p.exists())
            .unwrap_or_else(|| path.with_extension("yml.before-reset"));
        std::fs::rename(&path, &aside)
            .with_context(|| t!("Failed to move {path} aside", path = path.display()))?;
        Ok(t!("moved {path} to {aside}", path = path.display(), aside = aside.display()))
    }

    async fn check(&self, ctx: &Context) -> Result<Vec<Fact>> {
        let path = ctx.config.compose_file();
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(vec![Fact::fail(
                t!("{path} exists", path = path.display()),
                t!("Write it as lesson 1 explains, or let the lesson write the reference file: lesson 1 --run"),
            )]);
        };
        let mut facts = vec![Fact::pass(t!("{path} exists", path = path.display()))];
        if let Err(err) = compose_file::check_yaml(&text) {
            facts.push(Fact::fail(t!("it is valid YAML"), t!("Fix the YAML: {err}", err)));
            return Ok(facts);
        }
        facts.push(Fact::pass(t!("it is valid YAML")));
        let compose = Compose::for_config(&ctx.config).await?;
        let rendered = match compose.config().await? {
            Ok(rendered) => rendered,
            Err(complaint) => {
                facts.push(Fact::fail(t!("compose accepts it (compose config)"), complaint));
                return Ok(facts);
            }
        };
        facts.push(Fact::pass(t!("compose accepts it (compose config)")));
        facts.extend(facts_of_rendered_on(ctx.config.track, &rendered, ctx.config.host_ports())?);
        Ok(facts)
    }
}

/// Lesson 1's rules applied to a compose file as `compose config` renders it (variables filled in).
/// `ports` are the host ports the lessons connect to (KAFKA_PORT, ZOOKEEPER_PORT).
pub fn facts_of_rendered(rendered: &str, ports: HostPorts) -> Result<Vec<Fact>> {
    facts_of_rendered_on(Track::ZooKeeper, rendered, ports)
}

/// Lesson 1's rules of `track`, applied to a rendered compose file.
pub fn facts_of_rendered_on(track: Track, rendered: &str, ports: HostPorts) -> Result<Vec<Fact>> {
    if track == Track::KRaft {
        return facts_of_kraft(rendered, ports);
    }
    let services = compose_file::parse_rendered(rendered)?;
    let (Some(zookeeper), Some(kafka)) = (services.get("zookeeper"), services.get("kafka")) else {
        return Ok(vec![Fact::fail(
            t!("services `zookeeper` and `kafka` are defined"),
            t!("Name the two services exactly zookeeper and kafka; the lessons find them by these names."),
        )]);
    };
    let mut facts = vec![Fact::pass(t!("services `zookeeper` and `kafka` are defined"))];
    facts.extend(rules::images(zookeeper, kafka));
    facts.extend(rules::wiring(zookeeper, kafka, ports));
    facts.extend(rules::health(
        crate::stack::reference::REFERENCE,
        [("zookeeper", zookeeper), ("kafka", kafka)],
    ));
    facts.extend(rules::safety(&services.values().collect::<Vec<&Service>>()));
    Ok(facts)
}

fn facts_of_kraft(rendered: &str, ports: HostPorts) -> Result<Vec<Fact>> {
    let services = compose_file::parse_rendered(rendered)?;
    let (Some(controller), Some(kafka)) = (services.get("controller"), services.get("kafka"))
    else {
        let hint = if services.contains_key("zookeeper") {
            t!("This is a ZooKeeper track's file, and this folder is on the KRaft track. Write the KRaft one: \
                move yours aside (mv docker-compose.yml docker-compose.zookeeper.yml), then lesson 1 --run; or go \
                back: lesson --track zookeeper 1")
        } else {
            t!("Name the two services exactly controller and kafka; the lessons find them by these names.")
        };
        return Ok(vec![Fact::fail(t!("services `controller` and `kafka` are defined"), hint)]);
    };
    let mut facts = vec![Fact::pass(t!("services `controller` and `kafka` are defined"))];
    facts.extend(kraft::images(controller, kafka));
    facts.extend(kraft::quorum(controller, kafka));
    facts.extend(kraft::broker(kafka, ports));
    facts.extend(rules::health(
        crate::stack::reference::KRAFT,
        [("controller", controller), ("kafka", kafka)],
    ));
    facts.extend(rules::safety(&services.values().collect::<Vec<&Service>>()));
    Ok(facts)
}
