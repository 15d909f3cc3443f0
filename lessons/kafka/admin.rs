//! The cluster's brokers and topic creation, as `kafka-broker-api-versions` and `kafka-topics` do them.

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::util::Timeout;

use super::config;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broker {
    pub id: i32,
    pub host: String,
    pub port: i32,
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

/// What creating a topic came to: made now, or there before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    Now,
    AlreadyThere,
}

/// Creates a topic the way `kafka-topics --create --if-not-exists` does, through the Admin API.
// ANCHOR: create_topic
pub async fn create_topic(bootstrap: &str, topic: &str, partitions: i32, replication: i32) -> Result<Created> {
    let admin: AdminClient<DefaultClientContext> =
        config(bootstrap).create().context("Failed to create an admin client")?;
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin.create_topics([&new_topic], &options).await.context("Failed to create topic")?;
    let mut created = Created::Now;
    for result in results {
        match result {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => created = Created::AlreadyThere,
            Err((name, code)) => return Err(anyhow!("Kafka refused to create topic `{name}`: {code}")),
        }
    }
    Ok(created)
}
// ANCHOR_END: create_topic
