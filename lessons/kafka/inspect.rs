//! Reading the cluster's state back (rdkafka): a topic's partitions, its messages, a group's offsets.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
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

/// A consumer in a group, as the group coordinator describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub client_id: String,
    /// The address it connected from, e.g. `/172.18.0.3`.
    pub host: String,
    /// The partitions the group gave it, `(topic, partition)`, sorted.
    pub partitions: Vec<(String, i32)>,
}

/// A consumer group now: `Stable` once its members have their partitions, `PreparingRebalance` or
/// `CompletingRebalance` while they change, `Empty` with no member, `Dead` when it has no offsets either.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub state: String,
    pub members: Vec<Member>,
}

/// A client with no group: it asks for metadata and offsets, needs no group coordinator, and closes at once.
fn plain_client(bootstrap: &str) -> Result<BaseConsumer> {
    let mut config = config::config(bootstrap);
    config.set("enable.auto.commit", "false");
    config.create().context(t!("Failed to create a Kafka client"))
}

/// A client in `group` that never joins it (no subscribe, no commit): it reads messages by assignment,
/// which librdkafka allows only with a group id, and the offsets the group committed. Looking changes
/// nothing the learner did.
fn group_client(bootstrap: &str, group: &str) -> Result<BaseConsumer> {
    config::consumer(bootstrap, group).create().context(t!("Failed to create a Kafka client"))
}

/// Kafka's rule for topic names: 1 to 249 of `a-z A-Z 0-9 . _ -`, and not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<()> {
    let legal = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if name.is_empty() || name.len() > 249 || !legal || name == "." || name == ".." {
        bail!(t!(
            "`{name}` is not a valid topic name: use 1 to 249 letters, digits, `.`, `_` or `-` \
             (for example: quickstart-events)",
            name
        ));
    }
    if name.starts_with("__") {
        bail!(t!(
            "`{name}` is one of Kafka's own topics (names starting with `__` are kept for Kafka, like \
             __consumer_offsets); the lessons never write to or delete them. Pick another name, for example: \
             quickstart-events",
            name
        ));
    }
    Ok(())
}

/// The clients for the questions a check asks about one cluster: a plain one, made at once, and one in
/// a group, made when a question needs it.
pub struct Inspector {
    bootstrap: String,
    group: String,
    client: BaseConsumer,
    grouped: std::sync::OnceLock<BaseConsumer>,
}

impl Drop for Inspector {
    /// A consumer with a group takes about 100 ms to close, even one that never joined: nobody waits for
    /// that. (One that joined nothing and committed nothing loses nothing if the process ends first.)
    fn drop(&mut self) {
        if let Some(grouped) = self.grouped.take() {
            std::thread::spawn(move || drop(grouped));
        }
    }
}

impl Inspector {
    /// `group` is the one whose committed offsets are asked for, if any.
    pub fn connect(bootstrap: &str, group: Option<&str>) -> Result<Inspector> {
        Ok(Inspector {
            bootstrap: bootstrap.to_string(),
            group: group.unwrap_or("workshop-inspector").to_string(),
            client: plain_client(bootstrap)?,
            grouped: std::sync::OnceLock::new(),
        })
    }

    fn grouped(&self) -> Result<&BaseConsumer> {
        if let Some(client) = self.grouped.get() {
            return Ok(client);
        }
        let client = group_client(&self.bootstrap, &self.group)?;
        Ok(self.grouped.get_or_init(|| client))
    }

    /// The offsets the group committed on each partition of `topic` (None where it committed nothing).
    pub fn committed(&self, topic: &str, partitions: &[i32]) -> Result<BTreeMap<i32, Option<i64>>> {
        let mut list = TopicPartitionList::new();
        for &p in partitions {
            list.add_partition(topic, p);
        }
        let committed =
            self.grouped()?.committed_offsets(list, Duration::from_secs(10)).with_context(
                || t!("Failed to read the offsets group `{group}` committed", group = self.group),
            )?;
        Ok(committed
            .elements()
            .iter()
            .map(|e| {
                (e.partition(), if let Offset::Offset(o) = e.offset() { Some(o) } else { None })
            })
            .collect())
    }

    /// How many messages the group has not read on each partition: from its committed offset (or the
    /// start, where it committed nothing or its offset fell out of retention) to the end.
    pub fn lag(&self, topic: &str, partitions: &[i32]) -> Result<BTreeMap<i32, i64>> {
        let marks = self.watermarks(topic, partitions)?;
        let committed = self.committed(topic, partitions)?;
        Ok(marks
            .iter()
            .map(|(p, &(low, high))| {
                let from = committed.get(p).copied().flatten().unwrap_or(low).max(low);
                (*p, (high - from).max(0))
            })
            .collect())
    }

    /// The members of `group` now: each a consumer that joined it and has not left.
    pub fn members(&self, group: &str) -> Result<Vec<Member>> {
        Ok(self.group(group)?.members)
    }

    /// `group` as its coordinator describes it now: its state and members.
    pub fn group(&self, group: &str) -> Result<Group> {
        let groups = self
            .client
            .fetch_group_list(Some(group), Duration::from_secs(10))
            .with_context(|| t!("Failed to describe consumer group `{group}`", group))?;
        let Some(found) = groups.groups().iter().find(|g| g.name() == group) else {
            return Ok(Group { state: "Dead".to_string(), members: Vec::new() });
        };
        let members = found
            .members()
            .iter()
            .map(|m| Member {
                client_id: m.client_id().to_string(),
                host: m.client_host().to_string(),
                partitions: {
                    let mut assigned =
                        m.assignment().and_then(super::assignment::parse).unwrap_or_default();
                    assigned.sort();
                    assigned
                },
            })
            .collect();
        Ok(Group { state: found.state().to_string(), members })
    }

    /// The ids of the topic's partitions, or None when the cluster has no such topic.
    pub fn partition_ids(&self, topic: &str) -> Result<Option<Vec<i32>>> {
        Ok(self.topic(topic)?.map(|partitions| partitions.iter().map(|p| p.id).collect()))
    }

    /// The topic's partitions, or None when the cluster has no such topic.
    pub fn topic(&self, topic: &str) -> Result<Option<Vec<PartitionInfo>>> {
        let metadata = self.metadata(Some(topic))?;
        let Some(t) = metadata.topics().iter().find(|t| t.name() == topic) else { return Ok(None) };
        if t.error().is_some() || t.partitions().is_empty() {
            return Ok(None);
        }
        Ok(Some(partitions(t)))
    }

    /// Every topic of the cluster with its partitions, Kafka's own (`__consumer_offsets`) included.
    pub fn topics(&self) -> Result<BTreeMap<String, Vec<PartitionInfo>>> {
        let metadata = self.metadata(None)?;
        let topics = metadata.topics().iter().filter(|t| t.error().is_none());
        Ok(topics.map(|t| (t.name().to_string(), partitions(t))).collect())
    }

    fn metadata(&self, topic: Option<&str>) -> Result<rdkafka::metadata::Metadata> {
        self.client.fetch_metadata(topic, Timeout::After(Duration::from_secs(10))).with_context(
            || t!("Kafka at {bootstrap} did not return metadata", bootstrap = self.bootstrap),
        )
    }

    /// (low, high) offsets of each partition: high - low messages are there to read.
    pub fn watermarks(&self, topic: &str, partitions: &[i32]) -> Result<BTreeMap<i32, (i64, i64)>> {
        partitions
            .iter()
            .map(|&p| {
                let marks = self
                    .client
                    .fetch_watermarks(topic, p, Duration::from_secs(10))
                    .with_context(|| t!("Failed to read the offsets of {topic}/{p}", topic, p))?;
                Ok((p, marks))
            })
            .collect()
    }

    /// Every message of `topic` from the beginning to its current end, without joining or committing a group.
    pub fn read_all(&self, topic: &str, partitions: &[i32]) -> Result<Vec<Record>> {
        self.read(topic, partitions, Record::from_message)
    }

    /// As `read_all`, each record with the leader epoch it was written under (`records::leader_epoch`).
    pub fn read_all_stamped(
        &self,
        topic: &str,
        partitions: &[i32],
    ) -> Result<Vec<(Record, Option<i32>)>> {
        self.read(topic, partitions, |m| (Record::from_message(m), super::records::leader_epoch(m)))
    }

    fn read<T>(
        &self,
        topic: &str,
        partitions: &[i32],
        each: impl Fn(&rdkafka::message::BorrowedMessage) -> T,
    ) -> Result<Vec<T>> {
        let marks = self.watermarks(topic, partitions)?;
        let mut assignment = TopicPartitionList::new();
        for (&p, &(low, _)) in &marks {
            assignment.add_partition_offset(topic, p, Offset::Offset(low))?;
        }
        let client = self.grouped()?;
        client.assign(&assignment).context(t!("Failed to assign partitions"))?;
        // Each partition is read up to its own high mark: records written meanwhile are not this read's.
        let mut next: BTreeMap<i32, i64> = marks.iter().map(|(&p, &(low, _))| (p, low)).collect();
        let unread = |next: &BTreeMap<i32, i64>| -> i64 {
            marks
                .iter()
                .map(|(p, &(_, high))| (high - next.get(p).copied().unwrap_or(high)).max(0))
                .sum()
        };
        let mut records = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while unread(&next) > 0 {
            if Instant::now() > deadline {
                bail!(t!(
                    "read {read} of {expected} messages of `{topic}` within 60s",
                    read = records.len(),
                    expected = records.len() as i64 + unread(&next),
                    topic
                ));
            }
            let message = match client.poll(Duration::from_millis(500)) {
                None => continue,
                // A broker of a cluster is down: the client says so, and reads on from the others (until they
                // answer, it may even say that all are down).
                Some(Err(KafkaError::MessageConsumption(
                    RDKafkaErrorCode::BrokerTransportFailure | RDKafkaErrorCode::AllBrokersDown,
                ))) => continue,
                Some(message) => message.with_context(|| t!("Failed to read `{topic}`", topic))?,
            };
            let (partition, offset) = (message.partition(), message.offset());
            // A record the client delivers again (it may fetch anew after a leader change) is read once.
            let fresh = next.get(&partition).is_some_and(|&from| offset >= from);
            if fresh && marks.get(&partition).is_some_and(|&(_, high)| offset < high) {
                next.insert(partition, offset + 1);
                records.push(each(&message));
            }
        }
        client.unassign().context(t!("Failed to unassign partitions"))?;
        Ok(records)
    }
}

/// A topic's partitions as its metadata lists them, in order.
fn partitions(topic: &rdkafka::metadata::MetadataTopic) -> Vec<PartitionInfo> {
    let mut partitions: Vec<PartitionInfo> = topic
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
    partitions
}

/// Asks with one inspector, off the async runtime (librdkafka's calls block).
pub async fn inspect<T, F>(bootstrap: &str, ask: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Inspector) -> Result<T> + Send + 'static,
{
    inspect_group(bootstrap, None, ask).await
}

/// The same, with `group` as the group whose committed offsets are asked for.
pub async fn inspect_group<T, F>(bootstrap: &str, group: Option<&str>, ask: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Inspector) -> Result<T> + Send + 'static,
{
    let (bootstrap, group) = (bootstrap.to_string(), group.map(str::to_string));
    tokio::task::spawn_blocking(move || ask(&Inspector::connect(&bootstrap, group.as_deref())?))
        .await?
}

/// The topic's partitions, or None when the cluster has no such topic.
pub async fn topic(bootstrap: &str, topic: &str) -> Result<Option<Vec<PartitionInfo>>> {
    let topic = topic.to_string();
    inspect(bootstrap, move |k| k.topic(&topic)).await
}

/// (low, high) offsets of each partition: high - low messages are there to read.
pub async fn watermarks(
    bootstrap: &str,
    topic: &str,
    partitions: &[i32],
) -> Result<BTreeMap<i32, (i64, i64)>> {
    let (topic, partitions) = (topic.to_string(), partitions.to_vec());
    inspect(bootstrap, move |k| k.watermarks(&topic, &partitions)).await
}

/// Every message of `topic` from the beginning to its current end, without joining or committing a group.
pub async fn read_all(bootstrap: &str, topic: &str, partitions: &[i32]) -> Result<Vec<Record>> {
    let (topic, partitions) = (topic.to_string(), partitions.to_vec());
    inspect(bootstrap, move |k| k.read_all(&topic, &partitions)).await
}

/// The ids of the topic's partitions, or None when the cluster has no such topic.
pub async fn partition_ids(bootstrap: &str, topic: &str) -> Result<Option<Vec<i32>>> {
    let topic = topic.to_string();
    inspect(bootstrap, move |k| k.partition_ids(&topic)).await
}

/// How many messages of `topic` the group has not read, on all partitions together.
pub async fn unread(bootstrap: &str, group: &str, topic: &str, partitions: &[i32]) -> Result<i64> {
    let (what, topic, partitions) =
        (t!("the offsets group {group} committed", group), topic.to_string(), partitions.to_vec());
    let asked = inspect_group(bootstrap, Some(group), move |k| {
        Ok(k.lag(&topic, &partitions)?.values().sum())
    });
    crate::ui::progress::while_running(&what, asked).await
}

/// The offsets `group` committed on each partition of `topic` (None where it committed nothing).
pub async fn committed(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: &[i32],
) -> Result<BTreeMap<i32, Option<i64>>> {
    let (topic, partitions) = (topic.to_string(), partitions.to_vec());
    inspect_group(bootstrap, Some(group), move |k| k.committed(&topic, &partitions)).await
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
            let err =
                validate_topic_name(internal).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("one of Kafka's own topics"), "{internal}: {err}");
        }
    }
}
