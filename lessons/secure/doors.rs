//! The doors of the secure broker, tried as a client would try them: each answer is the broker's (or the TLS
//! library's) own verdict, taken as soon as it arrives: a refusal is never a timeout waited out.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{
    BaseProducer, DeliveryResult, FutureProducer, FutureRecord, Producer, ProducerContext,
};
use rdkafka::ClientConfig;

use super::MECHANISM;

/// How long a door may take to answer: a TLS handshake and a SCRAM exchange take well under a second here.
const PATIENCE: Duration = Duration::from_secs(15);
/// How long a failed request's cause may trail it: librdkafka reports both from different threads.
const CAUSE: Duration = Duration::from_secs(2);

/// What a door did with a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Let in: connected, wrote (at this offset) or read.
    Admitted(Option<i64>),
    /// Turned away, with the error's code and the words the client library gave.
    Refused(RDKafkaErrorCode, String),
}

impl Verdict {
    pub fn refused_with(&self, codes: &[RDKafkaErrorCode]) -> bool {
        matches!(self, Verdict::Refused(code, _) if codes.contains(code))
    }

    /// Turned away by the TLS library because the certificate did not verify (not, say, because it expired).
    pub fn certificate_refused(&self) -> bool {
        matches!(self, Verdict::Refused(RDKafkaErrorCode::SSL, reason) if reason.contains("certificate verify failed"))
    }

    pub fn admitted(&self) -> bool {
        matches!(self, Verdict::Admitted(_))
    }

    /// The client library's words, for a refusal.
    pub fn reason(&self) -> String {
        match self {
            Verdict::Admitted(_) => t!("let in").to_string(),
            Verdict::Refused(code, reason) => format!("{reason} ({code:?})"),
        }
    }
}

/// Who knocks, and with what: the protocol, the authority trusted, the user and password.
#[derive(Clone)]
pub struct Client {
    pub bootstrap: String,
    pub protocol: &'static str,
    /// `ssl.ca.location`, a file.
    pub ca_file: Option<std::path::PathBuf>,
    /// `ssl.ca.pem`, the text of an authority's certificate.
    pub ca_pem: Option<String>,
    pub user: Option<(String, String)>,
}

impl Client {
    /// A client as the lesson's users are: SASL_SSL, trusting `secure/tls/ca.pem`.
    pub fn user(bootstrap: &str, ca_file: &Path, user: &str, password: &str) -> Client {
        Client {
            bootstrap: bootstrap.to_string(),
            protocol: "SASL_SSL",
            ca_file: Some(ca_file.to_path_buf()),
            ca_pem: None,
            user: Some((user.to_string(), password.to_string())),
        }
    }

    /// A client that speaks plain Kafka, no TLS, no user.
    pub fn plaintext(bootstrap: &str) -> Client {
        Client {
            bootstrap: bootstrap.to_string(),
            protocol: "PLAINTEXT",
            ca_file: None,
            ca_pem: None,
            user: None,
        }
    }

    pub fn config(&self) -> ClientConfig {
        let mut config = crate::kafka::config(&self.bootstrap);
        // The broker is published on 127.0.0.1 only; `localhost` is also ::1 on many machines, and a refused ::1
        // would be reported before the answer of the door on 127.0.0.1.
        config.set("security.protocol", self.protocol).set("broker.address.family", "v4");
        if let Some(path) = &self.ca_file {
            config.set("ssl.ca.location", path.display().to_string());
        }
        if let Some(pem) = &self.ca_pem {
            config.set("ssl.ca.pem", pem);
        }
        if let Some((user, password)) = &self.user {
            config
                .set("sasl.mechanism", MECHANISM)
                .set("sasl.username", user)
                .set("sasl.password", password);
        }
        config
    }
}

/// Remembers the first error the client library reports: a refused handshake or login arrives only this way.
#[derive(Clone, Default)]
pub struct Watch(Arc<Mutex<Option<(RDKafkaErrorCode, String)>>>);

impl Watch {
    fn first(&self) -> Option<(RDKafkaErrorCode, String)> {
        self.0.lock().ok().and_then(|first| first.clone())
    }
}

impl ClientContext for Watch {
    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail);
        // After the cause, librdkafka says that all brokers are down: that is a consequence.
        if code == RDKafkaErrorCode::AllBrokersDown {
            return;
        }
        if let Ok(mut first) = self.0.lock() {
            first.get_or_insert_with(|| (code, reason.to_string()));
        }
    }
}

impl ConsumerContext for Watch {}

impl ProducerContext for Watch {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

fn failed_to_create() -> String {
    t!("Failed to create a Kafka client").to_string()
}

fn gave_up() -> Verdict {
    Verdict::Refused(
        RDKafkaErrorCode::OperationTimedOut,
        t!("no answer in {seconds} s", seconds = PATIENCE.as_secs()).to_string(),
    )
}

/// Connects and asks for the cluster's metadata.
pub async fn connect(client: &Client) -> Result<Verdict> {
    let producer: BaseProducer<Watch> =
        client.config().create_with_context(Watch::default()).with_context(failed_to_create)?;
    let secured = client.protocol != "PLAINTEXT";
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        while start.elapsed() < PATIENCE {
            producer.poll(Duration::from_millis(50));
            if let Some((code, reason)) = producer.context().first() {
                return Verdict::Refused(code, reason);
            }
            match producer.client().fetch_metadata(None, Duration::from_millis(300)) {
                Ok(_) => return Verdict::Admitted(None),
                // A plaintext client on a TLS port is disconnected, which librdkafka only logs: the request fails.
                Err(err)
                    if err.rdkafka_error_code() != Some(RDKafkaErrorCode::OperationTimedOut) =>
                {
                    // The cause (a refused login, a certificate) may still be on its way: a moment for it. A
                    // plaintext client has no such cause.
                    let failed = Instant::now();
                    while secured
                        && producer.context().first().is_none()
                        && failed.elapsed() < CAUSE
                    {
                        producer.poll(Duration::from_millis(50));
                    }
                    return match producer.context().first() {
                        Some((code, reason)) => Verdict::Refused(code, reason),
                        None => Verdict::Refused(
                            err.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail),
                            err.to_string(),
                        ),
                    };
                }
                Err(_) => {}
            }
        }
        gave_up()
    })
    .await
    .context(failed_to_create())
}

/// Writes one record to `topic`: its offset, or the refusal.
pub async fn produce(client: &Client, topic: &str, payload: &str) -> Result<Verdict> {
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
    client: &Client,
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
