//! Step 1's rules for a compose file: the facts `lesson check 1` reports.

use crate::lesson::Fact;
use crate::stack::compose_file::{listeners, Service};
use crate::stack::config::HostPorts;
use crate::stack::reference::healthcheck_in;

/// Images: Kafka 3.x with ZooKeeper support, from maintained images.
pub fn images(zookeeper: &Service, kafka: &Service) -> Vec<Fact> {
    let mut facts = Vec::new();
    for (service, image, wanted) in
        [("zookeeper", &zookeeper.image, "cp-zookeeper"), ("kafka", &kafka.image, "cp-kafka")]
    {
        let what =
            t!("{service} uses a maintained image with ZooKeeper mode ({image})", service, image);
        let fact = if image.contains("wurstmeister") || image.contains("bitnami") {
            Fact::fail(
                what,
                t!(
                    "{image} is no longer maintained; use confluentinc/{wanted}:7.9.5",
                    image,
                    wanted
                ),
            )
        } else if image.starts_with("apache/kafka") {
            Fact::fail(
                what,
                t!("apache/kafka runs only without ZooKeeper (KRaft); use confluentinc/cp-kafka:7.9.5"),
            )
        } else if image.contains(wanted) && tag(image).starts_with('8') {
            Fact::fail(
                what,
                t!("Confluent 8 is Kafka 4, which removed ZooKeeper; use confluentinc/{wanted}:7.9.5", wanted),
            )
        } else if !image.contains(wanted) {
            Fact::fail(
                what,
                t!(
                    "The lessons expect confluentinc/{wanted}:7.9.x (its tools and settings)",
                    wanted
                ),
            )
        } else {
            Fact::pass(what)
        };
        facts.push(fact);
    }
    facts
}

pub(super) fn tag(image: &str) -> &str {
    image.rsplit_once(':').map(|(_, t)| t).filter(|t| !t.contains('/')).unwrap_or("latest")
}

/// ZooKeeper connection, listeners and published ports: what makes the broker start, and reachable from both
/// sides. Each rule is one the broker itself enforces at start, or one without which a client cannot connect.
pub fn wiring(zookeeper: &Service, kafka: &Service, ports: HostPorts) -> Vec<Fact> {
    let mut facts = Vec::new();
    let zk_port = zookeeper.env("ZOOKEEPER_CLIENT_PORT").unwrap_or("");
    let what = t!("zookeeper listens on 2181 and publishes it to your machine");
    facts.push(match zookeeper.published(2181).map(|p| p.published) {
        Some(published) if zk_port == "2181" && published == ports.zookeeper => Fact::pass(what),
        Some(published) if zk_port == "2181" => {
            Fact::fail(what, moved_port("ZooKeeper", "ZOOKEEPER_PORT", 2181, published, ports.zookeeper))
        }
        _ => Fact::fail(
            what,
            t!("Set ZOOKEEPER_CLIENT_PORT: 2181 and ports: [\"127.0.0.1:${ZOOKEEPER_PORT:-2181}:2181\"] on the zookeeper service"),
        ),
    });
    let connect = kafka.env("KAFKA_ZOOKEEPER_CONNECT").unwrap_or("");
    facts.push(Fact::check(
        connect.split(',').any(|c| c.trim().starts_with("zookeeper:2181")),
        t!("kafka finds ZooKeeper by its service name (KAFKA_ZOOKEEPER_CONNECT={connect})", connect),
        t!("Set KAFKA_ZOOKEEPER_CONNECT: zookeeper:2181 (inside the compose network, localhost is the kafka container itself)"),
    ));
    facts.push(match kafka.env("KAFKA_BROKER_ID") {
        Some(id) => Fact::pass(t!("kafka has a fixed broker id (KAFKA_BROKER_ID={id})", id)),
        None => Fact::info(t!(
            "kafka has no KAFKA_BROKER_ID, so the broker takes a generated id (1001) and lesson 3 shows [1001], not [1]"
        )),
    });
    facts.extend(listener_rules(kafka, ports, REFERENCE_LISTENERS, &[]));
    facts.push(offsets_fit_one_broker(kafka));
    facts
}

/// With the default replication factor of 3 and one broker, the offsets topic cannot be created.
pub(super) fn offsets_fit_one_broker(kafka: &Service) -> Fact {
    let rf = kafka
        .env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR")
        .unwrap_or_else(|| t!("3 (the default)"));
    Fact::check(
        rf == "1",
        t!("the offsets topic fits one broker (KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR={rf})", rf),
        t!("Set KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: 1; with the default 3 and one broker, consumer groups never work"),
    )
}

const REFERENCE_LISTENERS: &str =
    n!("KAFKA_LISTENERS: INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092\n\
     KAFKA_ADVERTISED_LISTENERS: INTERNAL://kafka:29092,EXTERNAL://localhost:9092\n\
     KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT\n\
     KAFKA_INTER_BROKER_LISTENER_NAME: INTERNAL\n\
     and on the kafka service: ports: [\"127.0.0.1:9092:9092\"]");

/// The four listener settings, as the broker reads them: each listener needs a security protocol, each
/// advertised listener a bound one, brokers talk on a listener they advertise, and there must be an address
/// for your machine (localhost and a published port) and one for containers (kafka:<port>).
/// `reference` is the listener settings of the track's reference file (a message to translate); `extra` the
/// listener names the protocol map must also hold (the KRaft broker's CONTROLLER).
pub(super) fn listener_rules(
    kafka: &Service,
    ports: HostPorts,
    reference: &str,
    extra: &[&str],
) -> Vec<Fact> {
    let mut facts = Vec::new();
    let advertised = listeners(kafka.env("KAFKA_ADVERTISED_LISTENERS").unwrap_or(""));
    if advertised.is_empty() {
        facts.push(Fact::fail(
            t!("kafka advertises its listeners (KAFKA_ADVERTISED_LISTENERS)"),
            t!(
                "The broker does not start without them. Write, as in the reference file:\n{listeners}",
                listeners = crate::ui::lang::tr(reference)
            ),
        ));
        return facts;
    }
    // Like Confluent's image: without KAFKA_LISTENERS, it binds every advertised listener on 0.0.0.0.
    let bound = match kafka.env("KAFKA_LISTENERS") {
        Some(value) => listeners(value),
        None => advertised
            .iter()
            .map(|(name, _, port)| (name.clone(), "0.0.0.0".to_string(), *port))
            .collect(),
    };
    let map = protocol_map(kafka.env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"));
    let extra: Vec<String> = extra.iter().map(|n| n.to_string()).collect();
    let mut names: Vec<&String> =
        advertised.iter().chain(&bound).map(|(name, _, _)| name).chain(&extra).collect();
    names.sort();
    names.dedup();
    let unmapped: Vec<&str> =
        names.iter().filter(|n| !map.iter().any(|(m, _)| m == **n)).map(|n| n.as_str()).collect();
    let wanted_map = names.iter().map(|n| format!("{n}:PLAINTEXT")).collect::<Vec<_>>().join(",");
    facts.push(Fact::check(
        unmapped.is_empty(),
        t!("every listener has a security protocol (KAFKA_LISTENER_SECURITY_PROTOCOL_MAP)"),
        t!(
            "The broker refuses to start: no security protocol for listener {listeners}. Set\n\
             KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: {wanted_map}",
            listeners = unmapped.join(", "),
            wanted_map
        ),
    ));
    let unbound: Vec<&str> = advertised
        .iter()
        .filter(|(name, _, _)| !bound.iter().any(|(b, _, _)| b == name))
        .map(|(name, _, _)| name.as_str())
        .collect();
    facts.push(Fact::check(
        unbound.is_empty(),
        t!("every advertised listener is bound (KAFKA_LISTENERS)"),
        t!(
            "The broker refuses to start: {listeners} is advertised but not in KAFKA_LISTENERS. Bind each advertised \
             name on 0.0.0.0, e.g. KAFKA_LISTENERS: INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092",
            listeners = unbound.join(", ")
        ),
    ));
    let mut bound_ports: Vec<u16> = bound.iter().map(|(_, _, port)| *port).collect();
    bound_ports.sort();
    let shared: Vec<String> =
        bound_ports.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0].to_string()).collect();
    facts.push(Fact::check(
        shared.is_empty(),
        t!("each listener binds a port of its own (KAFKA_LISTENERS)"),
        t!(
            "The broker refuses to start: port {ports} is bound by two listeners. Give each its own, e.g. \
             INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092",
            ports = shared.join(", ")
        ),
    ));
    let inter = kafka.env("KAFKA_INTER_BROKER_LISTENER_NAME").unwrap_or("PLAINTEXT");
    let internal_name =
        advertised.iter().find(|(_, host, _)| host == "kafka").map_or("INTERNAL", |(n, _, _)| n);
    facts.push(Fact::check(
        advertised.iter().any(|(name, _, _)| name == inter),
        t!("brokers talk to each other on an advertised listener (KAFKA_INTER_BROKER_LISTENER_NAME={inter})", inter),
        t!(
            "The broker refuses to start: `{inter}` is not one of its advertised listeners. Set \
             KAFKA_INTER_BROKER_LISTENER_NAME: {internal_name}",
            inter,
            internal_name
        ),
    ));
    let for_host = advertised.iter().find(|(name, host, port)| {
        let container_port = bound.iter().find(|(n, _, _)| n == name).map(|(_, _, p)| *p);
        (host == "localhost" || host == "127.0.0.1")
            && container_port
                .and_then(|p| kafka.published(p))
                .is_some_and(|published| published.published == *port)
    });
    facts.push(match for_host {
        Some((name, host, port)) if *port == ports.kafka => {
            Fact::pass(t!("kafka advertises {name}://{host}:{port} to your machine, and publishes that port", name, host, port))
        }
        Some((_, _, port)) => Fact::fail(
            t!("kafka advertises an address your machine can reach"),
            t!(
                "{moved}\nAdvertise the same port: EXTERNAL://localhost:${KAFKA_PORT:-9092}",
                moved = moved_port("Kafka", "KAFKA_PORT", 9092, *port, ports.kafka)
            ),
        ),
        None => Fact::fail(
            t!("kafka advertises an address your machine can reach"),
            t!(
                "Programs on your machine need a listener advertised as localhost:<port> whose container port is \
                 published on that same port. As in the reference file:\n{listeners}",
                listeners = crate::ui::lang::tr(reference)
            ),
        ),
    });
    facts.push(Fact::check(
        advertised.iter().any(|(_, host, _)| host == "kafka"),
        t!("kafka advertises an address containers can reach (kafka:<port>)"),
        t!("Add a listener advertised as kafka:29092 (e.g. INTERNAL://kafka:29092) for the broker itself and for tools \
         run in containers"),
    ));
    facts
}

/// The file publishes `service` on another host port than the one the lessons connect to.
pub(super) fn moved_port(
    service: &str,
    var: &str,
    default: u16,
    published: u16,
    expected: u16,
) -> String {
    let write = format!("\"127.0.0.1:${{{var}:-{default}}}:{default}\"");
    if expected == default {
        t!(
            "The lessons reach {service} on 127.0.0.1:{expected}, but this file publishes {published}. Publish {write} \
             as the reference file does, or `export {var}={published}` so the lessons follow your file.",
            service,
            expected,
            published,
            write,
            var
        )
    } else {
        t!(
            "{var}={expected} is set, so the lessons reach {service} on 127.0.0.1:{expected}, but this file publishes \
             {published}. Publish {write} as the reference file does, or `unset {var}`.",
            var,
            expected,
            service,
            published,
            write
        )
    }
}

/// Health checks: lesson 3's `(healthy)` and `depends_on: condition: service_healthy` need one on each service;
/// the fix shows the block of the track's reference file (`reference`).
pub fn health(reference: &str, services: [(&str, &Service); 2]) -> Vec<Fact> {
    services
        .into_iter()
        .map(|(name, service)| {
            Fact::check(
                service.healthcheck,
                t!("{name} has a health check", name),
                t!(
                    "Without one, Docker cannot tell whether {name} answers: lesson 3 never sees it (healthy). Add \
                     to the {name} service, as in the reference file:\n{healthcheck}",
                    name,
                    healthcheck = healthcheck_in(reference, name)
                ),
            )
        })
        .collect()
}

/// `INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT` → pairs; unset, Kafka's default map.
fn protocol_map(value: Option<&str>) -> Vec<(String, String)> {
    let value = value
        .unwrap_or("PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL");
    value
        .split(',')
        .filter_map(|pair| pair.trim().split_once(':'))
        .map(|(name, protocol)| (name.trim().to_string(), protocol.trim().to_string()))
        .collect()
}

/// Ports only on 127.0.0.1 (advice), and never the Docker socket inside a container (a rule).
pub fn safety(services: &[&Service]) -> Vec<Fact> {
    let open: Vec<&crate::stack::compose_file::Port> = services
        .iter()
        .flat_map(|s| &s.ports)
        .filter(|p| p.host_ip != "127.0.0.1" && p.host_ip != "localhost")
        .collect();
    let mut facts = vec![if open.is_empty() {
        Fact::pass(t!("ports are published on 127.0.0.1 only"))
    } else {
        let published: Vec<String> = open.iter().map(|p| p.published.to_string()).collect();
        let safe: Vec<String> =
            open.iter().map(|p| format!("\"127.0.0.1:{}:{}\"", p.published, p.target)).collect();
        Fact::info(t!(
            "ports {published} are open to your whole network; write them as {safe} to keep them on this machine",
            published = published.join(", "),
            safe = safe.join(", ")
        ))
    }];
    let mut published: Vec<u16> =
        services.iter().flat_map(|s| &s.ports).map(|p| p.published).collect();
    published.sort();
    let twice: Vec<String> =
        published.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0].to_string()).collect();
    facts.push(Fact::check(
        twice.is_empty(),
        t!("each host port is published once"),
        t!(
            "Host port {ports} is published twice: the second container cannot start. Publish ZooKeeper on \
             2181 and Kafka on 9092 (\"127.0.0.1:2181:2181\", \"127.0.0.1:9092:9092\")",
            ports = twice.join(", ")
        ),
    ));
    let socket = services.iter().flat_map(|s| &s.volumes).any(|v| v.contains("docker.sock"));
    facts.push(Fact::check(
        !socket,
        t!("no container mounts the Docker socket"),
        t!("Remove the docker.sock volume: it gives the container full control of your machine, and Kafka never needs it"),
    ));
    facts
}

#[cfg(test)]
mod tests {
    use crate::basics::l01_compose_file::facts_of_rendered;
    use crate::lesson::{Fact, Status};
    use crate::stack::config::HostPorts;
    use crate::stack::reference::as_published;

    /// The reference file with `from` replaced by `to` (which must be there), checked.
    fn facts_with(from: &str, to: &str) -> Vec<Fact> {
        let reference = as_published();
        assert!(reference.contains(from), "the reference has no `{from}`");
        facts_of_rendered(&reference.replace(from, to), HostPorts::default()).unwrap_or_default()
    }

    fn failed(facts: &[Fact]) -> Vec<String> {
        facts.iter().filter(|f| f.status == Status::Fail).map(|f| f.what.clone()).collect()
    }

    #[test]
    fn the_reference_file_passes_every_rule() {
        let facts = facts_of_rendered(&as_published(), HostPorts::default()).unwrap_or_default();
        assert!(facts.len() > 10, "{facts:?}");
        assert_eq!(failed(&facts), Vec::<String>::new());
    }

    #[test]
    fn listeners_without_a_protocol_are_refused_as_the_broker_refuses_them() {
        let facts = facts_with(
            "      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT\n",
            "",
        );
        assert_eq!(
            failed(&facts),
            ["every listener has a security protocol (KAFKA_LISTENER_SECURITY_PROTOCOL_MAP)"]
        );
        let fix = facts.iter().find_map(|f| f.fix.clone()).unwrap_or_default();
        assert!(fix.contains("no security protocol for listener EXTERNAL, INTERNAL"), "{fix}");
        assert!(
            fix.contains(
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: EXTERNAL:PLAINTEXT,INTERNAL:PLAINTEXT"
            ),
            "{fix}"
        );
    }

    #[test]
    fn inter_broker_listener_must_be_advertised() {
        let facts = facts_with("      KAFKA_INTER_BROKER_LISTENER_NAME: INTERNAL\n", "");
        assert_eq!(
            failed(&facts),
            ["brokers talk to each other on an advertised listener (KAFKA_INTER_BROKER_LISTENER_NAME=PLAINTEXT)"]
        );
        assert!(facts
            .iter()
            .any(|f| f.fix.as_deref().is_some_and(|x| x.ends_with("NAME: INTERNAL"))));
    }

    #[test]
    fn missing_bind_addresses_are_derived_as_the_image_does() {
        let facts = facts_with(
            "      KAFKA_LISTENERS: INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092\n",
            "",
        );
        assert_eq!(failed(&facts), Vec::<String>::new());
    }

    #[test]
    fn an_advertised_listener_that_is_not_bound_is_named() {
        let facts = facts_with(
            "INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092",
            "INTERNAL://0.0.0.0:29092",
        );
        assert!(failed(&facts)
            .contains(&"every advertised listener is bound (KAFKA_LISTENERS)".to_string()));
    }

    #[test]
    fn an_address_the_host_cannot_reach_is_blamed_on_the_advertised_listener() {
        let facts = facts_with("EXTERNAL://localhost:9092", "EXTERNAL://kafka:9092");
        assert_eq!(failed(&facts), ["kafka advertises an address your machine can reach"]);
        let unpublished = facts_with("      - \"127.0.0.1:9092:9092\"\n", "");
        assert_eq!(failed(&unpublished), ["kafka advertises an address your machine can reach"]);
    }

    #[test]
    fn ports_bound_or_published_twice_are_refused() {
        let facts = facts_with(
            "INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092",
            "INTERNAL://0.0.0.0:9092,EXTERNAL://0.0.0.0:9092",
        );
        assert_eq!(failed(&facts), ["each listener binds a port of its own (KAFKA_LISTENERS)"]);
        let facts = facts_with("\"127.0.0.1:2181:2181\"", "\"127.0.0.1:9092:2181\"");
        assert!(
            failed(&facts).contains(&"each host port is published once".to_string()),
            "{facts:?}"
        );
    }

    #[test]
    fn offsets_topic_and_zookeeper_connection() {
        let facts = facts_with(
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: 1",
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: 3",
        );
        assert_eq!(
            failed(&facts),
            ["the offsets topic fits one broker (KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=3)"]
        );
        let facts = facts_with(
            "KAFKA_ZOOKEEPER_CONNECT: zookeeper:2181",
            "KAFKA_ZOOKEEPER_CONNECT: localhost:2181",
        );
        assert_eq!(
            failed(&facts),
            ["kafka finds ZooKeeper by its service name (KAFKA_ZOOKEEPER_CONNECT=localhost:2181)"]
        );
    }

    #[test]
    fn images_without_zookeeper_mode_or_maintenance_are_refused() {
        for (image, why) in [
            ("confluentinc/cp-kafka:8.0.0", "Confluent 8 is Kafka 4"),
            ("apache/kafka:4.1.0", "runs only without ZooKeeper"),
            ("wurstmeister/kafka:2.13-2.8.1", "no longer maintained"),
            ("bitnami/kafka:3.9", "no longer maintained"),
        ] {
            let facts = facts_with("confluentinc/cp-kafka:7.9.5", image);
            let fix = facts.iter().filter(|f| f.status == Status::Fail).find_map(|f| f.fix.clone());
            assert!(fix.as_deref().is_some_and(|f| f.contains(why)), "{image}: {fix:?}");
        }
    }

    #[test]
    fn ports_the_lessons_do_not_connect_to_are_named_with_their_variable() {
        let moved = HostPorts { kafka: 19092, zookeeper: 12181 };
        let facts = facts_of_rendered(&as_published(), moved).unwrap_or_default();
        assert_eq!(
            failed(&facts),
            [
                "zookeeper listens on 2181 and publishes it to your machine",
                "kafka advertises an address your machine can reach"
            ]
        );
        let fixes: Vec<String> = facts.iter().filter_map(|f| f.fix.clone()).collect();
        assert!(
            fixes[0].starts_with("ZOOKEEPER_PORT=12181 is set")
                && fixes[0].contains("`unset ZOOKEEPER_PORT`")
        );
        assert!(
            fixes[1].contains("\"127.0.0.1:${KAFKA_PORT:-9092}:9092\"")
                && fixes[1].contains("localhost:${KAFKA_PORT:-9092}")
        );
        let hard_coded = as_published()
            .replace("127.0.0.1:9092:9092", "127.0.0.1:19092:9092")
            .replace("localhost:9092", "localhost:19092");
        let facts = facts_of_rendered(&hard_coded, HostPorts::default()).unwrap_or_default();
        assert_eq!(failed(&facts), ["kafka advertises an address your machine can reach"]);
        assert!(facts
            .iter()
            .any(|f| f.fix.as_deref().is_some_and(|x| x.contains("`export KAFKA_PORT=19092`"))));
    }

    #[test]
    fn health_checks_and_broker_id_are_asked_for_as_lesson_1_says() {
        let reference = as_published();
        let start = reference
            .find("    healthcheck:\n      test: [\"CMD-SHELL\", \"kafka")
            .unwrap_or_default();
        let end = reference[start..]
            .find("start_period: 20s\n")
            .map_or(start, |e| start + e + "start_period: 20s\n".len());
        let facts = facts_of_rendered(
            &format!("{}{}", &reference[..start], &reference[end..]),
            HostPorts::default(),
        )
        .unwrap_or_default();
        assert_eq!(failed(&facts), ["kafka has a health check"]);
        assert!(facts
            .iter()
            .any(|f| f.fix.as_deref().is_some_and(|x| x.contains("kafka-broker-api-versions"))));
        let facts = facts_with("      KAFKA_BROKER_ID: 1\n", "");
        assert_eq!(failed(&facts), Vec::<String>::new());
        assert!(facts.iter().any(|f| f.status == Status::Info && f.what.contains("1001")));
    }

    #[test]
    fn open_ports_are_shown_as_they_should_be_written() {
        let facts = facts_with("\"127.0.0.1:2181:2181\"", "\"2181:2181\"");
        let info = facts
            .iter()
            .find(|f| f.status == Status::Info)
            .map(|f| f.what.clone())
            .unwrap_or_default();
        assert_eq!(
            info,
            "ports 2181 are open to your whole network; write them as \"127.0.0.1:2181:2181\" to keep them on this machine"
        );
    }

    #[test]
    fn the_docker_socket_is_refused_and_services_are_named() {
        let facts = facts_with(
            "      - kafka-data:/var/lib/kafka/data\n",
            "      - /var/run/docker.sock:/var/run/docker.sock\n",
        );
        assert_eq!(failed(&facts), ["no container mounts the Docker socket"]);
        let facts = facts_of_rendered("services:\n  broker:\n    image: x\n", HostPorts::default())
            .unwrap_or_default();
        assert_eq!(failed(&facts), ["services `zookeeper` and `kafka` are defined"]);
    }
}
