//! Dead letters: a message the sink cannot store is set aside in its own topic, with why, and the sink
//! goes on; one bad message never halts the pipeline. Each dead letter is a JSON object a learner can
//! read with the console consumer; the message itself stays where it was, at the offset it names.

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeadLetter {
    pub reason: String,
    /// `topic/partition@offset` of the message set aside.
    pub from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// An event's line, as it arrived (files' chunks are bytes, and stay in their topic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
}

impl DeadLetter {
    pub fn of(message: &BorrowedMessage, reason: String, is_event: bool) -> DeadLetter {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        DeadLetter {
            reason,
            from: format!("{}/{}@{}", message.topic(), message.partition(), message.offset()),
            key: message.key().map(text),
            event: if is_event { message.payload().map(text) } else { None },
        }
    }
}

pub struct DeadLetters {
    producer: FutureProducer,
    topic: String,
    runtime: tokio::runtime::Handle,
}

impl DeadLetters {
    pub fn new(
        bootstrap: &str,
        topic: &str,
        runtime: tokio::runtime::Handle,
    ) -> Result<DeadLetters> {
        let producer = crate::kafka::config::producer(bootstrap)
            .set("message.timeout.ms", "60000")
            .create()
            .context(t!("Failed to create the sink's dead-letter producer"))?;
        Ok(DeadLetters { producer, topic: topic.to_string(), runtime })
    }

    /// Sets a message aside and returns once Kafka has it: only then may the sink move past it.
    /// Called from the sink's own thread, never from the async runtime.
    pub fn set_aside(&self, letter: &DeadLetter) -> Result<()> {
        let body = serde_json::to_string(letter)?;
        let key = letter.key.clone().unwrap_or_default();
        let record = FutureRecord::to(&self.topic).key(&key).payload(&body);
        self.runtime.block_on(self.producer.send(record, Duration::from_secs(60))).map_err(
            |(err, _)| {
                anyhow!(t!(
                    "Kafka did not accept a dead letter in {topic}: {err}",
                    topic = self.topic,
                    err
                ))
            },
        )?;
        Ok(())
    }
}

/// The dead letters among `records` of `topic`, oldest first.
pub fn parse(topic: &str, records: &[crate::kafka::records::Record]) -> Vec<DeadLetter> {
    records
        .iter()
        .map(|r| {
            serde_json::from_str(&r.value).unwrap_or_else(|_| DeadLetter {
                reason: t!("(not written by the sink) {value}", value = r.value),
                from: format!("{topic}/{}@{}", r.partition, r.offset),
                key: r.key.clone(),
                event: None,
            })
        })
        .collect()
}
