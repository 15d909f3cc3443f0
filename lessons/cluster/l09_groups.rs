//! Lesson 9: consumers in one group share a topic's partitions; one leaves and the group hands its partitions
//! over; lag grows and drains; the group's offsets are reset to read everything again.

use anyhow::{bail, Result};

use super::group::{Reader, GROUP, PARTITIONS, TOPIC};
use super::list;
use super::stack::{self, Cluster};
use crate::kafka::admin::{self, Created};
use crate::kafka::inspect::{self, Group, Member};
use crate::lesson::{Context, Fact, Info, Lesson, Needs, Undo};
use crate::stack::track::Track;

pub const TEXT: &str = include_str!("l09_groups.md");

const BATCH: usize = 600;
/// Records a second each of the lesson's own readers handles: quick, yet slower than the brokers serve them.
const RUN_RATE: u32 = 200;

/// `kafka-consumer-groups --reset-offsets --to-earliest`, as the lesson runs it and the book shows it (the
/// tool as the track's image names it).
pub fn reset_command(track: Track) -> Vec<String> {
    let words = [
        "--bootstrap-server",
        "kafka-1:29092",
        "--group",
        GROUP,
        "--topic",
        TOPIC,
        "--reset-offsets",
        "--to-earliest",
        "--execute",
    ];
    std::iter::once(track.tool("kafka-consumer-groups"))
        .chain(words.into_iter().map(str::to_string))
        .collect()
}

/// The reset's table, a row per partition in order. Kafka 3.9's tool prints its rows run together on one line.
fn reset_table(printed: &str) -> String {
    let words: Vec<&str> = printed.split_whitespace().collect();
    let Some(start) = words.iter().position(|w| *w == "NEW-OFFSET") else {
        return printed.trim().to_string();
    };
    let mut rows: Vec<&[&str]> = words[start + 1..].chunks(4).filter(|r| r.len() == 4).collect();
    rows.sort_by_key(|r| r[2].parse::<i32>().unwrap_or(i32::MAX));
    std::iter::once(&["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"][..])
        .chain(rows)
        .map(|r| format!("{:<18} {:<14} {:<10} {}", r[0], r[1], r[2], r[3]))
        .collect::<Vec<_>>()
        .join("\n")
}

pub struct Groups;

impl Lesson for Groups {
    const INFO: Info = Info {
        id: 9,
        slug: "groups",
        title: n!("Share a topic between the consumers of a group"),
        hint: n!("\
Check 9 looks at the group while it reads: in two terminals in the cluster/ folder, run
`lesson cluster consume`, and leave both running. The topic must hold records the group has read to the
end: produce some (kafka-producer-perf-test, as the chapter shows) and wait until
`kafka-consumer-groups --describe --group workshop-readers` shows LAG 0 on every partition."),
        needs: Needs { cluster: true, any_kafka: true, ..Needs::NOTHING },
        requires: &[],
    };

    fn kraft_hint(&self) -> Option<&'static str> {
        Some(n!("\
Check 9 looks at the group while it reads: in two terminals in the cluster/ folder, run
`lesson cluster consume`, and leave both running. The topic must hold records the group has read to the
end: produce some (/opt/kafka/bin/kafka-producer-perf-test.sh, as the chapter shows) and wait until
`/opt/kafka/bin/kafka-consumer-groups.sh --describe --group workshop-readers` shows LAG 0 on every
partition."))
    }

    fn explain(&self, ctx: &Context) -> String {
        let tools = ["kafka-topics", "kafka-producer-perf-test", "kafka-consumer-groups"];
        crate::ui::markdown::lesson(TEXT, &ctx.config.track.exec_values("kafka-1", &tools))
    }

    async fn run(&self, ctx: &Context) -> Result<String> {
        let cluster = cluster(ctx).await?;
        let bootstrap = bootstrap(ctx, cluster.as_ref());
        let step = |line: String| crate::ui::progress::print(&line);
        if let Some(cluster) = &cluster {
            cluster.start_and_say(&step).await?;
        }
        // Just started, the group's coordinator may still be loading its offsets topic: asked again until it answers.
        let answers = t!("the coordinator of group {group} to answer", group = GROUP);
        let now = poll(&answers, || async { group(&bootstrap).await }, |_| true).await?;
        if !now.members.is_empty() {
            bail!(t!(
                "Group {group} has {count} member(s) reading now ({who}): the lesson shows the group with readers of \
                 its own. Stop yours first (Ctrl-C where they run), then run the lesson again. Readers that died without \
                 leaving (a lesson 9 --run interrupted a moment ago) are dropped from the group 10 s later.",
                group = GROUP,
                count = now.members.len(),
                who = now.members.iter().map(|m| m.client_id.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        // Three replicas on lesson 8's cluster, started whole above (a broker still joining would not count in
        // its metadata yet); as many as a profile's Kafka has brokers, up to three.
        let replicas = match &cluster {
            Some(_) => 3,
            None => {
                let brokers =
                    admin::brokers(&bootstrap, std::time::Duration::from_secs(10)).await?;
                brokers.len().clamp(1, 3) as i32
            }
        };
        let created = create_topic(&bootstrap, replicas).await?;
        let led = t!("each partition of {topic} to have a leader", topic = TOPIC);
        let partitions = poll(
            &led,
            || async { Ok(inspect::topic(&bootstrap, TOPIC).await?.unwrap_or_default()) },
            |p: &Vec<inspect::PartitionInfo>| !p.is_empty() && p.iter().all(|p| p.leader >= 0),
        )
        .await?;
        if partitions.len() != PARTITIONS as usize {
            bail!(t!(
                "Topic {topic} is there with {count} partitions; the lesson needs {wanted}. To start over with the \
                 right topic: {reset}, then {again}.",
                reset = ctx.options.command("reset 9", Needs::NOTHING),
                again = ctx.options.command("9 --run", Needs::NOTHING),
                topic = TOPIC,
                count = partitions.len(),
                wanted = PARTITIONS
            ));
        }
        step(match created {
            Created::Now if replicas == 1 => t!(
                "Created topic {topic}: {count} partitions, one replica of each (this Kafka has one broker).",
                topic = TOPIC,
                count = PARTITIONS
            ),
            Created::Now => t!(
                "Created topic {topic}: {count} partitions, {replicas} replicas of each.",
                topic = TOPIC,
                count = PARTITIONS,
                replicas
            ),
            Created::AlreadyThere => t!("Topic {topic} was already there.", topic = TOPIC),
        });

        let values: Vec<String> = (0..BATCH).map(|i| format!("event {i}")).collect();
        let keys: Vec<String> = (0..BATCH).map(|i| format!("key-{}", i % 60)).collect();
        let records: Vec<(Option<&str>, &str)> =
            keys.iter().zip(&values).map(|(k, v)| (Some(k.as_str()), v.as_str())).collect();
        crate::kafka::records::produce(&bootstrap, TOPIC, &records).await?;
        step(t!(
            "Sent {count} records to {topic}. Group {group} has not read them yet: its lag is {lag}.",
            count = BATCH,
            topic = TOPIC,
            group = GROUP,
            lag = lag(&bootstrap).await?
        ));

        let first = Reader::start(&bootstrap, "reader-1", RUN_RATE, None)?;
        let g = until_members(&bootstrap, 1).await?;
        step(t!("Started reader-1: the group gave it every partition.").to_string());
        step(assignment(&g.members));
        let second = Reader::start(&bootstrap, "reader-2", RUN_RATE, None)?;
        let third = Reader::start(&bootstrap, "reader-3", RUN_RATE, None)?;
        let g = until_members(&bootstrap, 3).await?;
        step(t!("Started reader-2 and reader-3: the group rebalanced and split the partitions between the three.").to_string());
        step(assignment(&g.members));
        until_lag(&bootstrap, 0).await?;
        step(t!("Between them they read every record: lag 0 on every partition.").to_string());

        let leaving = partitions_of(&g.members, "reader-3");
        third.stop().await?;
        let g = until_members(&bootstrap, 2).await?;
        step(t!(
            "Stopped reader-3: it left the group, which rebalanced and handed its partitions {partitions} over.",
            partitions = list(&leaving)
        ));
        step(assignment(&g.members));
        first.stop().await?;
        second.stop().await?;
        until_members(&bootstrap, 0).await?;
        step(t!("Stopped reader-1 and reader-2: the group is empty, and the offsets it committed stay.").to_string());

        let reset = match &cluster {
            Some(cluster) => {
                let command = reset_command(cluster.track);
                let words: Vec<&str> = command.iter().map(String::as_str).collect();
                let reset = cluster.exec(&stack::service(1), &words).await?;
                step(format!(
                    "$ cd {} && docker compose exec kafka-1 {}\n{}",
                    stack::FOLDER,
                    command.join(" "),
                    reset_table(&reset)
                ));
                reset
            }
            None => {
                let reset = reset_to_earliest(&bootstrap).await?;
                step(t!(
                    "rdkafka committed the group's offsets at the start of each partition, as kafka-consumer-groups \
                     --reset-offsets --to-earliest does (no container to run it in):"
                )
                .to_string()
                    + "\n"
                    + &reset_table(&reset));
                reset
            }
        };
        let total = lag(&bootstrap).await?;
        // The tool can print an error and still exit 0: the group's lag says whether the offsets moved.
        if total == 0 {
            bail!(t!(
                "The reset did not move the group's offsets back (its lag is still 0). The tool said:\n{said}\n\
                 Run the lesson again: {again}",
                again = ctx.options.command("9 --run", Needs::NOTHING),
                said = reset.trim_end()
            ));
        }
        step(t!(
            "The group's lag is {lag} again: every record of the topic is to be read once more.",
            lag = total
        ));
        let first = Reader::start(&bootstrap, "reader-1", RUN_RATE, None)?;
        let second = Reader::start(&bootstrap, "reader-2", RUN_RATE, None)?;
        until_lag(&bootstrap, 0).await?;
        first.stop().await?;
        second.stop().await?;
        step(t!("reader-1 and reader-2 read the topic again from its start: lag 0.").to_string());
        Ok(match ctx.profile() {
            Some(profile) => t!(
                "Check 9 looks at the group while it reads: in two terminals, run `lesson --profile {name} cluster \
                 consume` and leave both running.",
                name = profile.name
            ),
            None => t!(
                "Check 9 looks at the group while it reads: in two terminals in {folder}/, run `lesson cluster \
                 consume` and leave both running.",
                folder = stack::FOLDER
            ),
        })
    }

    fn undo_plan(&self, ctx: &Context) -> Option<Undo> {
        if let Some(profile) = ctx.profile() {
            return Some(Undo {
                does: t!(
                    "deletes topic {topic} and group {group} from the Kafka of profile `{name}`",
                    topic = TOPIC,
                    group = GROUP,
                    name = profile.name
                ),
                loses: Some(t!("the records of {topic}", topic = TOPIC)),
            });
        }
        let dir = stack::folder(&ctx.config);
        dir.join(crate::stack::config::COMPOSE_FILE).exists().then(|| Undo {
            does: t!(
                "deletes topic {topic} and group {group} from the cluster of project `{project}`",
                topic = TOPIC,
                group = GROUP,
                project = stack::project(&ctx.config)
            ),
            loses: Some(t!("the records of {topic}", topic = TOPIC)),
        })
    }

    async fn undo(&self, ctx: &Context) -> Result<String> {
        let cluster = cluster(ctx).await?;
        if let Some(cluster) = &cluster {
            if cluster.running().await?.is_empty() {
                return Ok(
                    t!("the cluster does not run: nothing of lesson 9 to delete").to_string()
                );
            }
        }
        let bootstrap = bootstrap(ctx, cluster.as_ref());
        admin::delete_groups(&bootstrap, &[GROUP]).await?;
        admin::delete_topic(&bootstrap, TOPIC).await?;
        Ok(t!("deleted topic {topic} and group {group}", topic = TOPIC, group = GROUP))
    }

    async fn check(&self, ctx: &Context) -> Result<Vec<Fact>> {
        let cluster = cluster(ctx).await?;
        let start = ctx.options.command("9 --run", Needs::NOTHING);
        let mut facts = Vec::new();
        if let Some(cluster) = &cluster {
            let (runs, answers) = cluster.runs(&start).await?;
            facts = runs;
            if !answers {
                return Ok(facts);
            }
        }
        let bootstrap = bootstrap(ctx, cluster.as_ref());
        // Where the readers run: the cluster's folder, or any terminal for a profile's Kafka.
        let dir = match &cluster {
            Some(cluster) => cluster.dir.display().to_string(),
            None => t!("the folder of profiles.yml, its password exported").to_string(),
        };
        let consume = ctx.options.command("cluster consume", Needs::NOTHING);
        let Some(partitions) = inspect::topic(&bootstrap, TOPIC).await? else {
            facts.push(Fact::fail(
                t!("topic {topic} exists", topic = TOPIC),
                match &cluster {
                    Some(cluster) => t!(
                        "Create it: {start}, or in {dir}: docker compose exec kafka-1 {tool} --bootstrap-server \
                         kafka-1:29092 --create --topic {topic} --partitions {count} --replication-factor 3",
                        start,
                        dir,
                        tool = cluster.track.tool("kafka-topics"),
                        topic = TOPIC,
                        count = PARTITIONS
                    ),
                    None => t!("Create it: {start}", start),
                },
            ));
            return Ok(facts);
        };
        let ids: Vec<i32> = partitions.iter().map(|p| p.id).collect();
        let asked = inspect::inspect_group(&bootstrap, Some(GROUP), move |k| {
            Ok((k.group(GROUP)?, k.watermarks(TOPIC, &ids)?, k.lag(TOPIC, &ids)?))
        });
        let (group, marks, lags) = asked.await?;
        facts.push(Fact::check(
            group.members.len() >= 2,
            t!("group {group} has at least two members reading now", group = GROUP),
            match group.members.len() {
                0 => t!("It has none. In two terminals in {dir}: {consume}", dir, consume),
                _ => t!(
                    "It has one. Start a second reader, in another terminal in {dir}: {consume}",
                    dir,
                    consume
                ),
            },
        ));
        let unassigned = split(&group, partitions.len() as i32);
        // With no member, no partition has one: that fact is the one above.
        facts.extend((!group.members.is_empty()).then(|| Fact::check(
            unassigned.is_empty() && group.state == "Stable",
            t!(
                "the members share the partitions of {topic}, each partition to one member:\n{assignment}",
                topic = TOPIC,
                assignment = assignment(&group.members)
            ),
            t!(
                "The group is {state}; partitions {unassigned} are not held by exactly one member. While members join or \
                 leave, the group rebalances for a few seconds: check again.",
                state = group.state,
                unassigned = list(&unassigned)
            ),
        )));
        let total: i64 = marks.values().map(|(low, high)| high - low).sum();
        let behind: Vec<String> =
            lags.iter().filter(|(_, &lag)| lag > 0).map(|(p, lag)| format!("{p}: {lag}")).collect();
        facts.push(Fact::check(
            total > 0 && behind.is_empty(),
            t!(
                "the group committed offsets at the end of every partition: lag 0 on all {count}",
                count = partitions.len()
            ),
            if total == 0 {
                match &cluster {
                    Some(cluster) => t!(
                        "{topic} holds no record. Produce some, in {dir}: docker compose exec kafka-1 \
                         {tool} --topic {topic} --num-records 3000 --record-size 100 --throughput 200 \
                         --producer-props bootstrap.servers=kafka-1:29092",
                        topic = TOPIC,
                        dir,
                        tool = cluster.track.tool("kafka-producer-perf-test")
                    ),
                    None => t!("{topic} holds no record. Produce some: {start}", topic = TOPIC, start),
                }
            } else if group.members.is_empty() {
                t!(
                    "Lag by partition: {behind}. No reader runs to read them. In two terminals in {dir}: {consume}",
                    behind = behind.join(", "),
                    dir,
                    consume
                )
            } else {
                t!(
                    "Lag by partition: {behind}. The readers are catching up (each handles 20 records a second unless \
                     started with --rate): check again when {tool} --describe shows LAG 0.",
                    behind = behind.join(", "),
                    tool = ctx.config.track.tool("kafka-consumer-groups")
                )
            },
        ));
        Ok(facts)
    }
}

/// The partitions of `TOPIC` that no member has; those held twice count too.
fn split(group: &Group, partitions: i32) -> Vec<i32> {
    (0..partitions)
        .filter(|p| {
            let holders = group
                .members
                .iter()
                .filter(|m| m.partitions.iter().any(|(t, q)| t == TOPIC && q == p))
                .count();
            holders != 1
        })
        .collect()
}

fn partitions_of(members: &[Member], client: &str) -> Vec<i32> {
    members
        .iter()
        .filter(|m| m.client_id == client)
        .flat_map(|m| m.partitions.iter().filter(|(t, _)| t == TOPIC).map(|(_, p)| *p))
        .collect()
}

/// `  reader-1: partitions 0, 1, 2`, one line per member, by name.
pub fn assignment(members: &[Member]) -> String {
    let mut lines: Vec<String> = members
        .iter()
        .map(|m| {
            let mut ids = partitions_of(std::slice::from_ref(m), &m.client_id);
            ids.sort();
            format!(
                "  {}",
                t!(
                    "{client}: partitions {partitions}",
                    client = m.client_id,
                    partitions = list(&ids)
                )
            )
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

/// Lesson 8's cluster, unless the lesson works through a connection profile.
async fn cluster(ctx: &Context) -> Result<Option<Cluster>> {
    match ctx.profile() {
        Some(_) => Ok(None),
        None => Ok(Some(Cluster::connect(&ctx.config).await?)),
    }
}

fn bootstrap(ctx: &Context, cluster: Option<&Cluster>) -> String {
    cluster.map_or_else(|| ctx.config.bootstrap(), Cluster::bootstrap)
}

/// `kafka-consumer-groups --reset-offsets --to-earliest --execute` through rdkafka: the empty group's offsets
/// committed at each partition's start. What the tool prints, for `reset_table`.
async fn reset_to_earliest(bootstrap: &str) -> Result<String> {
    let ids: Vec<i32> = (0..PARTITIONS).collect();
    let marks = inspect::watermarks(bootstrap, TOPIC, &ids).await?;
    let bootstrap = bootstrap.to_string();
    let marks2 = marks.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        use anyhow::Context as _;
        use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
        let consumer: BaseConsumer = crate::kafka::config::consumer(&bootstrap, GROUP)
            .create()
            .context(t!("Failed to create a consumer"))?;
        let mut offsets = rdkafka::TopicPartitionList::new();
        for (partition, (low, _)) in &marks2 {
            offsets.add_partition_offset(TOPIC, *partition, rdkafka::Offset::Offset(*low))?;
        }
        consumer.commit(&offsets, CommitMode::Sync)?;
        Ok(())
    })
    .await??;
    let rows: Vec<String> = marks
        .iter()
        .map(|(partition, (low, _))| format!("{GROUP} {TOPIC} {partition} {low}"))
        .collect();
    Ok(format!("GROUP TOPIC PARTITION NEW-OFFSET {}", rows.join(" ")))
}

/// Creates the topic, or finds it there. A topic deleted a moment ago (`lesson reset 9`, or `kafka-topics
/// --delete`) is still "there" to the controller until every broker has removed it, and then it is gone: so
/// "already there" counts only once the topic is seen; until then the topic is asked for again.
async fn create_topic(bootstrap: &str, replicas: i32) -> Result<Created> {
    let start = std::time::Instant::now();
    loop {
        let created = admin::create_topic(bootstrap, TOPIC, PARTITIONS, replicas).await?;
        if created == Created::Now || inspect::topic(bootstrap, TOPIC).await?.is_some() {
            return Ok(created);
        }
        if start.elapsed() > crate::stack::ready_timeout() {
            bail!(t!(
                "Kafka says topic {topic} exists, yet no broker lists it: it is still being deleted after {seconds} s. \
                 Read the controller's log: docker compose logs kafka-1 kafka-2 kafka-3 (in the cluster folder)",
                topic = TOPIC,
                seconds = start.elapsed().as_secs()
            ));
        }
        let what = t!("topic {topic} to be deleted before it is made again", topic = TOPIC);
        crate::ui::progress::while_running(
            &what,
            tokio::time::sleep(std::time::Duration::from_millis(500)),
        )
        .await;
    }
}

async fn group(bootstrap: &str) -> Result<Group> {
    inspect::inspect(bootstrap, |k| k.group(GROUP)).await
}

async fn lag(bootstrap: &str) -> Result<i64> {
    let ids: Vec<i32> = (0..PARTITIONS).collect();
    crate::kafka::inspect::unread(bootstrap, GROUP, TOPIC, &ids).await
}

/// Polls the group until it is stable with `count` members, every partition held by one (or empty, for 0).
async fn until_members(bootstrap: &str, count: usize) -> Result<Group> {
    let what = t!("group {group} to settle with {count} member(s)", group = GROUP, count);
    let settled = |g: &Group| match count {
        0 => g.members.is_empty(),
        _ => g.state == "Stable" && g.members.len() == count && split(g, PARTITIONS).is_empty(),
    };
    poll(&what, || async { group(bootstrap).await }, settled).await
}

async fn until_lag(bootstrap: &str, wanted: i64) -> Result<i64> {
    let what = t!("group {group} to read to the end of every partition", group = GROUP);
    poll(&what, || async { lag(bootstrap).await }, |&lag| lag == wanted).await
}

/// Asks until `done` holds, a few times a second, saying what it waits for; gives up at the readiness deadline.
async fn poll<T: std::fmt::Debug, F, A>(what: &str, ask: A, done: impl Fn(&T) -> bool) -> Result<T>
where
    A: Fn() -> F,
    F: std::future::Future<Output = Result<T>>,
{
    let start = std::time::Instant::now();
    crate::ui::progress::while_running(what, async {
        loop {
            let now = match ask().await {
                Ok(now) => now,
                // A coordinator loading the group after a broker's restart, say: the deadline still holds.
                Err(err)
                    if crate::kafka::transient(&err)
                        && start.elapsed() < crate::stack::ready_timeout() =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    continue;
                }
                Err(err) => return Err(err),
            };
            if done(&now) {
                return Ok(now);
            }
            if start.elapsed() > crate::stack::ready_timeout() {
                bail!(t!(
                    "Gave up waiting for {what} after {seconds} s. Last seen: {last}",
                    what,
                    seconds = start.elapsed().as_secs(),
                    last = format!("{now:?}")
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_reset_table_gets_a_row_per_partition() {
        let printed = "\nGROUP                          TOPIC                          PARTITION  NEW-OFFSET     \
            workshop-readers               group-events                   5          0              \
            workshop-readers               group-events                   0          7              ";
        assert_eq!(
            super::reset_table(printed),
            "GROUP              TOPIC          PARTITION  NEW-OFFSET\n\
             workshop-readers   group-events   0          7\n\
             workshop-readers   group-events   5          0"
        );
    }
}
