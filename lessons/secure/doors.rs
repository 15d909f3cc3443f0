//! The doors of the secure broker, tried as a client would try them (`kafka::connection::verdict` says how a
//! verdict is taken).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::MECHANISM;
use crate::kafka::connection::verdict::{failed_to_create, gave_up, PATIENCE};
use crate::kafka::connection::{Connection, Login, Verdict, Watch};

pub use crate::kafka::connection::connect;

/// A client as the lesson's users are: SASL_SSL, trusting `secure/tls/ca.pem`.
pub fn user(bootstrap: &str, ca_file: &Path, user: &str, password: &str) -> Connection {
    Connection {
        bootstrap: bootstrap.to_string(),
        protocol: "SASL_SSL",
        ca_file: Some(ca_file.to_path_buf()),
        ca_pem: None,
        login: Some(Login {
            mechanism: MECHANISM,
            username: user.to_string(),
            password: password.to_string(),
        }),
    }
}

/// Writes one record to `topic`: its offset, or the refusal.
pub async fn produce(client: &Connection, topic: &str, payload: &str) -> Result<Verdict> {
    let mut config = client.config();
    config.set("message.timeout.ms", PATIENCE.as_millis().to_string());
    let watch = Watch::default();
    let producer: FutureProducer<Watch> =
        config.create_with_context(watch.clone()).with_context(failed_to_create)?;
    let send = producer.send(FutureRecord::<(), str>::to(topic).payload(payload), PATIENCE);
    tokio::pin!(send);
    loop {
        tokio::select! {
            sent = &mut send => return Ok(match sent {
                Ok(delivery) => Verdict::Admitted(Some(delivery.offset)),
                Err((err, _)) => Verdict::Refused(
                    err.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail),
                    err.to_string(),
                ),
            }),
            _ = tokio::time::sleep(Duration::from_millis(50)) => {
                if let Some((code, reason)) = watch.first() {
                    return Ok(Verdict::Refused(code, reason));
                }
            }
        }
    }
}

/// Reads `topic` in `group` until the record at `offset` or a later one arrives, or (when `offset` is None) to
/// the end of its partitions. Commits nothing.
pub async fn consume(
    client: &Connection,
    group: &str,
    topic: &str,
    offset: Option<i64>,
) -> Result<Verdict> {
    let mut config = client.config();
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "true");
    let consumer: BaseConsumer<Watch> =
        config.create_with_context(Watch::default()).with_context(failed_to_create)?;
    consumer.subscribe(&[topic]).context(failed_to_create())?;
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        while start.elapsed() < PATIENCE {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(message)) if offset.is_none_or(|o| message.offset() >= o) => {
                    return Verdict::Admitted(Some(message.offset()));
                }
                // Read to the end: every fetch was allowed.
                Some(Err(KafkaError::PartitionEOF(_))) if offset.is_none() => {
                    return Verdict::Admitted(None);
                }
                Some(Err(KafkaError::PartitionEOF(_))) => {}
                Some(Err(err)) => {
                    let code = err.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail);
                    return Verdict::Refused(code, err.to_string());
                }
                _ => {}
            }
            if let Some((code, reason)) = consumer.context().first() {
                return Verdict::Refused(code, reason);
            }
        }
        gave_up()
    })
    .await
    .context(failed_to_create())
}
