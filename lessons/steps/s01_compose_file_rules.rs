//! Step 1's rules for a compose file: the facts `lesson check 1` reports.

use crate::compose_model::{listeners, Service};
use crate::facts::Fact;

/// Images: Kafka 3.x with ZooKeeper support, from maintained images.
pub fn images(zookeeper: &Service, kafka: &Service) -> Vec<Fact> {
    let mut facts = Vec::new();
    for (service, image, wanted) in
        [("zookeeper", &zookeeper.image, "cp-zookeeper"), ("kafka", &kafka.image, "cp-kafka")]
    {
        let what = format!("{service} uses a maintained image with ZooKeeper mode ({image})");
        let fact = if image.contains("wurstmeister") || image.contains("bitnami") {
            Fact::fail(what, format!("{image} is no longer maintained; use confluentinc/{wanted}:7.9.5"))
        } else if image.starts_with("apache/kafka") {
            Fact::fail(what, "apache/kafka runs only without ZooKeeper (KRaft); use confluentinc/cp-kafka:7.9.5")
        } else if image.contains(wanted) && tag(image).starts_with('8') {
            Fact::fail(
                what,
                format!("Confluent 8 is Kafka 4, which removed ZooKeeper; use confluentinc/{wanted}:7.9.5"),
            )
        } else if !image.contains(wanted) {
            Fact::fail(what, format!("The lessons expect confluentinc/{wanted}:7.9.x (its tools and settings)"))
        } else {
            Fact::pass(what)
        };
        facts.push(fact);
    }
    facts
}

fn tag(image: &str) -> &str {
    image.rsplit_once(':').map(|(_, t)| t).filter(|t| !t.contains('/')).unwrap_or("latest")
}

/// ZooKeeper connection, listeners and published ports: what makes the broker reachable from both sides.
pub fn wiring(zookeeper: &Service, kafka: &Service) -> Vec<Fact> {
    let mut facts = Vec::new();
    let zk_port = zookeeper.env("ZOOKEEPER_CLIENT_PORT").unwrap_or("");
    facts.push(Fact::check(
        zk_port == "2181" && zookeeper.published(2181).is_some(),
        "zookeeper listens on 2181 and publishes it to your machine",
        "Set ZOOKEEPER_CLIENT_PORT: 2181 and ports: [\"127.0.0.1:2181:2181\"] on the zookeeper service",
    ));
    let connect = kafka.env("KAFKA_ZOOKEEPER_CONNECT").unwrap_or("");
    facts.push(Fact::check(
        connect.split(',').any(|c| c.trim().starts_with("zookeeper:2181")),
        format!("kafka finds ZooKeeper by its service name (KAFKA_ZOOKEEPER_CONNECT={connect})"),
        "Set KAFKA_ZOOKEEPER_CONNECT: zookeeper:2181 (inside the compose network, localhost is the kafka container itself)",
    ));
    let advertised = listeners(kafka.env("KAFKA_ADVERTISED_LISTENERS").unwrap_or(""));
    let bound = listeners(kafka.env("KAFKA_LISTENERS").unwrap_or(""));
    let for_host = advertised.iter().find(|(name, host, port)| {
        let container_port = bound.iter().find(|(n, _, _)| n == name).map(|(_, _, p)| *p);
        (host == "localhost" || host == "127.0.0.1")
            && container_port.and_then(|p| kafka.published(p)).is_some_and(|published| published.published == *port)
    });
    facts.push(match for_host {
        Some((name, host, port)) => {
            Fact::pass(format!("kafka advertises {name}://{host}:{port} to your machine, and publishes that port"))
        }
        None => Fact::fail(
            "kafka advertises an address your machine can reach",
            "Add a listener advertised as localhost:<published port>, e.g. KAFKA_LISTENERS: INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092, \
             KAFKA_ADVERTISED_LISTENERS: INTERNAL://kafka:29092,EXTERNAL://localhost:9092 and ports: [\"127.0.0.1:9092:9092\"]",
        ),
    });
    let in_network = advertised.iter().any(|(_, host, _)| host == "kafka");
    facts.push(Fact::check(
        in_network,
        "kafka advertises an address containers can reach (kafka:<port>)",
        "Add an INTERNAL listener advertised as kafka:29092 for the broker itself and for tools run in containers",
    ));
    let rf = kafka.env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR").unwrap_or("3 (the default)");
    facts.push(Fact::check(
        rf == "1",
        format!("the offsets topic fits one broker (KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR={rf})"),
        "Set KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: 1; with the default 3 and one broker, consumer groups never work",
    ));
    facts
}

/// Ports only on 127.0.0.1 (advice), and never the Docker socket inside a container (a rule).
pub fn safety(services: &[&Service]) -> Vec<Fact> {
    let open: Vec<u16> = services
        .iter()
        .flat_map(|s| &s.ports)
        .filter(|p| p.host_ip != "127.0.0.1" && p.host_ip != "localhost")
        .map(|p| p.published)
        .collect();
    let mut facts = vec![if open.is_empty() {
        Fact::pass("ports are published on 127.0.0.1 only")
    } else {
        Fact::info(format!(
            "ports {open:?} are open to your whole network; write them as \"127.0.0.1:9092:9092\" to keep them on this machine"
        ))
    }];
    let socket = services.iter().flat_map(|s| &s.volumes).any(|v| v.contains("docker.sock"));
    facts.push(Fact::check(
        !socket,
        "no container mounts the Docker socket",
        "Remove the docker.sock volume: it gives the container full control of your machine, and Kafka never needs it",
    ));
    facts
}
