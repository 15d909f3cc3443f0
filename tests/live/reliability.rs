//! Kafka's own replication test (ducktape's `replication_test`), on the workshop's cluster of three brokers: an
//! idempotent `acks=all` producer sends 100,000 keyed records while the current leader of a partition is killed
//! (SIGKILL) and brought back, twice. Every acknowledged record must be read back, none twice, each key's
//! records in the order they were sent. The same with `acks=1` and unclean leader election prints what it lost
//! (a figure for the book, not an assertion); both print throughput and the time from each kill to a new leader.

use crate::common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use common::Learner;
use futures_util::stream::{FuturesUnordered, StreamExt};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use workshop::cluster::stack::{service, FILE};
use workshop::kafka::{admin, config, inspect};

const RECORDS: usize = 100_000;
const KEYS: usize = 100;
const IN_FLIGHT: usize = 5_000;
/// The producer stops at these counts until the chaos has killed a leader, so that each kill lands mid-stream.
const KILL_AT: [usize; 2] = [30_000, 65_000];
const PLACEMENT: [&[i32]; 3] = [&[1, 2, 3], &[2, 3, 1], &[3, 1, 2]];

#[test]
fn replication_survives_two_leader_kills() -> Result<()> {
    let _memory = common::memory::reserve(2_500); // lesson 8's cluster
    let l = Learner::new()?;
    let _down = l.cluster_down_on_drop();
    let dir = l.config.dir.join("cluster");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("docker-compose.yml"), FILE)?;
    std::fs::write(
        dir.join(".env"),
        format!("COMPOSE_PROJECT_NAME={}-cluster\n", l.config.project),
    )?;
    ensure!(l.cluster_compose(&["up", "-d"])?.status.success(), "compose up failed");
    let bootstrap = l.cluster_ports.map(|p| format!("localhost:{p}")).join(",");
    let runtime = tokio::runtime::Runtime::new()?;
    let started = Instant::now();
    common::wait_for("three brokers to register", || {
        Ok(runtime
            .block_on(admin::brokers(&bootstrap, Duration::from_secs(3)))
            .is_ok_and(|b| b.len() == 3))
    })?;
    eprintln!("cluster ready in {:.1} s", started.elapsed().as_secs_f64());

    let safe = trial(&l, &runtime, &bootstrap, "reliability-acks-all", Settings::SAFE)?;
    eprintln!("acks=all, idempotent: {safe}");
    ensure!(
        safe.lost.is_empty(),
        "acknowledged records lost with acks=all: {:?}",
        &safe.lost[..safe.lost.len().min(5)]
    );
    ensure!(safe.duplicates == 0, "{} records written twice with idempotence", safe.duplicates);
    ensure!(safe.out_of_order == 0, "{} records out of their key's order", safe.out_of_order);
    ensure!(safe.acknowledged == RECORDS, "only {} of {RECORDS} acknowledged", safe.acknowledged);

    let unsafe_ = trial(&l, &runtime, &bootstrap, "reliability-acks-1", Settings::UNSAFE)?;
    eprintln!("acks=1, unclean leader election: {unsafe_}");
    let memory = l.cluster_compose(&["ps", "-q"])?;
    let ids: Vec<String> =
        String::from_utf8_lossy(&memory.stdout).lines().map(str::to_string).collect();
    let stats = std::process::Command::new("docker")
        .args(["stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}"])
        .args(&ids)
        .output()?;
    eprintln!("memory after both trials:\n{}", String::from_utf8_lossy(&stats.stdout));

    // Unclean leader election's own case: the followers die, the leader takes writes alone, then dies too,
    // and a follower that missed those writes comes back first.
    let refused = stale_follower(&l, &runtime, &bootstrap, "stale-acks-all", Settings::SAFE)?;
    eprintln!("followers then leader killed, acks=all: {refused}");
    ensure!(refused.lost == 0, "acks=all lost {} acknowledged records", refused.lost);
    let lost = stale_follower(&l, &runtime, &bootstrap, "stale-acks-1", Settings::UNSAFE)?;
    eprintln!("followers then leader killed, acks=1, unclean leader election: {lost}");
    Ok(())
}

/// What the stale-follower case came to.
struct Stale {
    acknowledged: usize,
    refused: usize,
    lost: usize,
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} acknowledged, {} refused, {} acknowledged and lost",
            self.acknowledged, self.refused, self.lost
        )
    }
}

/// Writes a batch with all replicas in sync; kills both followers of every partition's leader-to-be (broker 1
/// leads all three once 2 and 3 are gone) and writes a second batch; kills broker 1; starts broker 2 first,
/// then the others; reads everything back.
fn stale_follower(
    l: &Learner,
    runtime: &tokio::runtime::Runtime,
    bootstrap: &str,
    topic: &str,
    settings: Settings,
) -> Result<Stale> {
    const BATCH: usize = 5_000;
    runtime.block_on(settings.create_topic(bootstrap, topic))?;
    let producer: FutureProducer = config::producer(bootstrap)
        .set("acks", settings.acks)
        .set("enable.idempotence", if settings.idempotence { "true" } else { "false" })
        .set("message.timeout.ms", "10000")
        .create()?;
    let compose = |args: &[&str]| -> Result<()> {
        ensure!(l.cluster_compose(args)?.status.success(), "compose {} failed", args.join(" "));
        Ok(())
    };
    let until = |what: &str, done: &dyn Fn(&[workshop::kafka::inspect::PartitionInfo]) -> bool| {
        common::wait_for(what, || {
            let now = runtime
                .block_on(inspect::topic(bootstrap, topic))
                .ok()
                .flatten()
                .unwrap_or_default();
            Ok(!now.is_empty() && done(&now))
        })
    };
    let mut sent = Sent { acknowledged: Vec::new(), refused: 0 };
    runtime.block_on(send_batch(&producer, topic, 0, BATCH, &mut sent));
    compose(&["kill", "kafka-2"])?;
    compose(&["kill", "kafka-3"])?;
    until("broker 1 to lead every partition alone", &|p| {
        p.iter().all(|p| p.leader == 1 && p.isr == [1])
    })?;
    runtime.block_on(send_batch(&producer, topic, BATCH, BATCH, &mut sent));
    compose(&["kill", "kafka-1"])?;
    compose(&["start", "kafka-2"])?;
    if settings.unclean {
        until("broker 2 to be elected though not in sync", &|p| p.iter().all(|p| p.leader == 2))?;
    }
    compose(&["start", "kafka-1", "kafka-3"])?;
    until("every replica in sync", &|p| p.iter().all(|p| p.leader >= 0 && p.isr.len() == 3))?;
    let records = runtime.block_on(inspect::inspect(bootstrap, {
        let topic = topic.to_string();
        move |i| i.read_all(&topic, &[0, 1, 2])
    }))?;
    let there: HashSet<(i32, i64, &str)> =
        records.iter().map(|r| (r.partition, r.offset, r.value.as_str())).collect();
    let lost =
        sent.acknowledged.iter().filter(|(p, o, v)| !there.contains(&(*p, *o, v.as_str()))).count();
    Ok(Stale { acknowledged: sent.acknowledged.len(), refused: sent.refused, lost })
}

/// Sends records `from..from + count` at once and waits for every answer.
async fn send_batch(
    producer: &FutureProducer,
    topic: &str,
    from: usize,
    count: usize,
    sent: &mut Sent,
) {
    let sends = (from..from + count).map(|n| async move {
        let (key, value) = (format!("k{}", n % KEYS), format!("k{}:{n}", n % KEYS));
        let record = FutureRecord::to(topic).key(&key).payload(&value);
        let answer = producer.send(record, Timeout::Never).await.map(|d| (d.partition, d.offset));
        (value, answer)
    });
    for (value, answer) in futures_util::future::join_all(sends).await {
        match answer {
            Ok((p, o)) => sent.acknowledged.push((p, o, value)),
            Err(_) => sent.refused += 1,
        }
    }
}

#[derive(Clone, Copy)]
struct Settings {
    acks: &'static str,
    idempotence: bool,
    min_in_sync: &'static str,
    unclean: bool,
}

impl Settings {
    /// The trial's topic: each broker leads one partition, with these settings.
    async fn create_topic(&self, bootstrap: &str, topic: &str) -> Result<()> {
        let unclean = if self.unclean { "true" } else { "false" };
        let configs = [
            ("min.insync.replicas", self.min_in_sync),
            ("unclean.leader.election.enable", unclean),
        ];
        admin::create_topic_on(bootstrap, topic, &PLACEMENT, &configs).await.map(|_| ())
    }

    const SAFE: Settings =
        Settings { acks: "all", idempotence: true, min_in_sync: "2", unclean: false };
    const UNSAFE: Settings =
        Settings { acks: "1", idempotence: false, min_in_sync: "1", unclean: true };
}

/// What one trial came to.
struct Outcome {
    acknowledged: usize,
    refused: usize,
    lost: Vec<(i32, i64)>,
    duplicates: usize,
    out_of_order: usize,
    seconds: f64,
    failovers: Vec<f64>,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} acknowledged, {} refused, {} acknowledged and lost, {} written twice, {} out of order; {:.0} records/s; \
             new leader after each kill in {}",
            self.acknowledged,
            self.refused,
            self.lost.len(),
            self.duplicates,
            self.out_of_order,
            self.acknowledged as f64 / self.seconds,
            self.failovers.iter().map(|s| format!("{s:.1} s")).collect::<Vec<_>>().join(", ")
        )
    }
}

fn trial(
    l: &Learner,
    runtime: &tokio::runtime::Runtime,
    bootstrap: &str,
    topic: &str,
    settings: Settings,
) -> Result<Outcome> {
    runtime.block_on(settings.create_topic(bootstrap, topic))?;
    let (acked, kills) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let partitions = |rt: &tokio::runtime::Runtime| {
        rt.block_on(inspect::topic(bootstrap, topic)).ok().flatten().unwrap_or_default()
    };
    let compose = |args: &[&str]| -> Result<()> {
        ensure!(l.cluster_compose(args)?.status.success(), "compose {} failed", args.join(" "));
        Ok(())
    };
    let started = Instant::now();
    let (sent, failovers) = std::thread::scope(|scope| -> Result<_> {
        let chaos = scope.spawn(|| -> Result<Vec<f64>> {
            let result = chaos(&acked, &kills, &partitions, &compose);
            // A chaos that failed must not leave the producer waiting for a kill that will never come.
            kills.store(KILL_AT.len(), Ordering::Relaxed);
            result
        });
        let sent = runtime.block_on(produce(bootstrap, topic, settings, &acked, &kills));
        let failovers =
            chaos.join().map_err(|_| anyhow::anyhow!("the chaos thread panicked"))??;
        Ok((sent?, failovers))
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let records = runtime.block_on(inspect::inspect(bootstrap, {
        let topic = topic.to_string();
        move |i| i.read_all(&topic, &[0, 1, 2])
    }))?;
    let mut at: HashMap<(i32, i64), &str> = HashMap::new();
    let mut copies: HashMap<&str, usize> = HashMap::new();
    for r in &records {
        at.insert((r.partition, r.offset), &r.value);
        *copies.entry(&r.value).or_default() += 1;
    }
    let lost: Vec<(i32, i64)> = sent
        .acknowledged
        .iter()
        .filter(|(p, o, value)| at.get(&(*p, *o)) != Some(&value.as_str()))
        .map(|(p, o, _)| (*p, *o))
        .collect();
    let duplicates = copies.values().filter(|&&n| n > 1).map(|n| n - 1).sum();
    // Within a partition, by offset: each key's sequence numbers must only grow.
    let mut by_partition: BTreeMap<i32, Vec<&workshop::kafka::records::Record>> = BTreeMap::new();
    for r in &records {
        by_partition.entry(r.partition).or_default().push(r);
    }
    let mut out_of_order = 0;
    for list in by_partition.values_mut() {
        list.sort_by_key(|r| r.offset);
        let mut last: HashMap<&str, u64> = HashMap::new();
        let mut seen = HashSet::new();
        for r in list.iter() {
            let Some((key, seq)) = r.value.split_once(':') else { continue };
            let seq: u64 = seq.parse()?;
            if !seen.insert(r.value.as_str()) {
                continue;
            }
            if last.get(key).is_some_and(|&before| seq < before) {
                out_of_order += 1;
            }
            last.insert(key, seq);
        }
    }
    Ok(Outcome {
        acknowledged: sent.acknowledged.len(),
        refused: sent.refused,
        lost,
        duplicates,
        out_of_order,
        seconds,
        failovers,
    })
}

struct Sent {
    acknowledged: Vec<(i32, i64, String)>,
    refused: usize,
}

async fn produce(
    bootstrap: &str,
    topic: &str,
    settings: Settings,
    acked: &AtomicUsize,
    kills: &AtomicUsize,
) -> Result<Sent> {
    let producer: FutureProducer = config::producer(bootstrap)
        .set("acks", settings.acks)
        .set("enable.idempotence", if settings.idempotence { "true" } else { "false" })
        .set("message.timeout.ms", "120000")
        .set("linger.ms", "5")
        .create()?;
    let mut pending = FuturesUnordered::new();
    let mut sent = Sent { acknowledged: Vec::new(), refused: 0 };
    let mut seq = vec![0u64; KEYS];
    let answer =
        |sent: &mut Sent, (value, result): (String, Result<(i32, i64), String>)| match result {
            Ok((p, o)) => {
                sent.acknowledged.push((p, o, value));
                acked.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => sent.refused += 1,
        };
    for n in 0..RECORDS {
        if let Some(k) = KILL_AT.iter().position(|&at| at == n) {
            while kills.load(Ordering::Relaxed) <= k {
                if let Some(done) = pending.next().await {
                    answer(&mut sent, done);
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        while pending.len() >= IN_FLIGHT {
            if let Some(done) = pending.next().await {
                answer(&mut sent, done);
            }
        }
        let key = n % KEYS;
        let value = format!("k{key}:{}", seq[key]);
        seq[key] += 1;
        let producer = producer.clone();
        let topic = topic.to_string();
        pending.push(async move {
            let key = format!("k{key}");
            let record = FutureRecord::to(&topic).key(&key).payload(&value);
            let result = producer
                .send(record, Timeout::Never)
                .await
                .map(|d| (d.partition, d.offset))
                .map_err(|(e, _)| e.to_string());
            (value, result)
        });
    }
    while let Some(done) = pending.next().await {
        answer(&mut sent, done);
    }
    Ok(sent)
}

/// Kills the leader of partition 0 at each of `KILL_AT` (once the producer is near it), measures the time to a
/// new leader, starts the broker again and waits until every replica is in sync.
fn chaos(
    acked: &AtomicUsize,
    kills: &AtomicUsize,
    partitions: &dyn Fn(&tokio::runtime::Runtime) -> Vec<workshop::kafka::inspect::PartitionInfo>,
    compose: &dyn Fn(&[&str]) -> Result<()>,
) -> Result<Vec<f64>> {
    let runtime = tokio::runtime::Runtime::new()?;
    let mut failovers = Vec::new();
    for at in KILL_AT {
        common::wait_for("the producer to reach the kill", || {
            Ok(acked.load(Ordering::Relaxed) >= at - 5_000)
        })?;
        let leader = partitions(&runtime).first().map(|p| p.leader).context("no partition 0")?;
        compose(&["kill", &service(leader)])?;
        let killed = Instant::now();
        kills.fetch_add(1, Ordering::Relaxed);
        common::wait_for("a new leader", || {
            Ok(partitions(&runtime).first().is_some_and(|p| p.leader >= 0 && p.leader != leader))
        })?;
        failovers.push(killed.elapsed().as_secs_f64());
        compose(&["start", &service(leader)])?;
        common::wait_for("every replica in sync", || {
            let now = partitions(&runtime);
            Ok(!now.is_empty()
                && now.iter().all(|p| p.leader >= 0 && p.isr.len() == p.replicas.len()))
        })?;
    }
    Ok(failovers)
}
