//! The KRaft track (`lesson --track kraft`: Kafka 4, a controller and a broker, no ZooKeeper) through the real
//! binary on the live engine: the folder remembers its track, lessons 1–7 write, start, check, use and remove
//! the stack of `compose/kraft/docker-compose.yml`, and their checks read the KRaft facts. On the running stack,
//! the workshop's reading of the controller quorum (`workshop::kafka::quorum`, Kafka's DescribeQuorum) is held
//! against Kafka's own `kafka-metadata-quorum.sh describe --status`, read between two readings of ours.
//! Lessons 8 and 9 on the track's own cluster are in tests/live/kraft_cluster.rs.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use common::{Learner, NOT_DONE};
use workshop::kafka::{quorum, records};
use workshop::stack::engine::{Engine, Health};

const TOOLS: &str = "/opt/kafka/bin";

#[test]
fn kraft_track_through_the_lessons() -> Result<()> {
    let _memory = common::memory::reserve(1_000); // the KRaft track's stack
    let l = Learner::new()?;
    let _down = l.compose_down_on_drop();
    let switched = l.lesson(&["--track", "kraft", "check", "1"])?;
    ensure!(switched.code == NOT_DONE, "check 1 before lesson 1 exited {}", switched.code);
    snapshot!("kraft_track_chosen", switched.stderr);
    // The same in Portuguese, in a folder of its own (the first has switched already).
    let other = Learner::new()?;
    let chosen = other.lesson(&["--lang", "pt-BR", "--track", "kraft", "check", "1"])?;
    snapshot!("kraft_track_chosen_pt_br", chosen.stderr);
    ensure!(
        std::fs::read_to_string(l.config.dir.join(".lesson/track"))?.trim() == "kraft",
        "the folder does not remember the KRaft track"
    );
    // From here on, no --track: the folder remembers it.
    l.expect(&["1", "--run"], 0)?;
    let written = std::fs::read_to_string(l.config.compose_file())?;
    let reference =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("compose/kraft/docker-compose.yml");
    ensure!(
        written == std::fs::read_to_string(reference)?,
        "lesson 1 did not write the KRaft track's file"
    );
    snapshot!("kraft_l01_check", l.expect(&["check", "1"], 0)?);

    let started = l.expect(&["2", "--run"], 0)?;
    ensure!(
        started.contains("The controller quorum answers: leader 9"),
        "lesson 2 said:\n{started}"
    );
    snapshot!("kraft_l02_check", l.expect(&["check", "2"], 0)?);
    snapshot_both!("kraft_l03_check", l, &["check", "3"], 0);
    let status = l.expect(&["3", "--run"], 0)?;
    ensure!(
        status
            .contains("kafka-metadata-quorum.sh --bootstrap-server kafka:29092 describe --status")
            && status.contains("LeaderId:"),
        "lesson 3 showed:\n{status}"
    );

    healthy_and_quorum_agrees(&l)?;

    let topic = &l.topic;
    let created = l.expect(&["4", "--run", "--topic", topic], 0)?;
    ensure!(
        created.contains("$ /opt/kafka/bin/kafka-topics.sh --bootstrap-server"),
        "lesson 4 ran:\n{created}"
    );
    snapshot!("kraft_l04_check", l.expect(&["check", "4", "--topic", topic], 0)?);
    l.expect(&["5", "--run", "--topic", topic], 0)?;
    snapshot!("kraft_l05_check", l.expect(&["check", "5", "--topic", topic], 0)?);
    // The capstone's collector and sink are Kafka clients: the same lesson on Kafka 4.
    l.expect(&["7", "--run"], 0)?;
    let collected = l.expect(&["check", "7"], 0)?;
    ensure!(collected.contains("Lesson 7 is done"), "check 7 said:\n{collected}");
    l.expect(&["6", "--run", "--volumes"], 0)?;
    snapshot!("kraft_l06_check", l.expect(&["check", "6", "--volumes"], 0)?);

    // Back to the ZooKeeper track with the KRaft file still there: the learner is told how to move over
    // (tests/live/kraft_cluster.rs snapshots what it says, with a cluster there too).
    let back = l.lesson(&["--track", "zookeeper", "check", "1"])?;
    ensure!(back.code == NOT_DONE, "check 1 of the other track's file exited {}", back.code);
    ensure!(
        back.stderr.contains("Your docker-compose.yml is the kraft track's. To move over"),
        "going back to the ZooKeeper track said:\n{}",
        back.stderr
    );
    ensure!(
        std::fs::read_to_string(l.config.dir.join(".lesson/track"))?.trim() == "zookeeper",
        "the folder does not remember the ZooKeeper track"
    );
    Ok(())
}

/// CLUSTER_ID changed in the compose file with the volumes kept: each start formats with the new id, Kafka 4
/// refuses the volume (`Invalid cluster.id … Expected NEW, but read OLD`) and the broker restarts over and over.
/// Starting says so at once with the id to put back, and once it is back the topic made before is there.
#[test]
fn kraft_changed_cluster_id_restarts_the_broker() -> Result<()> {
    let _memory = common::memory::reserve(1_000); // the KRaft track's stack
    let l = Learner::new()?;
    let _down = l.compose_down_on_drop();
    l.expect(&["--track", "kraft", "1", "--run"], 0)?;
    l.expect(&["2", "--run"], 0)?;
    l.expect(&["4", "--run", "--topic", &l.topic], 0)?;
    l.expect(&["6", "--run"], 0)?;
    let file = l.config.compose_file();
    let original = std::fs::read_to_string(&file)?;
    let kept = "CLUSTER_ID: workshopKRaftTrack4xAA";
    ensure!(original.contains(kept), "the KRaft track's file has another CLUSTER_ID");
    std::fs::write(&file, original.replace(kept, "CLUSTER_ID: anotherKRaftClusterxxxAA"))?;
    let outcome = l.lesson(&["2", "--run"])?;
    ensure!(outcome.code == 2, "lesson 2 on a changed CLUSTER_ID exited {}", outcome.code);
    for said in ["Invalid cluster.id", "put it back to workshopKRaftTrack4xAA"] {
        ensure!(outcome.stderr.contains(said), "no `{said}` in:\n{}", outcome.stderr);
    }
    // Restarted by its engine, or given up on by Compose v2 before any restart (Docker marks a container that
    // exits at once unhealthy).
    let head = ["keeps restarting (", "stopped as it started."];
    ensure!(head.iter().any(|h| outcome.stderr.contains(h)), "{}", outcome.stderr);
    ensure!(!outcome.stderr.contains("(0 restarts so far)"), "{}", outcome.stderr);
    std::fs::write(&file, original)?;
    l.expect(&["6", "--run"], 0)?;
    l.expect(&["2", "--run"], 0)?;
    l.expect(&["check", "4", "--topic", &l.topic], 0)?;
    Ok(())
}

/// Both health checks of the file come to say healthy (a check that never does would hang `compose up --wait`
/// and every lesson's readiness), and our quorum reading agrees with Kafka's tool; a record goes through a
/// topic made with the image's own tool.
fn healthy_and_quorum_agrees(l: &Learner) -> Result<()> {
    let bootstrap = format!("localhost:{}", l.config.kafka_port);
    let runtime = tokio::runtime::Runtime::new()?;
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
    let ours = || -> Result<quorum::Quorum> {
        runtime
            .block_on(quorum::describe(&bootstrap, Duration::from_secs(10)))?
            .context("the KRaft broker answered as one in ZooKeeper mode")
    };
    let before = ours()?;
    let status = tool(
        l,
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
        l,
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
