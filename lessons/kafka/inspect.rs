//! Reading the cluster's state back (rdkafka): a topic's partitions, its messages, a group's offsets.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::util::Timeout;

use super::config;
use super::records::Record;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionInfo {
    pub id: i32,
    /// -1 while the partition has no leader.
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// A client that never joins a group: it only asks, so looking changes nothing the learner did.
fn client(bootstrap: &str, group: Option<&str>) -> Result<BaseConsumer> {
    config::consumer(bootstrap, group.unwrap_or("workshop-inspector"))
        .create()
        .context("Failed to create a Kafka client")
}

/// Kafka's rule for topic names: 1 to 249 of `a-z A-Z 0-9 . _ -`, and not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<()> {
    let legal = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if name.is_empty() || name.len() > 249 || !legal || name == "." || name == ".." {
        bail!(
            "`{name}` is not a valid topic name: use 1 to 249 letters, digits, `.`, `_` or `-` \
             (for example: quickstart-events)"
        );
    }
    if name.starts_with("__") {
        bail!(
            "`{name}` is one of Kafka's own topics (names starting with `__` are kept for Kafka, like \
             __consumer_offsets); the lessons never write to or delete them. Pick another name, for example: \
             quickstart-events"
        );
    }
    Ok(())
}

/// The topic's partitions, or None when the cluster has no such topic.
pub async fn topic(bootstrap: &str, topic: &str) -> Result<Option<Vec<PartitionInfo>>> {
    let (bootstrap, topic) = (bootstrap.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        let consumer = client(&bootstrap, None)?;
        let metadata = consumer
            .fetch_metadata(Some(&topic), Timeout::After(Duration::from_secs(10)))
            .with_context(|| format!("Kafka at {bootstrap} did not return metadata"))?;
        let Some(t) = metadata.topics().iter().find(|t| t.name() == topic) else { return Ok(None) };
        if t.error().is_some() || t.partitions().is_empty() {
            return Ok(None);
        }
        let mut partitions: Vec<PartitionInfo> = t
            .partitions()
            .iter()
            .map(|p| PartitionInfo {
                id: p.id(),
                leader: p.leader(),
                replicas: p.replicas().to_vec(),
                isr: p.isr().to_vec(),
            })
            .collect();
        partitions.sort_by_key(|p| p.id);
        Ok(Some(partitions))
    })
    .await?
}

/// (low, high) offsets of each partition: high - low messages are there to read.
pub async fn watermarks(bootstrap: &str, topic: &str, partitions: &[i32]) -> Result<BTreeMap<i32, (i64, i64)>> {
    let (bootstrap, topic, partitions) = (bootstrap.to_string(), topic.to_string(), partitions.to_vec());
    tokio::task::spawn_blocking(move || {
        let consumer = client(&bootstrap, None)?;
        partitions
            .iter()
            .map(|&p| {
                let marks = consumer
                    .fetch_watermarks(&topic, p, Duration::from_secs(10))
                    .with_context(|| format!("Failed to read the offsets of {topic}/{p}"))?;
                Ok((p, marks))
            })
            .collect()
    })
    .await?
}

/// Every message of `topic` from the beginning to its current end, without joining or committing a group.
pub async fn read_all(bootstrap: &str, topic: &str, partitions: &[i32]) -> Result<Vec<Record>> {
    let marks = watermarks(bootstrap, topic, partitions).await?;
    let (bootstrap, topic) = (bootstrap.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        let consumer = client(&bootstrap, None)?;
        let mut assignment = TopicPartitionList::new();
        for (&p, &(low, _)) in &marks {
            assignment.add_partition_offset(&topic, p, Offset::Offset(low))?;
        }
        consumer.assign(&assignment).context("Failed to assign partitions")?;
        let expected: i64 = marks.values().map(|(low, high)| high - low).sum();
        let mut records = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while (records.len() as i64) < expected {
            if Instant::now() > deadline {
                bail!("read {} of {expected} messages of `{topic}` within 60s", records.len());
            }
            let Some(message) = consumer.poll(Duration::from_millis(500)) else { continue };
            let message = message.with_context(|| format!("Failed to read `{topic}`"))?;
            records.push(Record::from_message(&message));
        }
        Ok(records)
    })
    .await?
}

/// The offsets `group` committed on each partition of `topic` (None where it committed nothing).
pub async fn committed(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: &[i32],
) -> Result<BTreeMap<i32, Option<i64>>> {
    let (bootstrap, group, topic, partitions) =
        (bootstrap.to_string(), group.to_string(), topic.to_string(), partitions.to_vec());
    tokio::task::spawn_blocking(move || {
        let consumer = client(&bootstrap, Some(&group))?;
        let mut list = TopicPartitionList::new();
        for &p in &partitions {
            list.add_partition(&topic, p);
        }
        let committed = consumer
            .committed_offsets(list, Duration::from_secs(10))
            .with_context(|| format!("Failed to read the offsets group `{group}` committed"))?;
        Ok(committed
            .elements()
            .iter()
            .map(|e| (e.partition(), if let Offset::Offset(o) = e.offset() { Some(o) } else { None }))
            .collect())
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::validate_topic_name;

    #[test]
    fn topic_names_follow_kafkas_rule() {
        for ok in ["quickstart-events", "a", "a.b_c-D9", &"x".repeat(249)] {
            assert!(validate_topic_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "no spaces", "é", "a/b", &"x".repeat(250)] {
            let err = validate_topic_name(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("is not a valid topic name"), "{bad}: {err}");
        }
    }

    #[test]
    fn kafkas_own_topics_are_refused() {
        for internal in ["__consumer_offsets", "__transaction_state", "__anything"] {
            let err = validate_topic_name(internal).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("one of Kafka's own topics"), "{internal}: {err}");
        }
    }
}
