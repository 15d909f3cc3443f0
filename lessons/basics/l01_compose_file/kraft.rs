//! Lesson 1's rules on the KRaft track: a controller and a broker of Apache Kafka 4, one cluster, one quorum.

use crate::lesson::Fact;
use crate::stack::compose_file::{listeners, Service};
use crate::stack::config::HostPorts;
use crate::stack::reference::{healthcheck_in, KRAFT};

use super::rules::{listener_rules, tag};

/// Apache's image, Kafka 4. CI's stand-in of it is named `standin/apache-kafka`.
pub fn images(controller: &Service, kafka: &Service) -> Vec<Fact> {
    [("controller", controller), ("kafka", kafka)]
        .into_iter()
        .map(|(service, s)| {
            let image = &s.image;
            let what = t!("{service} uses Apache Kafka 4 ({image})", service, image);
            if image.contains("kafka-native") {
                Fact::fail(
                    what,
                    t!("apache/kafka-native has no Kafka tools (/opt/kafka/bin); use apache/kafka:4.4.0"),
                )
            } else if !(image.contains("apache/kafka") || image.contains("apache-kafka")) {
                Fact::fail(
                    what,
                    t!("The KRaft track's lessons expect apache/kafka:4.x (its tools in /opt/kafka/bin); use apache/kafka:4.4.0"),
                )
            } else if !tag(image).starts_with('4') {
                Fact::fail(
                    what,
                    t!("The KRaft track is Kafka 4 (ZooKeeper removed); use apache/kafka:4.4.0"),
                )
            } else {
                Fact::pass(what)
            }
        })
        .collect()
}

/// Roles, node ids, the cluster id and the voters: what makes the controller and the broker one cluster.
/// Each is a rule Kafka enforces at start (or `kafka-storage format` does).
pub fn quorum(controller: &Service, kafka: &Service) -> Vec<Fact> {
    let mut facts = Vec::new();
    let roles = |s: &Service| s.env("KAFKA_PROCESS_ROLES").unwrap_or("").to_string();
    let (controller_roles, kafka_roles) = (roles(controller), roles(kafka));
    facts.push(Fact::check(
        controller_roles.split(',').any(|r| r.trim() == "controller"),
        t!(
            "controller runs as a KRaft controller (KAFKA_PROCESS_ROLES={roles})",
            roles = controller_roles
        ),
        t!("Set KAFKA_PROCESS_ROLES: controller on the controller service"),
    ));
    facts.push(Fact::check(
        kafka_roles.split(',').any(|r| r.trim() == "broker"),
        t!("kafka runs as a broker (KAFKA_PROCESS_ROLES={roles})", roles = kafka_roles),
        t!("Set KAFKA_PROCESS_ROLES: broker on the kafka service"),
    ));
    let id = |s: &Service| s.env("KAFKA_NODE_ID").unwrap_or("").to_string();
    let (controller_id, kafka_id) = (id(controller), id(kafka));
    facts.push(Fact::check(
        !controller_id.is_empty() && !kafka_id.is_empty() && controller_id != kafka_id,
        t!(
            "each node has an id of its own (KAFKA_NODE_ID: controller {controller}, kafka {kafka})",
            controller = controller_id,
            kafka = kafka_id
        ),
        t!("Set KAFKA_NODE_ID on both, different numbers: 9 on the controller and 1 on kafka, as the reference file"),
    ));
    let cluster = |s: &Service| s.env("CLUSTER_ID").unwrap_or("").to_string();
    let (controller_cluster, kafka_cluster) = (cluster(controller), cluster(kafka));
    facts.push(Fact::check(
        !controller_cluster.is_empty() && controller_cluster == kafka_cluster,
        t!("both nodes are formatted for one cluster (the same CLUSTER_ID)"),
        t!(
            "Set the same CLUSTER_ID on both (now: controller `{controller}`, kafka `{kafka}`): each node formats its \
             storage with it, and a node of another cluster is refused. Make one: docker run --rm apache/kafka:4.4.0 \
             /opt/kafka/bin/kafka-storage.sh random-uuid",
            controller = controller_cluster,
            kafka = kafka_cluster
        ),
    ));
    facts.extend(voters(controller, kafka, &controller_id));
    facts
}

/// Both nodes name the same voters, and the voter is the controller: `<node id>@controller:<its port>`.
fn voters(controller: &Service, kafka: &Service, controller_id: &str) -> Vec<Fact> {
    let voters = |s: &Service| s.env("KAFKA_CONTROLLER_QUORUM_VOTERS").unwrap_or("").to_string();
    let (on_controller, on_kafka) = (voters(controller), voters(kafka));
    let name = controller.env("KAFKA_CONTROLLER_LISTENER_NAMES").unwrap_or("CONTROLLER");
    let port = listeners(controller.env("KAFKA_LISTENERS").unwrap_or(""))
        .into_iter()
        .find(|(listener, _, _)| listener == name)
        .map(|(_, _, port)| port);
    let expected = port.map(|port| format!("{controller_id}@controller:{port}"));
    let mut facts = vec![Fact::check(
        expected.as_deref().is_some_and(|e| on_controller.split(',').any(|v| v.trim() == e)),
        t!("the controller is the quorum's voter (KAFKA_CONTROLLER_QUORUM_VOTERS={voters})", voters = on_controller),
        t!(
            "Set KAFKA_CONTROLLER_QUORUM_VOTERS: {expected} (node id @ service name : the port of its {name} listener in \
             KAFKA_LISTENERS)",
            expected = expected.as_deref().unwrap_or("9@controller:9093"),
            name
        ),
    )];
    facts.push(Fact::check(
        !on_kafka.is_empty() && on_kafka == on_controller,
        t!("kafka finds the quorum where the controller says it is (the same KAFKA_CONTROLLER_QUORUM_VOTERS)"),
        t!(
            "Set KAFKA_CONTROLLER_QUORUM_VOTERS: {voters} on kafka too (now: `{now}`); the broker asks these voters for \
             the cluster's metadata",
            voters = on_controller,
            now = on_kafka
        ),
    ));
    let kafka_names = kafka.env("KAFKA_CONTROLLER_LISTENER_NAMES").unwrap_or("");
    let mapped = kafka
        .env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP")
        .unwrap_or("")
        .split(',')
        .any(|pair| pair.trim().split_once(':').is_some_and(|(n, _)| n.trim() == kafka_names));
    facts.push(Fact::check(
        !kafka_names.is_empty() && mapped,
        t!("kafka knows how to talk to the controller (KAFKA_CONTROLLER_LISTENER_NAMES={names})", names = kafka_names),
        t!(
            "The broker refuses to start without it. Set on kafka KAFKA_CONTROLLER_LISTENER_NAMES: CONTROLLER and add \
             CONTROLLER:PLAINTEXT to its KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"
        ),
    ));
    facts
}

/// The broker's listeners (as on the ZooKeeper track) and its internal topics sized for one broker.
pub fn broker(kafka: &Service, ports: HostPorts) -> Vec<Fact> {
    let mut facts = listener_rules(kafka, ports);
    let rf = kafka
        .env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR")
        .unwrap_or_else(|| t!("3 (the default)"));
    facts.push(Fact::check(
        rf == "1",
        t!("the offsets topic fits one broker (KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR={rf})", rf),
        t!("Set KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: 1; with the default 3 and one broker, consumer groups never work"),
    ));
    facts
}

/// A health check on each: lesson 3's `(healthy)`, and the broker's `depends_on` the controller's.
pub fn health(controller: &Service, kafka: &Service) -> Vec<Fact> {
    [("controller", controller), ("kafka", kafka)]
        .into_iter()
        .map(|(name, service)| {
            Fact::check(
                service.healthcheck,
                t!("{name} has a health check", name),
                t!(
                    "Without one, Docker cannot tell whether {name} answers: lesson 3 never sees it (healthy). Add \
                     to the {name} service, as in the reference file:\n{healthcheck}",
                    name,
                    healthcheck = healthcheck_in(KRAFT, name)
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::basics::l01_compose_file::facts_of_rendered_on;
    use crate::lesson::Status;
    use crate::stack::config::HostPorts;
    use crate::stack::reference::{interpolate_defaults, KRAFT};
    use crate::stack::track::Track;

    fn failed(text: &str) -> Vec<String> {
        facts_of_rendered_on(Track::KRaft, text, HostPorts::default())
            .unwrap_or_default()
            .into_iter()
            .filter(|f| f.status == Status::Fail)
            .map(|f| f.what)
            .collect()
    }

    fn published() -> String {
        interpolate_defaults(KRAFT, |_| None)
    }

    #[test]
    fn the_reference_passes_every_rule() {
        assert_eq!(failed(&published()), Vec::<String>::new());
    }

    #[test]
    fn each_broken_setting_is_named() {
        let cases = [
            (
                "KAFKA_PROCESS_ROLES: controller",
                "KAFKA_PROCESS_ROLES: broker",
                "controller runs as a KRaft controller",
            ),
            ("KAFKA_NODE_ID: 9", "KAFKA_NODE_ID: 1", "each node has an id of its own"),
            (
                "image: apache/kafka:4.4.0",
                "image: confluentinc/cp-kafka:7.9.5",
                "controller uses Apache Kafka 4",
            ),
            ("CONTROLLER://:9093", "CONTROLLER://:9094", "the controller is the quorum's voter"),
        ];
        for (from, to, named) in cases {
            let text = published();
            assert!(text.contains(from), "no `{from}` in the reference");
            let failed = failed(&text.replacen(from, to, 1));
            assert!(failed.iter().any(|f| f.starts_with(named)), "{from} → {to}: {failed:?}");
        }
    }

    #[test]
    fn the_zookeeper_tracks_file_is_named_as_such() {
        let text = interpolate_defaults(crate::stack::reference::REFERENCE, |_| None);
        let failed = failed(&text);
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert!(failed[0].starts_with("services `controller` and `kafka`"), "{failed:?}");
    }
}
