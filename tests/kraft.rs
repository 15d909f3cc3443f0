//! The KRaft track's stack (`compose/kraft/docker-compose.yml`: Kafka 4, a controller and a broker, no
//! ZooKeeper) on the live engine, started from a learner's folder as lesson 2 starts the other. It serves
//! clients on the host port, its tools are where the official image has them (`/opt/kafka/bin/*.sh`), and the
//! workshop's reading of the controller quorum (`workshop::kafka::quorum`, Kafka's DescribeQuorum) agrees with
//! Kafka's own `kafka-metadata-quorum.sh describe --status`, read between two readings of ours.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use common::Learner;
use workshop::kafka::{admin, quorum, records};
use workshop::stack::engine::{Engine, Health};

const TOOLS: &str = "/opt/kafka/bin";

#[test]
fn kraft_stack_serves_and_its_quorum_agrees_with_kafka() -> Result<()> {
    let l = Learner::new()?;
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("compose/kraft/docker-compose.yml");
    l.write_compose(&std::fs::read_to_string(file)?)?;
    let _down = l.compose_down_on_drop();
    let up = l.compose_command(&["up", "-d"]).output()?;
    ensure!(up.status.success(), "compose up failed:\n{}", String::from_utf8_lossy(&up.stderr));

    let bootstrap = format!("localhost:{}", l.config.kafka_port);
    let runtime = tokio::runtime::Runtime::new()?;
    // Both health checks of the file must come to say healthy: a check that never does would hang learners'
    // `compose up --wait` and every lesson's readiness.
    let engine = runtime.block_on(Engine::connect())?;
    common::wait_for("the controller and the broker to be healthy", || {
        let containers = runtime.block_on(engine.containers(&l.config.project))?;
        let mut healthy: Vec<&str> = containers
            .iter()
            .filter(|c| c.health == Health::Healthy)
            .map(|c| c.service.as_str())
            .collect();
        healthy.sort_unstable();
        Ok(healthy == ["controller", "kafka"])
    })?;
    common::wait_for("the broker to register with the controller", || {
        Ok(runtime
            .block_on(admin::brokers(&bootstrap, Duration::from_secs(3)))
            .is_ok_and(|b| b.iter().map(|b| b.id).eq([1])))
    })?;

    let ours = || -> Result<quorum::Quorum> {
        runtime
            .block_on(quorum::describe(&bootstrap, Duration::from_secs(10)))?
            .context("the KRaft broker answered as one in ZooKeeper mode")
    };
    let before = ours()?;
    let status = tool(
        &l,
        &[
            "kafka-metadata-quorum.sh",
            "--bootstrap-server",
            "localhost:29092",
            "describe",
            "--status",
        ],
    )?;
    let after = ours()?;
    let kafka = Status::parse(&status)?;
    eprintln!("ours before {before:?}\nKafka's {kafka:?}\nours after {after:?}");
    ensure!(
        before.leader == 9 && kafka.leader == 9,
        "the controller (node 9) leads: {before:?} / {kafka:?}"
    );
    for q in [&before, &after] {
        ensure!(
            q.epoch == kafka.epoch,
            "leader epoch {} here, {} in Kafka's tool",
            q.epoch,
            kafka.epoch
        );
        let ids = |r: &[quorum::Replica]| r.iter().map(|r| r.id).collect::<Vec<_>>();
        ensure!(
            ids(&q.voters) == kafka.voters,
            "voters {:?} here, {:?} in Kafka's tool",
            q.voters,
            kafka.voters
        );
        ensure!(
            ids(&q.observers) == kafka.observers,
            "observers {:?} here, {:?} in Kafka's tool",
            q.observers,
            kafka.observers
        );
    }
    ensure!(
        before.high_watermark <= kafka.high_watermark
            && kafka.high_watermark <= after.high_watermark,
        "Kafka's high watermark {} is not between ours, {} and {}",
        kafka.high_watermark,
        before.high_watermark,
        after.high_watermark
    );

    // A topic made with the image's tool, a record from the host, read back.
    let topic = common::random_name("kraft");
    tool(
        &l,
        &[
            "kafka-topics.sh",
            "--bootstrap-server",
            "localhost:29092",
            "--create",
            "--topic",
            &topic,
        ],
    )?;
    let placed =
        runtime.block_on(records::produce(&bootstrap, &topic, &[(Some("k"), "hello KRaft")]))?;
    ensure!(placed == [(0, 0)], "the record landed at {placed:?}");
    let read =
        runtime.block_on(records::consume(&bootstrap, &topic, &common::random_name("group"), 1))?;
    ensure!(
        read.len() == 1 && read[0].value == "hello KRaft",
        "read back {:?}",
        read.first().map(|r| &r.value)
    );
    Ok(())
}

/// `docker compose exec -T kafka /opt/kafka/bin/NAME ARGS`; its standard output, or why it failed.
fn tool(l: &Learner, command: &[&str]) -> Result<String> {
    let mut cmd = vec![format!("{TOOLS}/{}", command[0])];
    cmd.extend(command[1..].iter().map(|s| s.to_string()));
    let out = l.compose_exec(&cmd, None)?;
    ensure!(
        out.status.success(),
        "{} failed:\n{}",
        command[0],
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What `kafka-metadata-quorum.sh describe --status` prints, as `Name: value` lines.
#[derive(Debug)]
struct Status {
    leader: i32,
    epoch: i32,
    high_watermark: i64,
    voters: Vec<i32>,
    observers: Vec<i32>,
}

impl Status {
    fn parse(text: &str) -> Result<Status> {
        let fields: BTreeMap<&str, &str> = text
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let field = |name: &str| {
            fields.get(name).copied().with_context(|| format!("no {name} in:\n{text}"))
        };
        // `[{"id": 9, "endpoints": [...]}, ...]`: the number after each `"id":`.
        let ids = |name: &str| -> Result<Vec<i32>> {
            field(name)?
                .split("\"id\":")
                .skip(1)
                .map(|rest| {
                    let digits: String =
                        rest.trim_start().chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().with_context(|| format!("{name}: {rest}"))
                })
                .collect()
        };
        Ok(Status {
            leader: field("LeaderId")?.parse()?,
            epoch: field("LeaderEpoch")?.parse()?,
            high_watermark: field("HighWatermark")?.parse()?,
            voters: ids("CurrentVoters")?,
            observers: ids("CurrentObservers")?,
        })
    }
}
