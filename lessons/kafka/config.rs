//! The one client configuration every Kafka client of the workshop starts from.

use rdkafka::ClientConfig;

/// Bootstrap servers and quiet logs: librdkafka's own log lines would interleave with the lessons' output.
/// With a connection profile (`lesson --profile NAME`), its Kafka and settings instead of `bootstrap`: the one
/// Kafka the command works on.
pub fn config(bootstrap: &str) -> ClientConfig {
    match super::profile::current() {
        Some(profile) => profile.connection.config(),
        None => {
            let mut config = base();
            config.set("bootstrap.servers", bootstrap);
            config
        }
    }
}

/// Connections are made at once rather than on first use (sparse connections): a client's first request
/// then takes about 5 ms instead of 55 ms here, and a check asks only a few.
pub fn base() -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("log_level", "3").set("enable.sparse.connections", "false");
    config
}

/// A consumer in `group` that commits only when told to, and starts at the beginning of a partition the
/// group has no offset for.
pub fn consumer(bootstrap: &str, group: &str) -> ClientConfig {
    let mut config = config(bootstrap);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest");
    config
}

/// A producer whose retries never store a message twice: idempotence, which needs acks=all. It chooses a
/// key's partition as Kafka's Java clients and console tools do (murmur2; librdkafka's default is CRC32), so a
/// key sent from Rust lands where the same key sent by `kafka-console-producer` does.
pub fn producer(bootstrap: &str) -> ClientConfig {
    let mut config = config(bootstrap);
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("partitioner", "murmur2_random");
    config
}

/// Has a new idempotent producer ask for its producer id now rather than in 0.5 s. librdkafka asks when a
/// metadata answer arrives; the first comes from the bootstrap address while the connection to the broker it
/// names is still being made, and with no broker up yet it tries again only after 500 ms: every first message
/// waited that long. Two metadata requests more find that broker up (first acknowledgement here: 0.5 s before,
/// 10-15 ms after). Nothing of it is required: a Kafka that does not answer is the first send's to report.
pub async fn ask_producer_id(producer: &rdkafka::producer::FutureProducer) {
    use rdkafka::producer::Producer;
    let producer = producer.clone();
    let asked = tokio::task::spawn_blocking(move || {
        for _ in 0..2 {
            // No topic named: asking for one by name could create it on a broker that creates topics on use.
            if producer.client().fetch_metadata(None, std::time::Duration::from_secs(1)).is_err() {
                break;
            }
        }
    });
    let _ = asked.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_shares_the_base() {
        for c in [config("h:1"), consumer("h:1", "g"), producer("h:1")] {
            assert_eq!(c.get("bootstrap.servers"), Some("h:1"));
            assert_eq!(c.get("log_level"), Some("3"));
        }
        assert_eq!(consumer("h:1", "g").get("enable.auto.commit"), Some("false"));
        assert_eq!(producer("h:1").get("acks"), Some("all"));
    }
}
