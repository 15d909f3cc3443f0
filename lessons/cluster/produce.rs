//! Lesson 8's producer: numbered, keyed records sent with acks=all and idempotence; each one Kafka
//! acknowledges goes into the ledger, and nothing else does.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::stream::{FuturesUnordered, StreamExt};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use super::ledger::{Entry, Ledger};
use super::TOPIC;
use crate::kafka::config;
use crate::kafka::inspect::PartitionInfo;

/// No deadline: a record waits, retried under one producer epoch, until a leader with enough replicas in sync
/// takes it. A record given up on while a try of it may have been written makes librdkafka start a new epoch
/// and send what was in flight again, which the brokers can no longer tell from new records: in CI that wrote
/// acknowledged records twice. librdkafka's maintainers describe it in their issue 4953.
const MESSAGE_TIMEOUT_MS: &str = "0";
/// One request in flight per broker: librdkafka also starts a new epoch when a request after a failed one is
/// refused as out of order, which only happens with several in flight (the same issue). Ten records a second
/// need no more.
const MAX_IN_FLIGHT: &str = "1";
const KEYS: u64 = 8;

/// A record's value, and where Kafka wrote it, or why not and the partition it was for.
pub type Delivery = (String, Result<(i32, i64), (KafkaError, i32)>);

pub struct Producer {
    producer: FutureProducer,
    ledger: Ledger,
    cluster: String,
    run: String,
    next: u64,
}

/// What a batch came to.
pub struct Batch {
    pub acknowledged: usize,
    pub refused: Vec<KafkaError>,
}

impl Producer {
    pub async fn connect(bootstrap: &str, ledger: &Path) -> Result<Producer> {
        let producer: FutureProducer = config::producer(bootstrap)
            .set("message.timeout.ms", MESSAGE_TIMEOUT_MS)
            .set("max.in.flight.requests.per.connection", MAX_IN_FLIGHT)
            .create()
            .context(t!("Failed to create a producer"))?;
        config::ask_producer_id(&producer).await;
        Ok(Producer {
            cluster: crate::kafka::admin::cluster_id(bootstrap).await?,
            producer,
            ledger: Ledger::open(ledger)?,
            run: format!(
                "{:x}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis()
            ),
            next: 0,
        })
    }

    /// Sends the next record; the future ends with Kafka's answer.
    pub fn send(&mut self) -> impl Future<Output = Delivery> + 'static {
        let n = self.next;
        self.next += 1;
        let value = format!("{}-{n:06}", self.run);
        let key = format!("key-{}", n % KEYS);
        let producer = self.producer.clone();
        async move {
            let record = FutureRecord::to(TOPIC).key(&key).payload(&value);
            let answer = producer
                .send(record, Timeout::Never)
                .await
                .map(|d| (d.partition, d.offset))
                .map_err(|(err, message)| (err, rdkafka::message::Message::partition(&message)));
            (value, answer)
        }
    }

    /// Writes an acknowledged record into the ledger.
    pub fn acknowledged(&mut self, value: String, partition: i32, offset: i64) -> Result<()> {
        self.ledger.record(&Entry { cluster: self.cluster.clone(), partition, offset, value })
    }

    /// Sends `count` records at once and waits for every answer.
    pub async fn batch(&mut self, count: usize) -> Result<Batch> {
        let sends: Vec<_> = (0..count).map(|_| self.send()).collect();
        let mut batch = Batch { acknowledged: 0, refused: Vec::new() };
        for (value, answer) in futures_util::future::join_all(sends).await {
            match answer {
                Ok((partition, offset)) => {
                    self.acknowledged(value, partition, offset)?;
                    batch.acknowledged += 1;
                }
                Err((err, _)) => batch.refused.push(err),
            }
        }
        Ok(batch)
    }
}

/// One record sent with `acks` and no retry, outside the ledger: what the broker answers at once.
pub async fn probe(bootstrap: &str, acks: &str) -> Result<Result<(i32, i64), KafkaError>> {
    let producer: FutureProducer = config::config(bootstrap)
        .set("acks", acks)
        .set("enable.idempotence", "false")
        .set("retries", "0")
        .set("message.timeout.ms", "10000")
        .set("partitioner", "murmur2_random")
        .create()
        .context(t!("Failed to create a producer"))?;
    let value = format!("probe with acks={acks}");
    let record = FutureRecord::to(TOPIC).key("probe").payload(&value);
    Ok(producer
        .send(record, Timeout::Never)
        .await
        .map(|d| (d.partition, d.offset))
        .map_err(|(e, _)| e))
}

/// `lesson cluster produce`: ten records a second until Ctrl-C, a line a second saying how they fare; then
/// waits for the answers still due and says what came of them all.
pub async fn keep_producing(bootstrap: &str, ledger: &Path, check: &str) -> Result<String> {
    let producer = Producer::connect(bootstrap, ledger);
    let what = t!("the cluster to say its id");
    let mut producer = crate::ui::progress::while_running(what, producer).await?;
    println!(
        "{}",
        t!(
            "Producing ten records a second to {topic} with acks=all. Each one Kafka acknowledges goes into {ledger}.\n\
             Kill a broker meanwhile, in another terminal: lesson cluster kill. Ctrl-C stops.",
            topic = TOPIC,
            ledger = ledger.display()
        )
    );
    let mut pending = FuturesUnordered::new();
    let mut tally = Tally::default();
    // The partitions' state, asked once a second beside the sending: why records are refused.
    let partitions = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let watcher = tokio::spawn({
        let (partitions, bootstrap) = (partitions.clone(), bootstrap.to_string());
        async move {
            loop {
                if let Ok(Some(now)) = crate::kafka::inspect::topic(&bootstrap, TOPIC).await {
                    *partitions.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = now;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });
    let state = || partitions.lock().map(|p| p.clone()).unwrap_or_default();
    let mut send = tokio::time::interval(Duration::from_millis(100));
    send.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut report = tokio::time::interval(Duration::from_secs(1));
    report.tick().await;
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = send.tick() => {
                pending.push(producer.send());
                tally.sent += 1;
            }
            Some((value, answer)) = pending.next() => tally.answer(&mut producer, &state(), value, answer)?,
            _ = report.tick() => {
                println!("{}", tally.line(pending.len()));
                let state = state();
                let held: Vec<String> = state.iter().filter_map(|p| why_refused(&state, p.id)).collect();
                if held != tally.held && !held.is_empty() {
                    held.iter().for_each(|why| println!("{}", t!("held back: {why}", why)));
                }
                tally.held = held;
            }
        }
    }
    let unanswered = pending.len();
    let waiting = t!(
        "the answers to the {count} records sent last (Ctrl-C again: stop without them)",
        count = unanswered
    );
    let rest = async {
        while let Some((value, answer)) = pending.next().await {
            tally.answer(&mut producer, &state(), value, answer)?;
        }
        Ok::<_, anyhow::Error>(())
    };
    let abandoned = tokio::select! {
        done = crate::ui::progress::while_running(&waiting, rest) => done.map(|_| false)?,
        _ = tokio::signal::ctrl_c() => true,
    };
    watcher.abort();
    let mut said = t!(
        "Sent {sent} records: {acknowledged} acknowledged, each written into {ledger}; {refused} refused, in no ledger.",
        sent = tally.sent,
        acknowledged = tally.acknowledged,
        refused = tally.refused,
        ledger = ledger.display()
    );
    if abandoned {
        said += "\n";
        said += &t!(
            "Stopped without the answers to {count} records: they are in no ledger, though Kafka may have written some.",
            count = tally.sent - tally.acknowledged - tally.refused
        );
    }
    Ok(said + "\n" + &t!("Now check that every acknowledged one is there: {check}", check))
}

/// Why records for `partition` wait, from the partitions' state: the producer only retries.
fn why_refused(partitions: &[PartitionInfo], partition: i32) -> Option<String> {
    let p = partitions.iter().find(|p| p.id == partition)?;
    if p.leader < 0 {
        return Some(t!(
            "partition {partition} has no leader (none of its in-sync replicas runs)",
            partition
        ));
    }
    ((p.isr.len() as i32) < super::MIN_IN_SYNC).then(|| {
        t!(
            "partition {partition} has {count} of its replicas in sync and the topic wants {wanted}: its leader \
             answers NOT_ENOUGH_REPLICAS, and the producer retries until enough are in sync again",
            partition,
            count = p.isr.len(),
            wanted = super::MIN_IN_SYNC
        )
    })
}

#[derive(Default)]
struct Tally {
    sent: usize,
    acknowledged: usize,
    refused: usize,
    last_refusal: Option<String>,
    /// Why partitions take no record now, as last said.
    held: Vec<String>,
}

impl Tally {
    fn answer(
        &mut self,
        producer: &mut Producer,
        partitions: &[PartitionInfo],
        value: String,
        answer: Result<(i32, i64), (KafkaError, i32)>,
    ) -> Result<()> {
        match answer {
            Ok((partition, offset)) => {
                producer.acknowledged(value, partition, offset)?;
                self.acknowledged += 1;
            }
            Err((err, partition)) => {
                self.refused += 1;
                let said = match why_refused(partitions, partition) {
                    Some(why) => format!("{err}: {why}"),
                    None => err.to_string(),
                };
                if self.last_refusal.as_ref() != Some(&said) {
                    println!("{}", t!("refused: {error}", error = said));
                    self.last_refusal = Some(said);
                }
            }
        }
        Ok(())
    }

    fn line(&self, waiting: usize) -> String {
        t!(
            "sent {sent} · acknowledged {acknowledged} · waiting for an answer {waiting} · refused {refused}",
            sent = self.sent,
            acknowledged = self.acknowledged,
            waiting,
            refused = self.refused
        )
    }
}
