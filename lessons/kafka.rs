//! The Rust-native Kafka side (rdkafka): metadata, topics, producing and consuming.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broker {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

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
            value: message.payload().map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default(),
        }
    }
}

fn config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap).set("log_level", "3");
    config
}

/// The brokers the cluster advertises to this machine (blocking call, run off the async runtime).
pub async fn brokers(bootstrap: &str, timeout: Duration) -> Result<Vec<Broker>> {
    let bootstrap = bootstrap.to_string();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = config(&bootstrap).create().context("Failed to create a Kafka client")?;
        let metadata = consumer
            .fetch_metadata(None, Timeout::After(timeout))
            .with_context(|| format!("Kafka at {bootstrap} did not return metadata"))?;
        Ok(metadata
            .brokers()
            .iter()
            .map(|b| Broker { id: b.id(), host: b.host().to_string(), port: b.port() })
            .collect())
    })
    .await?
}

/// Creates a topic the way `kafka-topics --create` does, through the Admin API.
// ANCHOR: create_topic
pub async fn create_topic(bootstrap: &str, topic: &str, partitions: i32, replication: i32) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> =
        config(bootstrap).create().context("Failed to create an admin client")?;
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin.create_topics([&new_topic], &options).await.context("Failed to create topic")?;
    for result in results {
        result.map_err(|(name, code)| match code {
            RDKafkaErrorCode::TopicAlreadyExists => anyhow!(
                "Topic `{name}` already exists. `lesson check 4 --topic {name}` shows what it has; \
                 to start over, delete it first (kafka-topics --delete --topic {name})."
            ),
            _ => anyhow!("Kafka refused to create topic `{name}`: {code}"),
        })?;
    }
    Ok(())
}
// ANCHOR_END: create_topic

/// Sends each (key, value) and waits for the broker's acknowledgement; returns where each landed.
// ANCHOR: produce
pub async fn produce(bootstrap: &str, topic: &str, records: &[(Option<&str>, &str)]) -> Result<Vec<(i32, i64)>> {
    let producer: FutureProducer = config(bootstrap)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", "30000")
        .create()
        .context("Failed to create a producer")?;
    let mut placed = Vec::new();
    for (key, value) in records {
        let mut record = FutureRecord::<str, str>::to(topic).payload(value);
        if let Some(key) = key {
            record = record.key(key);
        }
        let delivery = producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(err, _)| anyhow!("Kafka did not accept the message for `{topic}`: {err}"))?;
        placed.push((delivery.partition, delivery.offset));
    }
    Ok(placed)
}
// ANCHOR_END: produce

/// Reads `expected` records from the beginning of `topic` as consumer group `group`, then commits.
// ANCHOR: consume
pub async fn consume_from_beginning(bootstrap: &str, topic: &str, group: &str, expected: usize) -> Result<Vec<Record>> {
    let (bootstrap, topic, group) = (bootstrap.to_string(), topic.to_string(), group.to_string());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = config(&bootstrap)
            .set("group.id", &group)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .context("Failed to create a consumer")?;
        consumer.subscribe(&[&topic]).context("Failed to subscribe")?;
        let mut records = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while records.len() < expected {
            if std::time::Instant::now() > deadline {
                bail!("read {} of {expected} records from `{topic}` within 60s", records.len());
            }
            let Some(message) = consumer.poll(Duration::from_millis(500)) else { continue };
            let message = message.with_context(|| format!("Failed to consume from `{topic}`"))?;
            records.push(Record::from_message(&message));
        }
        consumer
            .commit_consumer_state(rdkafka::consumer::CommitMode::Sync)
            .context("Failed to commit the group's offsets")?;
        Ok(records)
    })
    .await?
}
// ANCHOR_END: consume
