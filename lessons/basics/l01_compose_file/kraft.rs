//! Lesson 1's rules on the KRaft track: a controller and a broker of Apache Kafka 4, one cluster, one quorum.

use crate::lesson::Fact;
use crate::stack::compose_file::{listeners, Service};
use crate::stack::config::HostPorts;

use super::rules::{listener_rules, offsets_fit_one_broker, tag};

/// The broker's listener settings of the reference file, for fixes that show them.
const REFERENCE_LISTENERS: &str =
    n!("KAFKA_LISTENERS: INTERNAL://:29092,EXTERNAL://:9092\n\
     KAFKA_ADVERTISED_LISTENERS: INTERNAL://kafka:29092,EXTERNAL://localhost:9092\n\
     KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
     KAFKA_INTER_BROKER_LISTENER_NAME: INTERNAL\n\
     and on the kafka service: ports: [\"127.0.0.1:9092:9092\"]");

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

/// The image's cluster id when the file gives none (its entrypoint sets it).
const IMAGE_CLUSTER_ID: &str = "5L6g3nShT-eMCtK--X86sw";

/// Roles, node ids, the cluster id and the voters: what makes the controller and the broker one cluster.
/// Each is a rule Kafka (or the image's entrypoint, or `kafka-storage format`) enforces at start, except the
/// two-container shape, which is this track's.
pub fn quorum(controller: &Service, kafka: &Service) -> Vec<Fact> {
    let mut facts = Vec::new();
    let roles = |s: &Service| s.env("KAFKA_PROCESS_ROLES").unwrap_or("").replace(' ', "");
    let (controller_roles, kafka_roles) = (roles(controller), roles(kafka));
    let combined = t!(
        "A node with both roles (broker,controller) runs fine, but this track's lessons expect two containers: \
         KAFKA_PROCESS_ROLES: controller on the controller service and broker on kafka, as the reference file"
    )
    .to_string();
    facts.push(Fact::check(
        controller_roles == "controller",
        t!(
            "controller runs as a KRaft controller (KAFKA_PROCESS_ROLES={roles})",
            roles = controller_roles
        ),
        if controller_roles.contains("controller") {
            combined.clone()
        } else {
            t!("Set KAFKA_PROCESS_ROLES: controller on the controller service").to_string()
        },
    ));
    facts.push(Fact::check(
        kafka_roles == "broker",
        t!("kafka runs as a broker (KAFKA_PROCESS_ROLES={roles})", roles = kafka_roles),
        if kafka_roles.contains("broker") {
            t!("Kafka refuses a node with the controller role that is not among the voters. {combined}", combined)
        } else {
            t!("Set KAFKA_PROCESS_ROLES: broker on the kafka service").to_string()
        },
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
    facts.push(cluster_id(controller, kafka));
    facts.extend(voters(controller, kafka, &controller_id));
    facts.extend(log_dirs(&[("controller", controller), ("kafka", kafka)]));
    facts
}

/// One cluster id on both nodes. Kafka 4 formats a node with an id in `uuidgen`'s form, or in free text, as
/// well as in its own 22 characters (the corpus shows each run), so only their sameness is a rule.
fn cluster_id(controller: &Service, kafka: &Service) -> Fact {
    let cluster = |s: &Service| s.env("CLUSTER_ID").unwrap_or(IMAGE_CLUSTER_ID).to_string();
    let (on_controller, on_kafka) = (cluster(controller), cluster(kafka));
    Fact::check(
        on_controller == on_kafka,
        t!("both nodes are formatted for one cluster (the same CLUSTER_ID)"),
        t!(
            "Set the same CLUSTER_ID on both (now: controller `{controller}`, kafka `{kafka}`): each node formats its \
             storage with it, and a node of another cluster is refused. Make one: docker run --rm apache/kafka:4.4.0 \
             /opt/kafka/bin/kafka-storage.sh random-uuid",
            controller = on_controller,
            kafka = on_kafka
        ),
    )
}

/// The voters are the controller, reached by its service name on its controller listener, and the broker finds
/// them by the same voters. (Bootstrap servers alone find a quorum that grows, formatted with `--standalone`; with
/// this fixed set of voters the broker finds no voter and stops: the corpus's file shows it.)
fn voters(controller: &Service, kafka: &Service, controller_id: &str) -> Vec<Fact> {
    let mut facts = Vec::new();
    let names = controller.env("KAFKA_CONTROLLER_LISTENER_NAMES").unwrap_or("");
    let name = names.split(',').next().unwrap_or("").trim();
    facts.push(Fact::check(
        !name.is_empty(),
        t!("controller names its controller listener (KAFKA_CONTROLLER_LISTENER_NAMES={names})", names),
        t!("Kafka refuses to start without it. Set KAFKA_CONTROLLER_LISTENER_NAMES: CONTROLLER on the controller"),
    ));
    let port = listeners(controller.env("KAFKA_LISTENERS").unwrap_or(""))
        .into_iter()
        .find(|(listener, _, _)| listener == name)
        .map(|(_, _, port)| port);
    facts.push(Fact::check(
        port.is_some() && controller.env("KAFKA_ADVERTISED_LISTENERS").is_none(),
        t!("controller listens on its controller listener only (KAFKA_LISTENERS)"),
        if port.is_none() {
            t!(
                "Set KAFKA_LISTENERS: {name}://:9093 on the controller: the listener KAFKA_CONTROLLER_LISTENER_NAMES names",
                name = if name.is_empty() { "CONTROLLER" } else { name }
            )
        } else {
            t!("Remove KAFKA_ADVERTISED_LISTENERS from the controller: the image refuses it on a controller").to_string()
        },
    ));
    let voters = |s: &Service| s.env("KAFKA_CONTROLLER_QUORUM_VOTERS").unwrap_or("").to_string();
    let (on_controller, on_kafka) = (voters(controller), voters(kafka));
    if let Some(port) = port {
        let expected = format!("{controller_id}@controller:{port}");
        facts.push(Fact::check(
            on_controller.split(',').any(|v| v.trim() == expected),
            t!("the controller is the quorum's voter (KAFKA_CONTROLLER_QUORUM_VOTERS={voters})", voters = on_controller),
            t!(
                "Set KAFKA_CONTROLLER_QUORUM_VOTERS: {expected} on the controller (node id @ service name : the port of \
                 its {name} listener). The image formats the controller for a fixed set of voters; \
                 KAFKA_CONTROLLER_QUORUM_BOOTSTRAP_SERVERS alone is for a quorum that grows (kafka-storage format \
                 --standalone), which this track does not use",
                expected,
                name
            ),
        ));
        facts.push(Fact::check(
            on_kafka == on_controller,
            t!("kafka finds the quorum where the controller says it is (the same KAFKA_CONTROLLER_QUORUM_VOTERS)"),
            t!(
                "Set KAFKA_CONTROLLER_QUORUM_VOTERS: {voters} on kafka too (now: `{now}`); the broker asks these voters \
                 for the cluster's metadata (KAFKA_CONTROLLER_QUORUM_BOOTSTRAP_SERVERS alone finds only a quorum \
                 formatted to grow, and the broker stops: \"unable to register with the controller quorum\")",
                voters = on_controller,
                now = on_kafka
            ),
        ));
    }
    let kafka_names = kafka.env("KAFKA_CONTROLLER_LISTENER_NAMES").unwrap_or("").trim().to_string();
    let mapped = kafka
        .env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP")
        .unwrap_or("")
        .split(',')
        .any(|pair| pair.trim().split_once(':').is_some_and(|(n, _)| n.trim() == kafka_names));
    let bound_by_broker = listeners(kafka.env("KAFKA_LISTENERS").unwrap_or(""))
        .iter()
        .any(|(listener, _, _)| *listener == kafka_names);
    facts.push(Fact::check(
        !kafka_names.is_empty() && mapped && !bound_by_broker,
        t!("kafka knows how to talk to the controller (KAFKA_CONTROLLER_LISTENER_NAMES={names})", names = kafka_names),
        if bound_by_broker {
            t!(
                "The broker refuses to start: {name} is the controllers' listener, not one of its own. Remove it from \
                 kafka's KAFKA_LISTENERS",
                name = kafka_names
            )
        } else {
            t!(
                "The broker refuses to start without it. Set on kafka KAFKA_CONTROLLER_LISTENER_NAMES: CONTROLLER and add \
                 CONTROLLER:PLAINTEXT to its KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"
            ).to_string()
        },
    ));
    facts
}

/// Each node keeps its log where a volume is mounted: the image's default, without KAFKA_LOG_DIRS, is /tmp,
/// which `docker compose down` throws away with the container.
fn log_dirs(services: &[(&str, &Service)]) -> Vec<Fact> {
    services
        .iter()
        .map(|(name, service)| {
            let dirs = service.env("KAFKA_LOG_DIRS").unwrap_or("");
            let mounted = !dirs.is_empty()
                && dirs.split(',').all(|dir| {
                    service.volumes.iter().any(|v| {
                        // `source:target`, `source:target:rw` as Compose v1 renders it.
                        v.split(':').nth(1).is_some_and(|target| dir.trim().starts_with(target.trim_end_matches('/')))
                    })
                });
            Fact::check(
                mounted,
                t!("{name} keeps its log in a volume (KAFKA_LOG_DIRS={dirs})", name, dirs),
                t!(
                    "Set KAFKA_LOG_DIRS: /var/lib/kafka/data and mount a named volume there (volumes: \
                     [\"{name}-data:/var/lib/kafka/data\"]); without it the log is in the container's /tmp and \
                     every topic is gone with the container",
                    name
                ),
            )
        })
        .collect()
}

/// The broker's listeners (as on the ZooKeeper track) and its internal topics sized for one broker.
pub fn broker(kafka: &Service, ports: HostPorts) -> Vec<Fact> {
    let mut facts = listener_rules(kafka, ports, REFERENCE_LISTENERS, &["CONTROLLER"]);
    facts.push(offsets_fit_one_broker(kafka));
    facts
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
            (
                "      KAFKA_NODE_ID: 1\n",
                "      KAFKA_NODE_ID: 1\n      CLUSTER_ID: anotherKRaftCluster4xA\n",
                "both nodes are formatted for one cluster",
            ),
            (
                "      KAFKA_NODE_ID: 1\n",
                "      KAFKA_NODE_ID: 1\n      KAFKA_CONTROLLER_QUORUM_VOTERS: \"\"\n      KAFKA_CONTROLLER_QUORUM_BOOTSTRAP_SERVERS: controller:9093\n",
                "kafka finds the quorum where the controller says it is",
            ),
            (
                "KAFKA_PROCESS_ROLES: broker",
                "KAFKA_PROCESS_ROLES: broker,controller",
                "kafka runs as a broker",
            ),
            ("  KAFKA_LOG_DIRS: /var/lib/kafka/data\n", "", "controller keeps its log in a volume"),
            (
                "INTERNAL://:29092,EXTERNAL://:9092",
                "INTERNAL://:29092,EXTERNAL://:9092,CONTROLLER://:9093",
                "kafka knows how to talk to the controller",
            ),
            (
                "      KAFKA_LISTENERS: CONTROLLER://:9093\n",
                "",
                "controller listens on its controller listener only",
            ),
        ];
        for (from, to, named) in cases {
            let text = published();
            assert!(text.contains(from), "no `{from}` in the reference");
            let failed = failed(&text.replacen(from, to, 1));
            assert!(failed.iter().any(|f| f.starts_with(named)), "{from} → {to}: {failed:?}");
        }
    }

    /// Files Kafka runs as well: the image's own cluster id on both, a cluster id in `uuidgen`'s form.
    #[test]
    fn what_kafka_accepts_passes() {
        let text = published();
        for (from, to) in [
            ("  CLUSTER_ID: workshopKRaftTrack4xAA\n", ""),
            // As Compose v1 renders a volume.
            (
                "- kraft-controller-data:/var/lib/kafka/data",
                "- kraft-controller-data:/var/lib/kafka/data:rw",
            ),
            (
                "CLUSTER_ID: workshopKRaftTrack4xAA",
                "CLUSTER_ID: 0f8fad5b-d9cb-469f-a165-70867728950e",
            ),
        ] {
            assert!(text.contains(from), "no `{from}` in the reference");
            assert_eq!(failed(&text.replacen(from, to, 1)), Vec::<String>::new(), "{from} → {to}");
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
