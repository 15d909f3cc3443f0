//! Lesson 8: a topic on three brokers, a leader killed while records are produced, and proof that every
//! acknowledged record survived.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use anyhow::{bail, Result};

use super::ledger::{self, Entry};
use super::produce::{self, Producer};
use super::stack::{self, service, Cluster, BROKERS};
use super::{describe, list, MIN_IN_SYNC, TOPIC};
use crate::kafka::admin::{self, Created};
use crate::kafka::inspect::{self, PartitionInfo};
use crate::lesson::{Context, Fact, Info, Lesson, Needs, Undo};
use crate::stack::track::Track;

pub const TEXT: &str = include_str!("l08_replication.md");

/// Partition p's replicas: each broker leads one partition and follows the other two.
const PLACEMENT: [&[i32]; 3] = [&[1, 2, 3], &[2, 3, 1], &[3, 1, 2]];
const BATCH: usize = 50;

pub struct Replication;

impl Lesson for Replication {
    const INFO: Info = Info {
        id: 8,
        slug: "replication",
        title: n!("Replicate a topic and survive a broker's death"),
        hint: n!("\
Run `lesson 8 --run` once to see it all, or by hand: start the cluster in the cluster/ folder (docker compose
up -d), create the topic with --replication-factor 3 --config min.insync.replicas=2, start
`lesson cluster produce` in one terminal and, in another, `lesson cluster kill` (the leader of partition 0).
Watch the producer carry on. Kill a second broker and watch acks=all be refused; `docker compose start` both,
wait until `kafka-topics --describe` shows every replica in sync, stop the producer, and check."),
        needs: Needs { cluster: true, ..Needs::NOTHING },
        requires: &[],
    };

    fn kraft_hint(&self) -> Option<&'static str> {
        Some(n!("\
Run `lesson 8 --run` once to see it all, or by hand: start the cluster in the cluster/ folder (docker compose
up -d), create the topic with /opt/kafka/bin/kafka-topics.sh … --replication-factor 3 --config
min.insync.replicas=2, start `lesson cluster produce` in one terminal and, in another, `lesson cluster kill`
(the leader of partition 0). Watch the producer carry on. Kill a second broker and watch acks=all be refused;
`docker compose start` both, wait until `/opt/kafka/bin/kafka-topics.sh --describe` shows every replica in
sync, stop the producer, and check."))
    }

    fn explain(&self, ctx: &Context) -> String {
        let tools = ctx.config.track.exec_values("kafka-1", &["kafka-topics"]);
        crate::ui::markdown::lesson(TEXT, &tools)
    }

    async fn run(&self, ctx: &Context) -> Result<String> {
        let cluster = Cluster::connect(&ctx.config).await?;
        let bootstrap = cluster.bootstrap();
        // Each step is printed as it happens: the lesson takes about a minute.
        let step = |line: String| crate::ui::progress::print(&line);
        cluster.start_and_say(&step).await?;
        let created = admin::create_topic_on(
            &bootstrap,
            TOPIC,
            &PLACEMENT,
            &[("min.insync.replicas", &MIN_IN_SYNC.to_string())],
        )
        .await?;
        step(match created {
            Created::Now => t!(
                "Created topic {topic}: 3 partitions, each on brokers 1, 2 and 3, min.insync.replicas=2.",
                topic = TOPIC
            ),
            Created::AlreadyThere => t!("Topic {topic} was already there.", topic = TOPIC),
        });
        // Just after creation the metadata can list the topic before its partitions: wait for them first.
        let (partitions, _) =
            cluster.until(t!("every replica to be in sync"), TOPIC, in_sync).await?;
        let factor = partitions.iter().map(|p| p.replicas.len()).min().unwrap_or(0);
        let min_isr = admin::topic_setting(&bootstrap, TOPIC, "min.insync.replicas").await?;
        if factor != 3 || min_isr.as_deref() != Some(&MIN_IN_SYNC.to_string()) {
            bail!(t!(
                "Topic {topic} is there with {factor} replicas of each partition and min.insync.replicas={min_isr}; the \
                 lesson needs 3 and 2. Nothing was killed. To start over with the right topic: lesson reset 8, then \
                 lesson 8 --run.",
                topic = TOPIC,
                factor,
                min_isr = min_isr.unwrap_or_default()
            ));
        }
        step(describe(&partitions));

        let mut producer = Producer::connect(&bootstrap, &ledger::path(&cluster.dir)).await?;
        let before = producer.batch(BATCH).await?;
        step(t!(
            "Sent {count} records with acks=all: {acknowledged} acknowledged.",
            count = BATCH,
            acknowledged = before.acknowledged
        ));

        let first = partitions[0].leader;
        cluster.kill(first).await?;
        step(format!("$ {} kill {}", cluster.compose.cli.name(), service(first)));
        let moved = t!("partition 0 to get a leader other than broker {first}", first);
        let (during, elected) = tokio::join!(
            producer.batch(BATCH),
            cluster.until(&moved, TOPIC, |p| p[0].leader != first && p[0].leader >= 0)
        );
        let ((partitions, took), during) = (elected?, during?);
        step(t!(
            "Partition 0 has a new leader, broker {leader}, elected in {seconds} s: in sync {isr}.",
            leader = partitions[0].leader,
            seconds = format!("{:.1}", took.as_secs_f64()),
            isr = list(&partitions[0].isr)
        ));
        step(t!(
            "Sent {count} records during the failover: {acknowledged} acknowledged (the producer retried until the \
             new leader answered).",
            count = BATCH,
            acknowledged = during.acknowledged
        ));

        let second = partitions[0].leader;
        cluster.kill(second).await?;
        step(format!("$ {} kill {}", cluster.compose.cli.name(), service(second)));
        let alone =
            t!("the controller to take broker {second} out of the in-sync replicas", second);
        let (partitions, _) = cluster
            .until(&alone, TOPIC, |p| p.iter().all(|p| p.isr.len() == 1 && p.leader >= 0))
            .await?;
        step(describe(&partitions));
        step(match produce::probe(&bootstrap, "all").await? {
            Err(err) => t!(
                "acks=all refused: {error}. One replica is in sync and the topic wants two: Kafka refuses rather than \
                 acknowledge a record that one more failure would lose.",
                error = err
            ),
            Ok((partition, offset)) => t!(
                "acks=all accepted at partition {partition} offset {offset}: min.insync.replicas is not 2 on this topic.",
                partition,
                offset
            ),
        });
        step(match produce::probe(&bootstrap, "1").await? {
            Ok((partition, offset)) => t!(
                "acks=1 accepted at partition {partition} offset {offset}, written on one broker alone: had that broker \
                 failed now, the record would be lost although it was acknowledged.",
                partition,
                offset
            ),
            Err(err) => t!("acks=1 refused too: {error}", error = err),
        });

        cluster.start(&[first, second]).await?;
        step(format!(
            "$ {} start {} {}",
            cluster.compose.cli.name(),
            service(first),
            service(second)
        ));
        let healed =
            t!("brokers {first} and {second} to catch up and be in sync again", first, second);
        let (partitions, took) = cluster.until(&healed, TOPIC, in_sync).await?;
        step(t!(
            "Every replica in sync again in {seconds} s:",
            seconds = format!("{:.1}", took.as_secs_f64())
        ));
        step(describe(&partitions));
        let entries = ledger::read(&ledger::path(&cluster.dir))?;
        Ok(verify(&bootstrap, &entries).await?.summary())
    }

    fn undo_plan(&self, ctx: &Context) -> Option<Undo> {
        let dir = stack::folder(&ctx.config);
        dir.join(crate::stack::config::COMPOSE_FILE).exists().then(|| Undo {
            does: t!(
                "removes the cluster of project `{project}` with its volumes (compose down -v), and its ledger {ledger}",
                project = stack::project(&ctx.config),
                ledger = ledger::path(&dir).display()
            ),
            loses: Some(t!("every topic and message of the cluster").into()),
        })
    }

    async fn undo(&self, ctx: &Context) -> Result<String> {
        let cluster = Cluster::connect(&ctx.config).await?;
        cluster.down().await?;
        match std::fs::remove_file(ledger::path(&cluster.dir)) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err.into()),
            _ => {}
        }
        Ok(t!(
            "removed the cluster of project `{project}`, its volumes and its ledger",
            project = cluster.project()
        ))
    }

    async fn check(&self, ctx: &Context) -> Result<Vec<Fact>> {
        let cluster = Cluster::connect(&ctx.config).await?;
        let (mut facts, answers) =
            cluster.runs(&ctx.options.command("8 --run", Needs::NOTHING)).await?;
        if !answers {
            return Ok(facts);
        }
        let bootstrap = cluster.bootstrap();
        let all: BTreeSet<i32> = BROKERS.into_iter().collect();
        let what = t!("brokers 1, 2 and 3 are registered");
        match admin::brokers(&bootstrap, std::time::Duration::from_secs(10)).await {
            Ok(brokers) => {
                let registered: BTreeSet<i32> = brokers.iter().map(|b| b.id).collect();
                facts.push(Fact::check(
                    registered == all,
                    what,
                    t!(
                        "Registered now: {registered}. A broker that is down is not registered: start it (in {dir}: \
                         docker compose start {service}); it registers within seconds. If it does not: docker compose \
                         logs {service}",
                        registered = list(&registered.iter().copied().collect::<Vec<_>>()),
                        service = all.difference(&registered).next().map(|&b| service(b)).unwrap_or_default(),
                        dir = cluster.dir.display()
                    ),
                ));
            }
            Err(err) => {
                facts.push(Fact::fail(what, format!("{err:#}")));
                return Ok(facts);
            }
        }
        let partitions = match cluster.partitions(TOPIC).await {
            Ok(partitions) => partitions,
            Err(err) => {
                facts.push(unanswered(&err, cluster.track));
                return Ok(facts);
            }
        };
        let Some(partitions) = partitions else {
            facts.push(Fact::fail(
                t!("topic {topic} exists", topic = TOPIC),
                t!(
                    "Create it: {run}, or in {dir}: docker compose exec kafka-1 {tool} --bootstrap-server \
                     kafka-1:29092 --create --topic {topic} --partitions 3 --replication-factor 3 --config \
                     min.insync.replicas=2",
                    run = ctx.options.command("8 --run", Needs::NOTHING),
                    dir = cluster.dir.display(),
                    tool = cluster.track.tool("kafka-topics"),
                    topic = TOPIC
                ),
            ));
            return Ok(facts);
        };
        let factor = partitions.iter().map(|p| p.replicas.len()).min().unwrap_or(0);
        let min_isr = match admin::topic_setting(&bootstrap, TOPIC, "min.insync.replicas").await {
            Ok(value) => value.unwrap_or_default(),
            Err(err) => {
                facts.push(unanswered(&err, cluster.track));
                return Ok(facts);
            }
        };
        facts.push(Fact::check(
            factor == 3 && min_isr == MIN_IN_SYNC.to_string(),
            t!("topic {topic} has 3 replicas of each partition and min.insync.replicas=2", topic = TOPIC),
            t!(
                "It has {factor} replicas and min.insync.replicas={min_isr}. To start over with the right topic: lesson \
                 reset 8 (it removes the cluster, its topics and the ledger), then lesson 8 again.",
                factor,
                min_isr
            ),
        ));
        facts.push(Fact::check(
            in_sync(&partitions),
            t!("every replica of {topic} is in sync (no partition under-replicated)", topic = TOPIC),
            t!(
                "{partitions}\nA replica is out of sync while its broker is down or catching up. Start every broker (in \
                 {dir}: docker compose start kafka-1 kafka-2 kafka-3), and check again once they caught up.",
                partitions = describe(&partitions),
                dir = cluster.dir.display()
            ),
        ));
        let ledger = ledger::path(&cluster.dir);
        let entries = match ledger::read(&ledger) {
            Ok(entries) => entries,
            Err(err) => {
                facts.push(Fact::fail(t!("the producer's ledger can be read"), format!("{err:#}")));
                return Ok(facts);
            }
        };
        match verify(&bootstrap, &entries).await {
            Ok(verdict) => {
                facts.push(verdict.leadership_fact());
                facts.push(verdict.ledger_fact(&ledger));
                if verdict.expired > 0 {
                    facts.push(Fact::info(t!(
                        "{count} acknowledged records were older than the topic keeps, and its retention deleted them",
                        count = verdict.expired
                    )));
                }
            }
            // The brokers run: a partition whose leader is changing cannot be read this instant.
            Err(err) => facts.push(Fact::fail(
                t!("{topic} can be read back from the brokers", topic = TOPIC),
                t!(
                    "{error}\nThe brokers could not serve the topic's records this instant (a leader changing, or \
                     brokers down): check again once every broker runs.",
                    error = format!("{err:#}")
                ),
            )),
        }
        Ok(facts)
    }
}

/// The brokers did not answer about the topic: right after a kill, they wait for the controller.
fn unanswered(err: &anyhow::Error, track: Track) -> Fact {
    let error = format!("{err:#}");
    Fact::fail(
        t!("the brokers answer about topic {topic}", topic = TOPIC),
        match track {
            Track::ZooKeeper => t!(
                "{error}\nA broker killed a moment ago is declared dead only when its ZooKeeper session expires, \
                 about 6 s later: check again in a few seconds.",
                error
            ),
            Track::KRaft => t!(
                "{error}\nA broker killed a moment ago is declared dead only when it has missed its heartbeats to \
                 the controller for 6 s: check again in a few seconds.",
                error
            ),
        },
    )
}

/// Every partition has a leader and all its replicas in sync.
fn in_sync(partitions: &[PartitionInfo]) -> bool {
    let each = |p: &PartitionInfo| {
        !p.replicas.is_empty() && p.leader >= 0 && p.isr.len() == p.replicas.len()
    };
    !partitions.is_empty() && partitions.iter().all(each)
}

/// `0, 1, 2`, or `0, 1, … 21 (12 epochs)` when there are many.
fn epoch_list(epochs: &BTreeSet<i32>) -> String {
    let all: Vec<i32> = epochs.iter().copied().collect();
    if all.len() <= 6 {
        return list(&all);
    }
    format!(
        "{}, {}, … {} ({})",
        all[0],
        all[1],
        all[all.len() - 1],
        t!("{count} epochs", count = all.len())
    )
}

/// What the topic holds, measured against the ledger: read from the brokers, never from the ledger alone.
pub struct Verdict {
    /// The ledger's entries for this cluster.
    pub acknowledged: usize,
    /// Entries deleted since by the topic's retention.
    pub expired: usize,
    /// Entries of a cluster that was removed since.
    pub of_other_clusters: usize,
    pub missing: Vec<Entry>,
    /// Acknowledged values found more than once.
    pub twice: Vec<String>,
    /// Records in the topic that no ledger entry names (sent, never acknowledged with acks=all).
    pub unacknowledged: usize,
    /// The leader epochs each partition's records were written under.
    pub epochs: BTreeMap<i32, BTreeSet<i32>>,
}

// ANCHOR: verify
pub async fn verify(bootstrap: &str, entries: &[Entry]) -> Result<Verdict> {
    let id = admin::cluster_id(bootstrap).await?;
    let (records, starts) = inspect::inspect(bootstrap, |i| {
        let Some(ids) = i.partition_ids(TOPIC)? else { return Ok(Default::default()) };
        let starts: HashMap<i32, i64> =
            i.watermarks(TOPIC, &ids)?.into_iter().map(|(p, (low, _))| (p, low)).collect();
        Ok((i.read_all_stamped(TOPIC, &ids)?, starts))
    })
    .await?;
    let mut epochs: BTreeMap<i32, BTreeSet<i32>> = BTreeMap::new();
    let mut copies: HashMap<&str, usize> = HashMap::new();
    let mut at: HashMap<(i32, i64), &str> = HashMap::new();
    for (record, epoch) in &records {
        if let Some(epoch) = epoch {
            epochs.entry(record.partition).or_default().insert(*epoch);
        }
        *copies.entry(record.value.as_str()).or_default() += 1;
        at.insert((record.partition, record.offset), record.value.as_str());
    }
    let (ours, others): (Vec<&Entry>, Vec<&Entry>) = entries.iter().partition(|e| e.cluster == id);
    // Records older than the topic keeps (7 days by default) are deleted by retention, not lost.
    let (expired, ours): (Vec<&Entry>, Vec<&Entry>) = ours
        .into_iter()
        .partition(|e| starts.get(&e.partition).is_some_and(|&start| e.offset < start));
    let missing = ours
        .iter()
        .filter(|e| at.get(&(e.partition, e.offset)) != Some(&e.value.as_str()))
        .map(|e| (*e).clone());
    let twice = ours.iter().filter(|e| copies.get(e.value.as_str()).is_some_and(|&n| n > 1));
    let named: BTreeSet<&str> = ours.iter().map(|e| e.value.as_str()).collect();
    Ok(Verdict {
        acknowledged: ours.len(),
        expired: expired.len(),
        of_other_clusters: others.len(),
        missing: missing.collect(),
        twice: twice.map(|e| e.value.clone()).collect(),
        unacknowledged: records.iter().filter(|(r, _)| !named.contains(r.value.as_str())).count(),
        epochs,
    })
}
// ANCHOR_END: verify

impl Verdict {
    fn moved(&self) -> Option<(i32, &BTreeSet<i32>)> {
        self.epochs.iter().find(|(_, e)| e.len() > 1).map(|(p, e)| (*p, e))
    }

    pub fn leadership_fact(&self) -> Fact {
        match self.moved() {
            Some((partition, epochs)) => Fact::pass(t!(
                "partition {partition}'s records were written under leader epochs {epochs}: its leader or its in-sync \
                 replicas changed while you produced",
                partition,
                epochs = epoch_list(epochs)
            )),
            None if self.epochs.is_empty() => Fact::fail(
                t!("a partition's records were written under more than one leader epoch"),
                t!(
                    "There is no record in {topic} yet. Produce (lesson cluster produce) and, while it runs, kill the \
                     leader in another terminal (lesson cluster kill).",
                    topic = TOPIC
                ),
            ),
            None => Fact::fail(
                t!("a partition's records were written under more than one leader epoch"),
                t!(
                    "Every partition's records so far were written under one leader epoch. Produce (lesson cluster \
                     produce) and, while it runs, kill the leader in another terminal (lesson cluster kill)."
                ),
            ),
        }
    }

    pub fn ledger_fact(&self, path: &Path) -> Fact {
        let what = t!(
            "every record acknowledged to the lesson's producer is there, once ({count} in {ledger})",
            count = self.acknowledged,
            ledger = path.display()
        );
        if self.acknowledged == 0 {
            let before = if self.of_other_clusters > 0 {
                t!(
                    "Its {count} records were acknowledged by a cluster removed since. ",
                    count = self.of_other_clusters
                )
            } else {
                String::new()
            };
            return Fact::fail(
                what,
                t!("{before}Produce with the lesson's producer: lesson cluster produce", before),
            );
        }
        if let Some(first) = self.missing.first() {
            return Fact::fail(
                what,
                t!(
                    "{count} acknowledged records are not there, the first at partition {partition} offset {offset}: \
                     data an acknowledgement promised was lost. (If you deleted the topic and created it again, its \
                     records went with it: lesson reset 8 starts over, with a new ledger.)",
                    count = self.missing.len(),
                    partition = first.partition,
                    offset = first.offset
                ),
            );
        }
        if let Some(value) = self.twice.first() {
            return Fact::fail(
                what,
                t!(
                    "{count} acknowledged records are there twice, the first {value}: Kafka holds two copies although \
                     the producer is idempotent, which tells its retries apart only within one producer epoch. None is \
                     lost. To try again on a clean topic: lesson reset 8, then the lesson again.",
                    count = self.twice.len(),
                    value
                ),
            );
        }
        Fact::pass(what)
    }

    /// What `--run` says at its end.
    pub fn summary(&self) -> String {
        if self.missing.is_empty() && self.twice.is_empty() {
            t!(
                "Read the topic back: all {acknowledged} acknowledged records are there, each once (and {other} more, \
                 never acknowledged with acks=all).",
                acknowledged = self.acknowledged,
                other = self.unacknowledged
            )
        } else {
            t!(
                "Read the topic back: of {acknowledged} acknowledged records, {missing} are missing and {twice} are there \
                 twice.",
                acknowledged = self.acknowledged,
                missing = self.missing.len(),
                twice = self.twice.len()
            )
        }
    }
}

/// `lesson cluster kill [BROKER]`: the leader of partition 0 unless a broker is named; then waits until
/// each partition it led has another leader, or none.
pub async fn kill(ctx: &Context, broker: Option<&str>) -> Result<String> {
    let broker = broker
        .map(|b| {
            b.trim().trim_start_matches("kafka-").parse::<i32>().map_err(|_| {
                anyhow::anyhow!(t!(
                    "`{broker}` is no broker: name one as 1, 2 or 3 (or kafka-2).",
                    broker = b
                ))
            })
        })
        .transpose()?;
    let start = ctx.options.command("8 --run", Needs::NOTHING);
    let cluster = Cluster::started(&ctx.config, &start, t!("kill one of its brokers")).await?;
    let before = cluster.partitions(TOPIC).await.ok().flatten().unwrap_or_default();
    let broker = match (broker, before.first()) {
        (Some(broker), _) => broker,
        (None, Some(first)) if first.leader >= 0 => first.leader,
        (None, _) => bail!(t!(
            "Partition 0 of {topic} has no leader to kill (no such topic yet, or no broker of it is running). Name \
             the broker: lesson cluster kill 2",
            topic = TOPIC
        )),
    };
    cluster.kill(broker).await?;
    let mut out = vec![format!("$ {} kill {}", cluster.compose.cli.name(), service(broker))];
    let led: Vec<i32> = before.iter().filter(|p| p.leader == broker).map(|p| p.id).collect();
    let alive = cluster.running().await?;
    if alive.is_empty() {
        out.push(t!(
            "That was the last broker running: no partition has a leader now, and none will until a broker starts \
             again (in {dir}: docker compose start {service}).",
            dir = cluster.dir.display(),
            service = service(broker)
        ));
        return Ok(out.join("\n"));
    }
    if before.is_empty() {
        return Ok(out.join("\n"));
    }
    // The controller takes the dead broker out of every partition's in-sync replicas, and gives the partitions
    // it led to another of them. A partition none of whose in-sync replicas runs stays without a leader
    // (unclean election is off): the brokers say so with leader -1, and keep its last in-sync replica listed.
    let settled = |p: &PartitionInfo| {
        let leaderless = p.leader < 0 && !p.isr.iter().any(|r| alive.contains(r));
        leaderless || (p.leader >= 0 && p.leader != broker && !p.isr.contains(&broker))
    };
    let what = t!("the controller to notice that broker {broker} is gone", broker);
    let (partitions, took) =
        cluster.until(&what, TOPIC, |partitions| partitions.iter().all(settled)).await?;
    if led.is_empty() {
        out.push(t!(
            "Broker {broker} led no partition of {topic}; the controller took it out of the in-sync replicas in \
             {seconds} s:",
            broker,
            topic = TOPIC,
            seconds = format!("{:.1}", took.as_secs_f64())
        ));
        out.push(describe(&partitions));
        return Ok(out.join("\n"));
    }
    let seconds = format!("{:.1}", took.as_secs_f64());
    out.push(match cluster.track {
        Track::ZooKeeper => {
            t!("The controller noticed in {seconds} s, once the broker's ZooKeeper session expired:", seconds)
        }
        Track::KRaft => {
            t!("The controller noticed in {seconds} s, once the broker missed its heartbeats:", seconds)
        }
    });
    out.push(describe(&partitions));
    let leaderless: Vec<i32> =
        partitions.iter().filter(|p| led.contains(&p.id) && p.leader < 0).map(|p| p.id).collect();
    if !leaderless.is_empty() {
        out.push(t!(
            "Partitions {partitions} have no leader: none of their in-sync replicas runs. They take no record until \
             one starts again (in {dir}: docker compose start {service}).",
            partitions = list(&leaderless),
            dir = cluster.dir.display(),
            service = service(broker)
        ));
    }
    Ok(out.join("\n"))
}
