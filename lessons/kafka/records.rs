//! Producing and consuming records, as the console producer and consumer do.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::config;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub value: String,
}

impl Record {
    pub fn from_message(message: &rdkafka::message::BorrowedMessage) -> Record {
        Record {
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(|k| String::from_utf8_lossy(k).into_owned()),
            value: message
                .payload()
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default(),
        }
    }
}

// ANCHOR: leader_epoch
/// The leader epoch the broker stamped on the message's batch when it appended it: one more each
/// time the controller changed the partition's leader (with ZooKeeper, its in-sync replicas too).
/// None when the broker did not say.
pub fn leader_epoch(message: &rdkafka::message::BorrowedMessage) -> Option<i32> {
    // SAFETY: `ptr` is the message `message` borrows, alive for this call; librdkafka only reads a
    // field of it.
    let epoch = unsafe { rdkafka::bindings::rd_kafka_message_leader_epoch(message.ptr()) };
    (epoch >= 0).then_some(epoch)
}
// ANCHOR_END: leader_epoch

/// Sends each (key, value) and waits for the broker's acknowledgement; returns where each landed.
// ANCHOR: produce
pub async fn produce(
    bootstrap: &str,
    topic: &str,
    records: &[(Option<&str>, &str)],
) -> Result<Vec<(i32, i64)>> {
    let producer: FutureProducer = config::producer(bootstrap)
        .set("message.timeout.ms", "30000")
        .create()
        .context(t!("Failed to create a producer"))?;
    config::ask_producer_id(&producer).await;
    let mut placed = Vec::new();
    for (key, value) in records {
        let mut record = FutureRecord::<str, str>::to(topic).payload(value);
        if let Some(key) = key {
            record = record.key(key);
        }
        let delivery =
            producer.send(record, Duration::from_secs(30)).await.map_err(|(err, _)| {
                anyhow!(t!("Kafka did not accept the message for `{topic}`: {err}", topic, err))
            })?;
        placed.push((delivery.partition, delivery.offset));
    }
    Ok(placed)
}
// ANCHOR_END: produce

/// Reads `expected` records as consumer group `group`, starting where the group left off (the beginning
/// for a new group), then commits.
// ANCHOR: consume
pub async fn consume(
    bootstrap: &str,
    topic: &str,
    group: &str,
    expected: usize,
) -> Result<Vec<Record>> {
    let (bootstrap, topic, group) = (bootstrap.to_string(), topic.to_string(), group.to_string());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = config::consumer(&bootstrap, &group)
            .create()
            .context(t!("Failed to create a consumer"))?;
        consumer.subscribe(&[&topic]).context(t!("Failed to subscribe"))?;
        let mut records = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while records.len() < expected {
            if std::time::Instant::now() > deadline {
                bail!(t!(
                    "read {read} of {expected} records from `{topic}` within 60s",
                    read = records.len(),
                    expected,
                    topic
                ));
            }
            let Some(message) = consumer.poll(Duration::from_millis(500)) else { continue };
            let message = message.with_context(|| t!("Failed to consume from `{topic}`", topic))?;
            records.push(Record::from_message(&message));
        }
        consumer
            .commit_consumer_state(rdkafka::consumer::CommitMode::Sync)
            .context(t!("Failed to commit the group's offsets"))?;
        Ok(records)
    })
    .await?
}
// ANCHOR_END: consume
