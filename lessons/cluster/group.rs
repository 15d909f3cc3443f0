//! Lesson 9's consumer group: readers that join `workshop-readers`, share the partitions of `group-events`
//! between them, and leave.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::ClientContext;

use super::list;
use crate::kafka::config;

pub const GROUP: &str = "workshop-readers";
pub const TOPIC: &str = "group-events";
pub const PARTITIONS: i32 = 6;

type Say = Arc<dyn Fn(String) + Send + Sync>;

/// Says what the group does to this reader: librdkafka calls it inside `poll` when partitions change hands.
struct Rebalances {
    say: Option<Say>,
}

impl ClientContext for Rebalances {}

impl ConsumerContext for Rebalances {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let (Some(say), Rebalance::Revoke(given)) = (&self.say, rebalance) {
            if given.count() > 0 {
                say(t!(
                    "The group is rebalancing: this reader gave back partitions {partitions}.",
                    partitions = ids(given)
                ));
            }
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match (&self.say, rebalance) {
            (Some(say), Rebalance::Assign(taken)) if taken.count() == 0 => say(t!(
                "The group gave this reader no partition: it has more members than {topic} has partitions. This \
                 one waits in reserve.",
                topic = TOPIC
            )),
            (Some(say), Rebalance::Assign(taken)) => say(t!(
                "The group gave this reader partitions {partitions} of {topic}.",
                partitions = ids(taken),
                topic = TOPIC
            )),
            (Some(say), Rebalance::Error(err)) => say(t!("Rebalance failed: {err}", err)),
            _ => {}
        }
    }
}

fn ids(partitions: &TopicPartitionList) -> String {
    let mut ids: Vec<i32> = partitions.elements().iter().map(|e| e.partition()).collect();
    ids.sort();
    list(&ids)
}

/// One consumer of the group, reading on a thread of its own until stopped.
pub struct Reader {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Result<u64>>,
}

impl Reader {
    /// Joins the group as `name` and handles `rate` records a second (as if each took work); offsets are
    /// committed each second and when it stops. `say` gets what is worth printing: rebalances, and a line a
    /// second while records come.
    pub fn start(bootstrap: &str, name: &str, rate: u32, say: Option<Say>) -> Result<Reader> {
        let mut config = config::consumer(bootstrap, GROUP);
        config
            .set("client.id", name)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            // A reader that dies without leaving (kill -9, an interrupted `lesson 9 --run`) is given up on after
            // 10 s instead of the default 45.
            .set("session.timeout.ms", "10000");
        let consumer: BaseConsumer<Rebalances> = config
            .create_with_context(Rebalances { say: say.clone() })
            .context(t!("Failed to create a consumer"))?;
        consumer.subscribe(&[TOPIC]).context(t!("Failed to subscribe"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let pause = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let (mut read, mut lately, mut since) = (0u64, 0u64, Instant::now());
                // A broker down makes every poll fail alike: said once, not ten times a second.
                let mut last_error = String::new();
                while !stop.load(Ordering::Relaxed) {
                    match consumer.poll(Duration::from_millis(100)) {
                        Some(Ok(_)) => {
                            read += 1;
                            lately += 1;
                            std::thread::sleep(pause);
                        }
                        Some(Err(err)) => {
                            let said = t!("Kafka said: {err}", err);
                            if let (Some(say), true) = (&say, said != last_error) {
                                say(said.clone());
                            }
                            last_error = said;
                        }
                        None => {}
                    }
                    if since.elapsed() >= Duration::from_secs(1) {
                        if let (Some(say), true) = (&say, lately > 0) {
                            say(t!("read {lately} records ({read} in all)", lately, read));
                        }
                        (lately, since) = (0, Instant::now());
                    }
                }
                // Closing commits what was read and leaves the group: the others take its partitions at once,
                // instead of after the session timeout a crash leaves them to wait out.
                drop(consumer);
                Ok(read)
            }
        });
        Ok(Reader { stop, thread })
    }

    /// Stops reading, commits and leaves the group; returns how many records it read.
    pub async fn stop(self) -> Result<u64> {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread;
        tokio::task::spawn_blocking(move || thread.join())
            .await?
            .map_err(|_| anyhow::anyhow!(t!("A reader of the group stopped on an error")))?
    }
}

/// `lesson cluster consume`: one reader of the group until Ctrl-C, saying what the group gives and takes back. On
/// lesson 8's cluster, or on the Kafka of a connection profile (`cluster` None).
pub async fn keep_consuming(
    cluster: Option<&super::Cluster>,
    bootstrap: &str,
    name: Option<String>,
    rate: u32,
    start: &str,
    check: &str,
) -> Result<String> {
    if crate::kafka::inspect::topic(bootstrap, TOPIC).await?.is_none() {
        anyhow::bail!(match cluster {
            Some(cluster) => t!(
                "There is no topic {topic} yet. Create it with {start}, or in {dir}: docker compose exec kafka-1 \
                 {tool} --bootstrap-server kafka-1:29092 --create --topic {topic} --partitions {count} \
                 --replication-factor 3",
                topic = TOPIC,
                start,
                dir = cluster.dir.display(),
                tool = cluster.track.tool("kafka-topics"),
                count = PARTITIONS
            ),
            None => t!("There is no topic {topic} yet. Create it with {start}.", topic = TOPIC, start),
        });
    }
    let name = name.unwrap_or_else(|| format!("reader-{}", std::process::id()));
    println!(
        "{}",
        t!(
            "Reading {topic} as {name}, a member of group {group}, {rate} records a second. Start another reader in a \
             second terminal and watch the partitions move. Ctrl-C leaves the group.",
            topic = TOPIC,
            name,
            group = GROUP,
            rate
        )
    );
    let say: Say = Arc::new(|line| println!("{line}"));
    let reader = Reader::start(bootstrap, &name, rate, Some(say))?;
    tokio::signal::ctrl_c().await?;
    let read = crate::ui::progress::while_running(
        &t!("{name} to commit and leave the group", name),
        reader.stop(),
    )
    .await?;
    Ok(t!(
        "{name} left group {group} after reading {read} records. Its offsets are committed; the group's other \
         members, if any, take its partitions over now.\nCheck 9 wants two readers running and the lag at 0: {check}",
        name,
        group = GROUP,
        read,
        check
    ))
}
