//! Lesson 5: produce messages and consume them from the beginning, with the console tools and with rdkafka.

use anyhow::Result;

use crate::kafka::admin;
use crate::kafka::inspect;
use crate::kafka::records::{self, Record};
use crate::lesson::Fact;
use crate::lesson::{Context, Info, Lesson, Needs, Undo};
use crate::ui::progress::while_running;

use crate::lesson::Options;
use crate::ui::markdown;

use super::common::{compose_hint, kafka_tool_ok, kafka_up, on_track, IN_NETWORK_BOOTSTRAP};

/// What the console producer sends: `key:value`, one message per line.
pub const MESSAGES: &str =
    "alice:signed up\nbob:signed up\nalice:added a book to the cart\nalice:checked out\n";

/// What `lesson N` says and the chapter includes: written once, in markdown.
pub const TEXT: &str = include_str!("l05_produce_consume.md");

// ANCHOR: console_commands
pub fn produce_command(topic: &str) -> Vec<String> {
    ["kafka-console-producer", "--bootstrap-server", IN_NETWORK_BOOTSTRAP, "--topic", topic]
        .into_iter()
        .chain(["--property", "parse.key=true", "--property", "key.separator=:"])
        .map(str::to_string)
        .collect()
}

pub fn consume_command(topic: &str, group: &str) -> Vec<String> {
    ["kafka-console-consumer", "--bootstrap-server", IN_NETWORK_BOOTSTRAP, "--topic", topic]
        .into_iter()
        .chain(["--group", group, "--from-beginning"])
        .chain([
            "--property",
            "print.key=true",
            "--property",
            "print.partition=true",
            "--property",
            "print.offset=true",
        ])
        .map(str::to_string)
        .collect()
}
// ANCHOR_END: console_commands

/// The consumer group of the Rust consumer in `lesson 5 --run`.
const RUST_GROUP: &str = "workshop-rust";

pub struct ProduceConsume;

impl Lesson for ProduceConsume {
    const INFO: Info = Info {
        id: 5,
        slug: "produce-consume",
        title: n!("Produce and consume messages"),
        hint: n!("\
The console producer sends one message per line you type (Ctrl-D ends it). The console consumer
shows only new messages unless you add --from-beginning. Give it --group to have Kafka remember how far
the group has read; run it again with the same group and it continues where it stopped."),
        needs: Needs { topic: true, group: true, any_kafka: true, ..Needs::NOTHING },
        requires: &[4],
    };

    fn explain(&self, ctx: &Context) -> String {
        let (o, written) = (&ctx.options, Options::default());
        let mut values = vec![(written.topic, o.topic.clone()), (written.group, o.group.clone())];
        values.extend(ctx.config.track.text_values());
        markdown::lesson(TEXT, &values)
    }

    async fn run(&self, ctx: &Context) -> Result<String> {
        let o = &ctx.options;
        inspect::validate_topic_name(&o.topic)?;
        let stack = match ctx.profile() {
            Some(_) => None,
            None => {
                let stack = ctx.stack().await?;
                // Not running says which lesson starts it, at once, instead of a client timing out.
                stack.service("kafka").await?;
                Some(stack)
            }
        };
        let bootstrap = ctx.config.bootstrap();
        let (topic, group) = (o.topic.clone(), o.group.clone());
        let found = inspect::inspect(&bootstrap, move |k| match k.partition_ids(&topic)? {
            Some(ids) => Ok(Some((ids, k.members(&group)?))),
            None => Ok(None),
        })
        .await?;
        let Some((ids, members)) = found else {
            let create = o.command("4 --run", Needs { topic: true, ..Needs::NOTHING });
            anyhow::bail!(t!(
                "There is no topic `{topic}` yet. Do lesson 4 first: {create}",
                topic = o.topic,
                create
            ));
        };
        if !members.is_empty() {
            anyhow::bail!(members_reading(
                &o.group,
                &members,
                &o.command("5 --run --group other-group", Needs::NOTHING)
            ));
        }
        let mut out = match stack {
            Some(stack) => {
                let produce = on_track(stack, produce_command(&o.topic));
                kafka_tool_ok(stack, &produce, Some(MESSAGES.as_bytes())).await?;
                format!("$ {} <<EOF\n{MESSAGES}EOF\n", produce.join(" "))
            }
            None => produce_lines(&bootstrap, &o.topic).await?,
        };

        let one = [(Some("rust"), "hello from rdkafka")];
        let placed = while_running(
            t!("Kafka to acknowledge rdkafka's message"),
            records::produce(&bootstrap, &o.topic, &one),
        )
        .await?;
        out += "\n";
        out += &t!(
            "rdkafka FutureProducer: key rust -> partition {partition} offset {offset}",
            partition = placed[0].0,
            offset = placed[0].1
        );
        out += "\n";

        // A group that read the topic before continues where it stopped (--from-beginning applies only to a
        // group without offsets), so each consumer is asked for exactly what its group has not read yet.
        let unread_by_console = inspect::unread(&bootstrap, &o.group, &o.topic, &ids).await?;
        match stack {
            Some(stack) => {
                let mut consume = on_track(stack, consume_command(&o.topic, &o.group));
                consume.extend([
                    "--max-messages".into(),
                    unread_by_console.to_string(),
                    "--timeout-ms".into(),
                    "30000".into(),
                ]);
                let printed = kafka_tool_ok(stack, &consume, None).await?;
                out += &format!("\n$ {}\n", consume.join(" "));
                out += &sorted_lines(&printed);
            }
            None => out += &read_as(&bootstrap, &o.topic, &o.group, unread_by_console).await?,
        }

        let unread_by_rust = inspect::unread(&bootstrap, RUST_GROUP, &o.topic, &ids).await?;
        out += &read_as(&bootstrap, &o.topic, RUST_GROUP, unread_by_rust).await?;
        Ok(out)
    }

    fn undo_plan(&self, ctx: &Context) -> Option<Undo> {
        let o = &ctx.options;
        Some(Undo {
            does: t!(
                "deletes the messages of topic `{topic}` (the topic stays) and the offsets of groups `{group}` and \
                 `{rust_group}`",
                topic = o.topic,
                group = o.group,
                rust_group = RUST_GROUP
            ),
            loses: Some(t!("the messages in topic `{topic}`", topic = o.topic)),
        })
    }

    async fn undo(&self, ctx: &Context) -> Result<String> {
        let o = &ctx.options;
        inspect::validate_topic_name(&o.topic)?;
        let Ok(bootstrap) = kafka_up(ctx).await? else {
            return Ok(t!("the stack is not running: nothing to delete").into());
        };
        let Some(ids) = inspect::partition_ids(&bootstrap, &o.topic).await? else {
            return Ok(t!("there is no topic `{topic}`", topic = o.topic));
        };
        admin::empty_topic(&bootstrap, &o.topic, &ids).await?;
        admin::delete_groups(&bootstrap, &[&o.group, RUST_GROUP]).await?;
        Ok(t!(
            "deleted the messages of `{topic}` and the groups `{group}` and `{rust_group}`",
            topic = o.topic,
            group = o.group,
            rust_group = RUST_GROUP
        ))
    }

    async fn check(&self, ctx: &Context) -> Result<Vec<Fact>> {
        let o = &ctx.options;
        inspect::validate_topic_name(&o.topic)?;
        let bootstrap = match kafka_up(ctx).await? {
            Ok(bootstrap) => bootstrap,
            Err(facts) => return Ok(facts),
        };
        // Partitions, offsets and messages over one client: a check answers at once.
        let topic = o.topic.clone();
        let found = inspect::inspect_group(&bootstrap, Some(&o.group), move |k| {
            let Some(ids) = k.partition_ids(&topic)? else { return Ok(None) };
            let marks = k.watermarks(&topic, &ids)?;
            if marks.values().all(|(low, high)| high <= low) {
                return Ok(Some((marks, Vec::new(), std::collections::BTreeMap::new())));
            }
            Ok(Some((marks, k.read_all(&topic, &ids)?, k.lag(&topic, &ids)?)))
        })
        .await?;
        let Some((marks, records, lag)) = found else {
            let create = o.command("4 --run", Needs { topic: true, ..Needs::NOTHING });
            return Ok(vec![Fact::fail(
                t!("topic `{topic}` exists", topic = o.topic),
                t!("Do lesson 4 first: {create}", create),
            )]);
        };
        let total: i64 = marks.values().map(|(low, high)| high - low).sum();
        let mut facts = vec![Fact::check(
            total > 0,
            t!("topic `{topic}` holds {total} message(s)", topic = o.topic, total),
            t!(
                "Produce some: the console producer of lesson 5, or {command}",
                command = o.command("5 --run", Self::INFO.needs)
            ),
        )];
        if total == 0 {
            return Ok(facts);
        }
        facts.push(Fact::check(
            records.len() as i64 == total,
            t!("all {n} are readable from the beginning", n = records.len()),
            t!("Some messages could not be read back; check the broker: lesson check 3"),
        ));
        facts.push(Fact::check(
            in_order_per_partition(&records),
            t!("each partition reads back in the order it was written"),
            t!("Offsets went backwards in a partition; this should never happen: report it with `lesson check 5` output"),
        ));
        let behind: Vec<i32> = lag.iter().filter(|(_, lag)| **lag > 0).map(|(p, _)| *p).collect();
        facts.push(Fact::check(
            behind.is_empty(),
            t!("consumer group `{group}` committed offsets up to the end of every partition", group = o.group),
            t!(
                "Partitions {behind} are not read to the end by the group: run the console consumer of lesson 5 \
                 with --topic {topic} --group {group} --from-beginning, then stop it with Ctrl-C",
                behind = format!("{behind:?}"),
                topic = o.topic,
                group = o.group
            ),
        ));
        Ok(facts)
    }
}

/// Through a connection profile there is no container for the console producer: rdkafka sends its lines,
/// each `key:value` as the console producer would.
async fn produce_lines(bootstrap: &str, topic: &str) -> Result<String> {
    let lines: Vec<(Option<&str>, &str)> = MESSAGES
        .lines()
        .map(|line| match line.split_once(':') {
            Some((key, value)) => (Some(key), value),
            None => (None, line),
        })
        .collect();
    let placed = while_running(
        t!("Kafka to acknowledge the console producer's lines"),
        records::produce(bootstrap, topic, &lines),
    )
    .await?;
    let mut out = t!(
        "rdkafka FutureProducer, the console producer's lines (key:value), no container to run it in:"
    )
    .to_string()
        + "\n";
    for ((key, value), (partition, offset)) in lines.iter().zip(placed) {
        out += &format!(
            "  {}:{value} -> partition {partition} offset {offset}\n",
            key.unwrap_or_default()
        );
    }
    Ok(out)
}

/// Reads what `group` has not read yet with rdkafka, and commits: the group then continues from there.
async fn read_as(bootstrap: &str, topic: &str, group: &str, unread: i64) -> Result<String> {
    let reading =
        t!("rdkafka's consumer to join group {group} and read {unread} message(s)", group, unread);
    let read =
        while_running(&reading, records::consume(bootstrap, topic, group, unread as usize)).await?;
    let mut out = "\n".to_string();
    out += &t!("rdkafka consumer, group {group}, from where the group stopped:", group);
    out += "\n";
    Ok(out + &table(read))
}

/// Another consumer in the group shares its partitions: the lesson's consumer would wait for messages it takes.
fn members_reading(group: &str, members: &[inspect::Member], other_group: &str) -> String {
    let who: Vec<String> = members
        .iter()
        .map(|m| t!("{client} from {host}", client = m.client_id, host = m.host))
        .collect();
    t!(
        "Consumer group `{group}` has {n} member(s) reading now ({who}): the lesson's consumer would share the \
         partitions with them and wait for messages they take.\n\
         Stop them first: Ctrl-C in the terminal that runs them. One started without a terminal (exec -T, a \
         script) or whose terminal is gone runs on inside the kafka container; {restart} stops it (your topics and \
         messages are kept).\n\
         Or read with a group of your own: {other_group}",
        group,
        n = members.len(),
        who = who.join(", "),
        restart = compose_hint("restart kafka"),
        other_group
    )
}

fn in_order_per_partition(records: &[Record]) -> bool {
    let mut last = std::collections::HashMap::new();
    records.iter().all(|r| last.insert(r.partition, r.offset).is_none_or(|prev| prev < r.offset))
}

/// The console consumer prints partitions interleaved as they arrive; sorted, the order within each shows.
fn sorted_lines(printed: &str) -> String {
    let mut lines: Vec<&str> = printed.lines().filter(|l| l.starts_with("Partition:")).collect();
    lines.sort_by_key(|l| (field(l, "Partition:"), field(l, "Offset:")));
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn field(line: &str, name: &str) -> i64 {
    line.split(name)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(-1)
}

fn table(mut records: Vec<Record>) -> String {
    records.sort_by_key(|r| (r.partition, r.offset));
    records
        .iter()
        .map(|r| {
            t!(
                "  partition {partition} offset {offset}  {key}: {value}",
                partition = r.partition,
                offset = r.offset,
                key = r.key.as_deref().unwrap_or("-"),
                value = r.value
            ) + "\n"
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(partition: i32, offset: i64) -> Record {
        Record { partition, offset, key: None, value: String::new() }
    }

    #[test]
    fn the_text_shows_the_commands_the_lesson_runs() {
        let (o, commands) = (Options::default(), markdown::commands(TEXT));
        for command in [produce_command(&o.topic), consume_command(&o.topic, &o.group)] {
            let typed = format!("docker compose exec kafka {}", command.join(" "));
            assert!(
                commands.contains(&typed),
                "{typed}\nis not among the commands of the text: {commands:#?}"
            );
        }
        assert!(
            TEXT.contains(&format!("```text\n{MESSAGES}```")),
            "the text shows other messages than MESSAGES"
        );
    }

    #[test]
    fn order_is_per_partition() {
        assert!(in_order_per_partition(&[record(0, 1), record(1, 0), record(0, 2)]));
        assert!(!in_order_per_partition(&[record(0, 2), record(0, 1)]));
    }

    #[test]
    fn console_output_is_sorted_by_partition_then_offset() {
        let printed = "Partition:1\tOffset:0\tbob\tsigned up\nPartition:0\tOffset:3\talice\tb\n\
                       Partition:0\tOffset:2\talice\ta\nProcessed a total of 3 messages\n";
        assert_eq!(
            sorted_lines(printed),
            "Partition:0\tOffset:2\talice\ta\nPartition:0\tOffset:3\talice\tb\nPartition:1\tOffset:0\tbob\tsigned up\n"
        );
        assert_eq!(field("Partition:7\tOffset:x", "Offset:"), -1);
    }
}
