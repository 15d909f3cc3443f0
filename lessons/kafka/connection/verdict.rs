//! A connection tried as a client would try it: each answer is the broker's (or the TLS library's) own
//! verdict, taken as soon as it arrives: a refusal is never a timeout waited out.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use rdkafka::client::ClientContext;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer, ProducerContext};

use super::Connection;

/// How long a connection may take to answer: a TLS handshake and a SCRAM exchange take well under a second here.
pub const PATIENCE: Duration = Duration::from_secs(15);
/// How long a failed request's cause may trail it: librdkafka reports both from different threads.
const CAUSE: Duration = Duration::from_secs(2);
/// After a connection failed without a verdict (refused, unreachable), how long the client may try the
/// bootstrap's other addresses: another broker of the list, or the IPv4 address of a name whose IPv6 one
/// does not answer. librdkafka tries the next after 100 ms.
const OTHER_ADDRESSES: Duration = Duration::from_secs(3);

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
    /// librdkafka reports it as an SSL error when the handshake fails, or as a transport failure when the
    /// connection's first read finds it (seen in a test run here): the same verdict either way.
    pub fn certificate_refused(&self) -> bool {
        matches!(
            self,
            Verdict::Refused(RDKafkaErrorCode::SSL | RDKafkaErrorCode::BrokerTransportFailure, reason)
                if reason.contains("certificate verify failed")
        )
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

/// Remembers the errors the client library reports: a refused handshake or login arrives only this way.
#[derive(Clone, Default)]
pub struct Watch(Arc<Mutex<Vec<(RDKafkaErrorCode, String)>>>);

impl Watch {
    /// The first verdict on the client itself (its login, the certificate) if any came, else the first error.
    pub fn first(&self) -> Option<(RDKafkaErrorCode, String)> {
        let seen = self.0.lock().ok()?;
        seen.iter().find(|(code, reason)| definitive(*code, reason)).or(seen.first()).cloned()
    }
}

/// A verdict on the client that another address of the same Kafka would give too: a refused login or
/// certificate, a mechanism or protocol the broker does not take. A connection refused or unreachable is not.
pub fn definitive(code: RDKafkaErrorCode, reason: &str) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::Authentication
            | RDKafkaErrorCode::SaslAuthenticationFailed
            | RDKafkaErrorCode::UnsupportedSASLMechanism
            | RDKafkaErrorCode::IllegalSASLState
            | RDKafkaErrorCode::SSL
    ) || [
        "certificate verify failed",
        // TLS to a plaintext listener, and plaintext to a TLS one: the protocol, on every address.
        "SSL handshake failed",
        "incorrect security.protocol",
    ]
    .iter()
    .any(|words| reason.contains(words))
}

impl ClientContext for Watch {
    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail);
        // After the cause, librdkafka says that all brokers are down: that is a consequence.
        if code == RDKafkaErrorCode::AllBrokersDown {
            return;
        }
        if let Ok(mut seen) = self.0.lock() {
            seen.push((code, reason.to_string()));
        }
    }
}

impl ConsumerContext for Watch {}

impl ProducerContext for Watch {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

pub fn failed_to_create() -> String {
    t!("Failed to create a Kafka client").to_string()
}

pub fn gave_up() -> Verdict {
    Verdict::Refused(
        RDKafkaErrorCode::OperationTimedOut,
        t!("no answer in {seconds} s", seconds = PATIENCE.as_secs()).to_string(),
    )
}

/// Connects and asks for the cluster's metadata.
pub async fn connect(client: &Connection) -> Result<Verdict> {
    let producer: BaseProducer<Watch> =
        client.config().create_with_context(Watch::default()).with_context(failed_to_create)?;
    let secured = client.protocol != "PLAINTEXT";
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let mut failed_once: Option<Instant> = None;
        while start.elapsed() < PATIENCE {
            producer.poll(Duration::from_millis(50));
            if let Some((code, reason)) = producer.context().first() {
                let failed = *failed_once.get_or_insert_with(Instant::now);
                if definitive(code, &reason) || failed.elapsed() >= OTHER_ADDRESSES {
                    return Verdict::Refused(code, reason);
                }
            }
            match producer.client().fetch_metadata(None, Duration::from_millis(300)) {
                Ok(_) => return Verdict::Admitted(None),
                Err(err)
                    if err.rdkafka_error_code() == Some(RDKafkaErrorCode::OperationTimedOut) => {}
                // No broker connected within the request's time: over TLS, a handshake over a long way is slow,
                // and a refusal reaches the Watch above. (A plaintext client on a TLS port is disconnected, which
                // librdkafka only logs: its request fails so, below.)
                Err(err)
                    if secured
                        && err.rdkafka_error_code()
                            == Some(RDKafkaErrorCode::BrokerTransportFailure) => {}
                Err(err) => {
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
            }
        }
        gave_up()
    })
    .await
    .context(failed_to_create())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_address_waits_for_the_others_a_refused_client_does_not() {
        let refused =
            "localhost:9093/bootstrap: Connect to ipv6#[::1]:9093 failed: Connection refused";
        assert!(!definitive(RDKafkaErrorCode::BrokerTransportFailure, refused));
        let certificate =
            "SSL handshake failed: error:0A000086:SSL routines::certificate verify failed";
        assert!(definitive(RDKafkaErrorCode::BrokerTransportFailure, certificate));
        assert!(definitive(RDKafkaErrorCode::Authentication, "SASL SCRAM-SHA-512 failed"));

        let watch = Watch::default();
        for (code, reason) in [
            (RDKafkaErrorCode::BrokerTransportFailure, refused),
            (RDKafkaErrorCode::Authentication, "SASL SCRAM-SHA-512 failed"),
        ] {
            watch.error(KafkaError::MessageProduction(code), reason);
        }
        assert_eq!(watch.first().map(|(code, _)| code), Some(RDKafkaErrorCode::Authentication));
    }
}
