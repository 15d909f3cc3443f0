//! Lesson 4: create a topic, with the Kafka tool in the container or with the Rust client.

use anyhow::{bail, Result};

use crate::kafka::admin::{self, Created};
use crate::kafka::inspect;
use crate::lesson::Fact;
use crate::lesson::{Context, Info, Lesson, Needs, Undo};

use super::common::{kafka_tool_ok, kafka_up, on_track, IN_NETWORK_BOOTSTRAP};
use crate::kafka::profile::Profile;
use crate::lesson::Options;
use crate::ui::markdown;

/// What `lesson N` says and the chapter includes: written once, in markdown.
pub const TEXT: &str = include_str!("l04_topic.md");
/// The same lesson on the KRaft track (`lesson --track kraft`).
pub const KRAFT_TEXT: &str = include_str!("l04_topic.kraft.md");

/// `kafka-topics --create` as the lesson runs it and the book shows it.
// ANCHOR: create_command
pub fn create_command(topic: &str, partitions: i32, replication: i32) -> Vec<String> {
    let (partitions, replication) = (partitions.to_string(), replication.to_string());
    ["kafka-topics", "--bootstrap-server", IN_NETWORK_BOOTSTRAP, "--create", "--if-not-exists"]
        .into_iter()
        .chain([
            "--topic",
            topic,
            "--partitions",
            &partitions,
            "--replication-factor",
            &replication,
        ])
        .map(str::to_string)
        .collect()
}
// ANCHOR_END: create_command

pub fn describe_command(topic: &str) -> Vec<String> {
    ["kafka-topics", "--bootstrap-server", IN_NETWORK_BOOTSTRAP, "--describe", "--topic", topic]
        .map(str::to_string)
        .to_vec()
}

pub struct Topic;

impl Lesson for Topic {
    const INFO: Info = Info {
        id: 4,
        slug: "topic",
        title: n!("Create a topic"),
        hint: n!("\
Since Kafka 3.0, kafka-topics talks to a broker (--bootstrap-server kafka:29092), never to ZooKeeper
(--zookeeper was removed). Inside the compose network the broker is kafka:29092; from your machine it is
localhost:9092. With one broker the replication factor can only be 1."),
        needs: Needs { topic: true, any_kafka: true, ..Needs::NOTHING },
        requires: &[2],
    };

    fn kraft_hint(&self) -> Option<&'static str> {
        Some(n!("\
Apache's image keeps the tools in /opt/kafka/bin: docker compose exec kafka /opt/kafka/bin/kafka-topics.sh
--bootstrap-server kafka:29092 … Inside the compose network the broker is kafka:29092; from your machine
it is localhost:9092. With one broker the replication factor can only be 1."))
    }

    fn explain(&self, ctx: &Context) -> String {
        let (o, written) = (&ctx.options, Options::default());
        let values = vec![
            (written.topic, o.topic.clone()),
            (
                format!("--partitions {}", written.partitions),
                format!("--partitions {}", o.partitions),
            ),
            (
                format!("--replication-factor {}", written.replication_factor),
                format!("--replication-factor {}", o.replication_factor),
            ),
        ];
        markdown::lesson(ctx.config.track.text(TEXT, KRAFT_TEXT), &values)
    }

    async fn run(&self, ctx: &Context) -> Result<String> {
        let o = &ctx.options;
        inspect::validate_topic_name(&o.topic)?;
        if o.partitions < 1 {
            bail!(t!(
                "A topic needs at least one partition (--partitions {partitions}): ask for 1 or more, e.g. --partitions 3",
                partitions = o.partitions
            ));
        }
        if let Some(profile) = ctx.profile() {
            return through_profile(o, profile).await;
        }
        let stack = ctx.stack().await?;
        stack.service("kafka").await?;
        replicas_fit(o, &stack.bootstrap()).await?;
        let mut out = String::new();
        if o.native {
            out += &t!(
                "Creating `{topic}` through the Admin API (rdkafka) at {bootstrap}",
                topic = o.topic,
                bootstrap = stack.bootstrap()
            );
            out += "\n";
            out += &match admin::create_topic(
                &stack.bootstrap(),
                &o.topic,
                o.partitions,
                o.replication_factor,
            )
            .await?
            {
                Created::Now => t!("Created topic {topic}.", topic = o.topic) + "\n",
                Created::AlreadyThere => {
                    t!("Topic {topic} was already there; it is left as it is.", topic = o.topic)
                        + "\n"
                }
            };
        } else {
            let create =
                on_track(stack, create_command(&o.topic, o.partitions, o.replication_factor));
            out += &format!("$ {}\n", create.join(" "));
            out += &kafka_tool_ok(stack, &create, None).await?;
        }
        let describe = on_track(stack, describe_command(&o.topic));
        out += &format!("\n$ {}\n", describe.join(" "));
        out += &kafka_tool_ok(stack, &describe, None).await?;
        Ok(out)
    }

    fn undo_plan(&self, ctx: &Context) -> Option<Undo> {
        let topic = &ctx.options.topic;
        Some(Undo {
            does: t!("deletes topic `{topic}`", topic),
            loses: Some(t!("topic `{topic}` and its messages", topic)),
        })
    }

    async fn undo(&self, ctx: &Context) -> Result<String> {
        let topic = &ctx.options.topic;
        inspect::validate_topic_name(topic)?;
        let Ok(bootstrap) = kafka_up(ctx).await? else {
            return Ok(t!("the stack is not running: no topic to delete").into());
        };
        Ok(match admin::delete_topic(&bootstrap, topic).await? {
            true => t!("deleted topic `{topic}`", topic),
            false => t!("there was no topic `{topic}`", topic),
        })
    }

    async fn check(&self, ctx: &Context) -> Result<Vec<Fact>> {
        let o = &ctx.options;
        inspect::validate_topic_name(&o.topic)?;
        let bootstrap = match kafka_up(ctx).await? {
            Ok(bootstrap) => bootstrap,
            Err(facts) => return Ok(facts),
        };
        let Some(partitions) = inspect::topic(&bootstrap, &o.topic).await? else {
            return Ok(vec![Fact::fail(
                t!("topic `{topic}` exists", topic = o.topic),
                t!(
                    "Create it: {command} (or the kafka-topics --create command of lesson 4)",
                    command = o.command("4 --run", Self::INFO.needs)
                ),
            )]);
        };
        let mut facts = vec![Fact::pass(t!("topic `{topic}` exists", topic = o.topic))];
        facts.push(Fact::check(
            partitions.len() as i32 == o.partitions,
            t!("it has {n} partitions (asked: {asked})", n = partitions.len(), asked = o.partitions),
            t!("Partitions can be added (kafka-topics --alter --partitions N) but never removed; or delete and recreate it"),
        ));
        let rf = partitions.iter().map(|p| p.replicas.len()).min().unwrap_or(0) as i32;
        facts.push(Fact::check(
            rf == o.replication_factor,
            t!(
                "each partition has {rf} replica(s) (asked: {asked})",
                rf,
                asked = o.replication_factor
            ),
            t!("The replication factor is set at creation; delete the topic and create it again"),
        ));
        let leaderless: Vec<i32> =
            partitions.iter().filter(|p| p.leader < 0).map(|p| p.id).collect();
        let all_led = leaderless.is_empty();
        let leaderless = format!("{leaderless:?}");
        let fix = match ctx.profile() {
            Some(profile) => t!(
                "Partitions {leaderless} have no leader (LEADER_NOT_AVAILABLE): the brokers that keep them are \
                 down or restarting. Look at the Kafka of profile `{name}` (its console or status page), then: {check}",
                leaderless,
                name = profile.name,
                check = o.command("check 4", Self::INFO.needs)
            ),
            None => t!(
                "Partitions {leaderless} have no leader (LEADER_NOT_AVAILABLE): is the broker up? lesson check 3",
                leaderless
            ),
        };
        facts.push(Fact::check(all_led, t!("every partition has a leader"), fix));
        Ok(facts)
    }
}

/// Each replica is kept by another broker: a factor the cluster can hold, or what to ask for.
async fn replicas_fit(o: &Options, bootstrap: &str) -> Result<()> {
    let brokers = admin::brokers(bootstrap, std::time::Duration::from_secs(10)).await?.len() as i32;
    if o.replication_factor > brokers || o.replication_factor < 1 {
        let ask = if brokers == 1 { "1".to_string() } else { t!("from 1 to {brokers}", brokers) };
        bail!(t!(
            "Each of a topic's replicas (--replication-factor {asked}) is kept by another broker, and this cluster \
             has {brokers}.\nAsk for --replication-factor {ask}. A topic replicated on three brokers is lesson 8's, \
             on a cluster of its own: lesson 8",
            asked = o.replication_factor,
            brokers,
            ask
        ));
    }
    Ok(())
}

/// Through a connection profile there is no container to run Kafka's tools in: the Admin API creates the
/// topic, and the topic is described as `kafka-topics --describe` would.
async fn through_profile(o: &Options, profile: &Profile) -> Result<String> {
    let bootstrap = &profile.connection.bootstrap;
    replicas_fit(o, bootstrap).await?;
    let mut out = t!(
        "Creating `{topic}` through the Admin API (rdkafka) at {bootstrap}, profile `{name}`",
        topic = o.topic,
        bootstrap,
        name = profile.name
    ) + "\n";
    out += &match admin::create_topic(bootstrap, &o.topic, o.partitions, o.replication_factor)
        .await?
    {
        Created::Now => t!("Created topic {topic}.", topic = o.topic),
        Created::AlreadyThere => {
            t!("Topic {topic} was already there; it is left as it is.", topic = o.topic)
        }
    };
    let partitions = inspect::topic(bootstrap, &o.topic).await?.unwrap_or_default();
    Ok(out + "\n\n" + &describe(&o.topic, &partitions))
}

/// A topic's partitions in the layout of `kafka-topics --describe`.
fn describe(topic: &str, partitions: &[inspect::PartitionInfo]) -> String {
    let ids = |ids: &[i32]| ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    let factor = partitions.first().map_or(0, |p| p.replicas.len());
    let mut text = format!(
        "Topic: {topic}\tPartitionCount: {}\tReplicationFactor: {factor}\n",
        partitions.len()
    );
    for p in partitions {
        text += &format!(
            "\tTopic: {topic}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}\n",
            p.id,
            p.leader,
            ids(&p.replicas),
            ids(&p.isr)
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::track::Track;

    #[test]
    fn each_tracks_text_shows_the_commands_the_lesson_runs() {
        let o = Options::default();
        for (track, text) in [(Track::ZooKeeper, TEXT), (Track::KRaft, KRAFT_TEXT)] {
            let commands = markdown::commands(text);
            for mut command in [
                create_command(&o.topic, o.partitions, o.replication_factor),
                describe_command(&o.topic),
            ] {
                command[0] = track.tool(&command[0]);
                let typed = format!("docker compose exec kafka {}", command.join(" "));
                assert!(
                    commands.contains(&typed),
                    "{typed}\nis not among the commands of the text: {commands:#?}"
                );
            }
        }
    }
}
