//! The cluster's brokers and topic creation, as `kafka-broker-api-versions` and `kafka-topics` do them.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
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
        let consumer: BaseConsumer =
            config(&bootstrap).create().context(t!("Failed to create a Kafka client"))?;
        let metadata = consumer
            .fetch_metadata(None, Timeout::After(timeout))
            .with_context(|| t!("Kafka at {bootstrap} did not return metadata", bootstrap))?;
        Ok(metadata
            .brokers()
            .iter()
            .map(|b| Broker { id: b.id(), host: b.host().to_string(), port: b.port() })
            .collect())
    })
    .await?
}

/// The id of the cluster `bootstrap` belongs to: a new one each time a cluster is created anew (its
/// ZooKeeper data removed).
pub async fn cluster_id(bootstrap: &str) -> Result<String> {
    let bootstrap = bootstrap.to_string();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer =
            config(&bootstrap).create().context(t!("Failed to create a Kafka client"))?;
        consumer
            .client()
            .fetch_cluster_id(Timeout::After(Duration::from_secs(10)))
            .with_context(|| t!("Kafka at {bootstrap} did not say its cluster id", bootstrap))
    })
    .await?
}

/// What creating a topic came to: made now, or there before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    Now,
    AlreadyThere,
}

/// Creates a topic the way `kafka-topics --create --if-not-exists` does, through the Admin API. A broker
/// that has just (re)started may answer before its controller can create topics: that is waited for.
// ANCHOR: create_topic
pub async fn create_topic(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    replication: i32,
) -> Result<Created> {
    create(bootstrap, &NewTopic::new(topic, partitions, TopicReplication::Fixed(replication))).await
}

async fn create(bootstrap: &str, new_topic: &NewTopic<'_>) -> Result<Created> {
    let topic = new_topic.name;
    let admin: AdminClient<DefaultClientContext> =
        config(bootstrap).create().context(t!("Failed to create an admin client"))?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let attempts = async {
        'attempt: loop {
            let results = match admin.create_topics([new_topic], &options).await {
                Err(KafkaError::AdminOp(code))
                    if not_ready(code) && std::time::Instant::now() < deadline =>
                {
                    continue 'attempt;
                }
                other => other.context(t!("Failed to create topic"))?,
            };
            let mut created = Created::Now;
            for result in results {
                match result {
                    Ok(_) => {}
                    Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {
                        created = Created::AlreadyThere
                    }
                    Err((_, code)) if not_ready(code) && std::time::Instant::now() < deadline => {
                        continue 'attempt
                    }
                    Err((name, code)) => {
                        return Err(anyhow!(t!(
                            "Kafka refused to create topic `{name}`: {code}",
                            name,
                            code
                        )))
                    }
                }
            }
            return Ok(created);
        }
    };
    crate::ui::progress::while_running(
        &t!("Kafka's controller to create topic {topic}", topic),
        attempts,
    )
    .await
}

/// Creates a topic whose partition `p` lives on the brokers `replicas[p]` (the first leads it), with
/// topic settings `configs`.
pub async fn create_topic_on(
    bootstrap: &str,
    topic: &str,
    replicas: &[&[i32]],
    configs: &[(&str, &str)],
) -> Result<Created> {
    let mut new_topic =
        NewTopic::new(topic, replicas.len() as i32, TopicReplication::Variable(replicas));
    for (name, value) in configs {
        new_topic = new_topic.set(name, value);
    }
    create(bootstrap, &new_topic).await
}

/// A topic's setting as the broker applies it (its own value, else the broker's default); None when the
/// topic does not exist.
pub async fn topic_setting(bootstrap: &str, topic: &str, name: &str) -> Result<Option<String>> {
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let results = admin(bootstrap)?
        .describe_configs([&rdkafka::admin::ResourceSpecifier::Topic(topic)], &options)
        .await
        .with_context(|| t!("Failed to read the settings of topic `{topic}`", topic))?;
    match results.into_iter().next() {
        Some(Ok(resource)) => Ok(resource.get(name).and_then(|entry| entry.value.clone())),
        Some(Err(RDKafkaErrorCode::UnknownTopicOrPartition)) | None => Ok(None),
        Some(Err(code)) => Err(anyhow!(t!(
            "Kafka refused to say the settings of topic `{topic}`: {code}",
            topic,
            code
        ))),
    }
}

/// Answers of a broker whose controller is not ready yet.
fn not_ready(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::OperationTimedOut
            | RDKafkaErrorCode::RequestTimedOut
            | RDKafkaErrorCode::NotController
    )
}
// ANCHOR_END: create_topic

/// The settings given to each topic itself (`--config`, `kafka-configs --alter`), not the broker's defaults; a
/// topic that does not exist is left out. Sensitive values are never returned.
pub async fn topic_configs(
    bootstrap: &str,
    topics: &[&str],
) -> Result<std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>> {
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let specifiers: Vec<_> =
        topics.iter().map(|t| rdkafka::admin::ResourceSpecifier::Topic(t)).collect();
    let results = admin(bootstrap)?
        .describe_configs(&specifiers, &options)
        .await
        .with_context(|| t!("Failed to read the settings of the cluster's topics"))?;
    let mut configs = std::collections::BTreeMap::new();
    for (topic, result) in topics.iter().zip(results) {
        let resource = match result {
            Ok(resource) => resource,
            Err(RDKafkaErrorCode::UnknownTopicOrPartition) => continue,
            Err(code) => bail!(t!(
                "Kafka refused to say the settings of topic `{topic}`: {code}",
                topic,
                code
            )),
        };
        let own = resource
            .entries
            .into_iter()
            .filter(|e| e.source == rdkafka::admin::ConfigSource::DynamicTopic && !e.is_sensitive)
            .filter_map(|e| Some((e.name, e.value?)))
            .collect();
        configs.insert(topic.to_string(), own);
    }
    Ok(configs)
}

fn admin(bootstrap: &str) -> Result<AdminClient<DefaultClientContext>> {
    config(bootstrap).create().context(t!("Failed to create an admin client"))
}

/// Deletes a topic and every message in it; false when there was no such topic.
pub async fn delete_topic(bootstrap: &str, topic: &str) -> Result<bool> {
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin(bootstrap)?
        .delete_topics(&[topic], &options)
        .await
        .context(t!("Failed to delete topic"))?;
    for result in results {
        match result {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => return Ok(false),
            Err((name, code)) => {
                return Err(anyhow!(t!(
                    "Kafka refused to delete topic `{name}`: {code}",
                    name,
                    code
                )))
            }
        }
    }
    Ok(true)
}

/// Deletes every message of the topic's partitions; the topic, its partitions and its settings stay.
pub async fn empty_topic(bootstrap: &str, topic: &str, partitions: &[i32]) -> Result<()> {
    let mut list = rdkafka::TopicPartitionList::new();
    for &p in partitions {
        list.add_partition_offset(topic, p, rdkafka::Offset::End)?;
    }
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let done = admin(bootstrap)?
        .delete_records(&list, &options)
        .await
        .context(t!("Failed to delete the messages"))?;
    if let Some(failed) =
        done.elements().iter().find_map(|e| e.error().err().map(|err| (e.partition(), err)))
    {
        return Err(anyhow!(t!(
            "Kafka refused to delete the messages of {topic}/{partition}: {error}",
            topic,
            partition = failed.0,
            error = failed.1
        )));
    }
    Ok(())
}

/// Deletes consumer groups with their committed offsets; a group that does not exist is fine.
pub async fn delete_groups(bootstrap: &str, groups: &[&str]) -> Result<()> {
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin(bootstrap)?
        .delete_groups(groups, &options)
        .await
        .context(t!("Failed to delete groups"))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::GroupIdNotFound)) => {}
            Err((name, code)) => {
                return Err(anyhow!(t!(
                    "Kafka refused to delete group `{name}`: {code}",
                    name,
                    code
                )))
            }
        }
    }
    Ok(())
}
