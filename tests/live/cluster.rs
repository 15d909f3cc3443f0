//! Lessons 8 and 9 on a live cluster of three brokers, one cluster for both. Lesson 8: checked before there
//! is a cluster, run (a leader killed, acks=all refused with two brokers down, every acknowledged record read
//! back), removed and run again in Portuguese, then done by hand as the chapter says: the producer running
//! while `lesson cluster kill` kills leaders and `docker compose start` brings them back. Each of check 8's
//! verdicts is compared with Kafka's own: its tools (`kafka-topics --under-replicated-partitions`,
//! `kafka-console-consumer`) and the brokers' log segments. Lesson 9 is in `cluster/groups.rs`.

use crate::common;
#[path = "cluster/groups.rs"]
mod groups;

use std::collections::{BTreeSet, HashMap};
use std::io::BufRead;
use std::sync::{Arc, Mutex};

use anyhow::{ensure, Context, Result};
use common::{Learner, ERROR, NOT_DONE};

const TOPIC: &str = "replicated-events";

#[test]
fn l08_replication_on_a_live_cluster() -> Result<()> {
    let _memory = common::memory::reserve(2_500); // lesson 8's cluster
    let l = Learner::new()?;
    let _down = l.cluster_down_on_drop();
    l08_before_the_cluster(&l)?;
    l08_run(&l)?;
    l08_by_hand(&l)?;
    l08_bad_input(&l)?;
    groups::l09_groups(&l)?;
    other_track(&l)
}

/// The folder switched to the KRaft track with this ZooKeeper cluster in `cluster/`: check 8 fails with how to
/// set it aside (never "done" on a cluster it cannot judge), `lesson reset 8` leaves it alone; back again.
fn other_track(l: &Learner) -> Result<()> {
    let checked = l.lesson(&["--track", "kraft", "check", "8"])?;
    ensure!(
        checked.code == NOT_DONE,
        "check 8 on the other track's cluster exited {}",
        checked.code
    );
    ensure!(
        checked.stdout.contains("✗ the cluster is the kraft track's")
            && checked.stdout.contains("is the zookeeper track's cluster"),
        "check 8 said:\n{}",
        checked.stdout
    );
    let reset = l.lesson(&["reset", "8", "--yes"])?;
    ensure!(
        reset.code == ERROR,
        "lesson reset 8 of the other track's cluster exited {}",
        reset.code
    );
    ensure!(!l.cluster_compose(&["ps", "-q"])?.stdout.is_empty(), "the ZooKeeper cluster is gone");
    l.expect(&["--track", "zookeeper", "hint", "8"], 0)?;
    Ok(())
}

fn l08_before_the_cluster(l: &Learner) -> Result<()> {
    snapshot!("l08_replication_explain", l.expect(&["8"], 0)?);
    snapshot_both!("l08_replication_check_before", l, &["check", "8"], NOT_DONE);
    snapshot_both_stderr!("l08_replication_kill_before", l, &["cluster", "kill"], ERROR);
    Ok(())
}

/// As `snapshot!`, for `lesson 8 --run`: once every replica is in sync again, which broker leads a partition
/// depends on whether the controller has moved leadership back to the preferred replica yet (it does so 5 s
/// after it is elected, then every 300 s).
fn run_snapshot(name: &str, text: String) {
    eprintln!("----- {name} (raw) -----\n{text}");
    let mut settings = common::settings();
    settings.add_filter(
        r"(?m)^((?:Every replica in sync again|Todas as réplicas em sincronia de novo) .*:\n  (?:partition|partição) 0: (?:leader|líder)) \d(.*\n  (?:partition|partição) 1: (?:leader|líder)) \d(.*\n  (?:partition|partição) 2: (?:leader|líder)) \d",
        "$1 [N]$2 [N]$3 [N]",
    );
    settings.bind(|| insta::assert_snapshot!(name, text));
}

fn l08_run(l: &Learner) -> Result<()> {
    run_snapshot("l08_replication_run", l.expect(&["8", "--run"], 0)?);
    snapshot_both!("l08_replication_check", l, &["check", "8"], 0);
    agrees_with_kafka(l, true)?;
    zookeeper_mode_has_no_quorum(l)?;
    l.expect(&["reset", "8", "--yes"], 0)?;
    let gone = l.expect(&["check", "8"], NOT_DONE)?;
    ensure!(gone.contains("fix: Start it: lesson 8 --run"), "{gone}");
    run_snapshot("l08_replication_run_pt_br", l.expect(&["--lang", "pt-BR", "8", "--run"], 0)?);
    Ok(())
}

/// A broker in ZooKeeper mode has no KRaft quorum: the workshop's DescribeQuorum reader says so (no answer, not
/// an error), and Kafka's own `kafka-metadata-quorum` fails on the same broker.
fn zookeeper_mode_has_no_quorum(l: &Learner) -> Result<()> {
    let bootstrap = format!("localhost:{}", l.cluster_ports[0]);
    let ours = tokio::runtime::Runtime::new()?.block_on(workshop::kafka::quorum::describe(
        &bootstrap,
        std::time::Duration::from_secs(10),
    ))?;
    ensure!(ours.is_none(), "a ZooKeeper-mode broker described a quorum: {ours:?}");
    let tool = l.cluster_compose(&[
        "exec",
        "-T",
        "kafka-1",
        "kafka-metadata-quorum",
        "--bootstrap-server",
        "kafka-1:29092",
        "describe",
        "--status",
    ])?;
    let said = String::from_utf8_lossy(&tool.stderr);
    ensure!(
        !tool.status.success() && said.contains("UnsupportedVersion"),
        "Kafka's tool said:\n{said}"
    );
    Ok(())
}

/// The chapter's way: the producer in one terminal, kills and starts in another.
fn l08_by_hand(l: &Learner) -> Result<()> {
    let ledger = l.config.dir.join("cluster").join("acknowledged.jsonl");
    let lines = || -> Result<usize> {
        Ok(std::fs::read_to_string(&ledger).map(|t| t.lines().count()).unwrap_or(0))
    };
    let mut producer = l
        .command(&["cluster", "produce"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let said = Arc::new(Mutex::new(String::new()));
    let reader = {
        let said = said.clone();
        let stdout = producer.stdout.take().context("no stdout")?;
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(mut said) = said.lock() {
                    said.push_str(&line);
                    said.push('\n');
                }
            }
        })
    };
    let start = lines()?;
    common::wait_for("the producer's first acknowledgements", || Ok(lines()? >= start + 10))?;
    let first = l.expect(&["cluster", "kill"], 0)?;
    ensure!(first.contains("The controller noticed in"), "{first}");
    agrees_with_kafka(l, false)?;
    let after_one = lines()?;
    common::wait_for("acknowledgements with one broker down", || Ok(lines()? >= after_one + 10))?;
    l.expect(&["cluster", "kill"], 0)?;
    // The leader refuses acks=all; the producer holds the records back and retries them under one epoch.
    common::wait_for("the producer to say why records wait", || {
        Ok(said.lock().map(|s| s.contains("answers NOT_ENOUGH_REPLICAS")).unwrap_or(false))
    })?;
    let out = l.cluster_compose(&["start", "kafka-1", "kafka-2", "kafka-3"])?;
    ensure!(out.status.success(), "compose start failed");
    common::wait_for("check 8 to pass", || Ok(l.lesson(&["check", "8"])?.code == 0))?;
    let after_heal = lines()?;
    common::wait_for("acknowledgements once healed", || Ok(lines()? >= after_heal + 10))?;
    // Ctrl-C: the producer waits for the answers due, then says what came of everything it sent.
    std::process::Command::new("kill").args(["-INT", &producer.id().to_string()]).status()?;
    let status = producer.wait()?;
    let _ = reader.join();
    let said = said.lock().map(|s| s.clone()).unwrap_or_default();
    ensure!(status.success(), "the producer exited {status}:\n{said}");
    ensure!(said.contains("acknowledged, each written into"), "{said}");
    ensure!(said.contains("\nheld back: partition "), "{said}");
    ensure!(
        said.contains("Now check that every acknowledged one is there: lesson check 8"),
        "{said}"
    );
    l.expect(&["check", "8"], 0)?;
    agrees_with_kafka(l, true)?;
    Ok(())
}

fn l08_bad_input(l: &Learner) -> Result<()> {
    snapshot_both_stderr!(
        "l08_replication_kill_no_such_broker",
        l,
        &["cluster", "kill", "7"],
        ERROR
    );
    l.expect(&["cluster", "kill", "1"], 0)?;
    snapshot_both_stderr!("l08_replication_kill_dead_broker", l, &["cluster", "kill", "1"], ERROR);
    let check = l.expect(&["check", "8"], NOT_DONE)?;
    ensure!(check.contains("Not running: kafka-1. Start again in"), "{check}");
    let out = l.cluster_compose(&["start", "kafka-1"])?;
    ensure!(out.status.success(), "compose start failed");
    common::wait_for("check 8 to pass again", || Ok(l.lesson(&["check", "8"])?.code == 0))?;
    Ok(())
}

/// Check 8's verdicts against Kafka's own, asked of a broker that runs; those on the records too when no
/// producer is writing (`at_rest`).
fn agrees_with_kafka(l: &Learner, at_rest: bool) -> Result<()> {
    let facts = facts_now(l)?;
    let running = l.cluster_compose(&["ps", "--services", "--filter", "status=running"])?;
    let broker = String::from_utf8_lossy(&running.stdout)
        .lines()
        .find(|s| s.starts_with("kafka-"))
        .context("no broker runs")?
        .to_string();
    let tool = |args: &[&str]| -> Result<String> {
        let mut all = vec!["exec", "-T", broker.as_str()];
        all.extend(args);
        let out = l.cluster_compose(&all)?;
        ensure!(out.status.success(), "{} failed", args.join(" "));
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let bootstrap = format!("{broker}:29092");

    let under = tool(&[
        "kafka-topics",
        "--bootstrap-server",
        &bootstrap,
        "--describe",
        "--under-replicated-partitions",
        "--topic",
        TOPIC,
    ])?;
    let in_sync = passed(&facts, "every replica of replicated-events is in sync")?;
    ensure!(
        in_sync == under.trim().is_empty(),
        "check 8 says in sync: {in_sync}; kafka-topics says:\n{under}"
    );

    // The rest holds only while nothing is written.
    if !at_rest {
        return Ok(());
    }
    // The leader epochs check 8 read on the records, against the batches in the brokers' own log segments.
    {
        let moved = facts
            .iter()
            .find(|(what, pass)| *pass && what.contains("leader epochs"))
            .context("check 8 found no partition written under two leader epochs")?;
        let partition: u32 =
            moved.0.trim_start_matches("partition ").split('\'').next().unwrap_or("").parse()?;
        let said: BTreeSet<i32> = moved
            .0
            .rsplit("epochs ")
            .next()
            .and_then(|rest| rest.split(':').next())
            .unwrap_or("")
            .split(", ")
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        let dump = tool(&[
            "sh",
            "-c",
            &format!(
                "kafka-run-class kafka.tools.DumpLogSegments --files /var/lib/kafka/data/{TOPIC}-{partition}/*.log"
            ),
        ])?;
        let on_disk: BTreeSet<i32> = dump
            .split("partitionLeaderEpoch: ")
            .skip(1)
            .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
            .collect();
        ensure!(
            said == on_disk,
            "check 8 read epochs {said:?}; the log segment holds {on_disk:?}\n{dump}"
        );
    }

    // The ledger fact against kafka-console-consumer, for the ledger as it is and altered.
    let ends = tool(&["kafka-get-offsets", "--bootstrap-server", &bootstrap, "--topic", TOPIC])?;
    let count: u64 =
        ends.lines().filter_map(|l| l.rsplit(':').next()?.trim().parse::<u64>().ok()).sum();
    let consumed = tool(&[
        "kafka-console-consumer",
        "--bootstrap-server",
        &bootstrap,
        "--topic",
        TOPIC,
        "--from-beginning",
        "--max-messages",
        &count.to_string(),
        "--timeout-ms",
        "60000",
        "--property",
        "print.partition=true",
        "--property",
        "print.offset=true",
    ])?;
    let mut at: HashMap<(i32, i64), String> = HashMap::new();
    for line in consumed.lines() {
        let mut fields = line.splitn(3, '\t');
        let (Some(p), Some(o), Some(v)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let (Some(p), Some(o)) = (p.strip_prefix("Partition:"), o.strip_prefix("Offset:")) else {
            continue;
        };
        at.insert((p.parse()?, o.parse()?), v.to_string());
    }
    ensure!(at.len() as u64 == count, "the console consumer read {} of {count} records", at.len());
    let path = l.config.dir.join("cluster").join("acknowledged.jsonl");
    let original = std::fs::read_to_string(&path)?;
    let entries: Vec<serde_json::Value> =
        original.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    let first = entries.first().context("an empty ledger")?.clone();
    let altered = |field: &str, value: serde_json::Value| {
        let mut entry = first.clone();
        entry[field] = value;
        format!("{original}{entry}\n")
    };
    let corpus = [
        original.clone(),
        altered("value", "never-sent".into()),
        altered("offset", (count as i64 + 1000).into()),
        altered("partition", 2.into()),
        format!("{original}{first}\n"),
    ];
    for ledger in corpus {
        std::fs::write(&path, &ledger)?;
        let tool_says =
            ledger.lines().map(serde_json::from_str::<serde_json::Value>).all(|entry| {
                entry.is_ok_and(|e| {
                    let key = (
                        e["partition"].as_i64().unwrap_or(-1) as i32,
                        e["offset"].as_i64().unwrap_or(-1),
                    );
                    at.get(&key).map(String::as_str) == e["value"].as_str()
                })
            });
        let check_says =
            passed(&facts_now(l)?, "every record acknowledged to the lesson's producer")?;
        ensure!(
            check_says == tool_says,
            "check 8 says {check_says}, the console consumer {tool_says}:\n{ledger}"
        );
    }
    std::fs::write(&path, original)?;
    Ok(())
}

/// `lesson check 8 --json`: each fact's words and whether it passed, once the topic could be read back (a
/// partition changing leader cannot be read that instant).
fn facts_now(l: &Learner) -> Result<Vec<(String, bool)>> {
    let mut facts = Vec::new();
    common::wait_for("check 8 to read the topic back", || {
        facts = facts_once(l)?;
        Ok(!facts.iter().any(|(what, _)| what.ends_with("can be read back from the brokers")))
    })?;
    Ok(facts)
}

fn facts_once(l: &Learner) -> Result<Vec<(String, bool)>> {
    let out = l.lesson(&["check", "8", "--json"])?;
    let report: serde_json::Value = serde_json::from_str(&out.stdout)?;
    Ok(report["facts"]
        .as_array()
        .context("no facts")?
        .iter()
        .map(|f| (f["what"].as_str().unwrap_or_default().to_string(), f["status"] == "pass"))
        .collect())
}

fn passed(facts: &[(String, bool)], starts: &str) -> Result<bool> {
    facts
        .iter()
        .find(|(what, _)| what.starts_with(starts))
        .map(|(_, pass)| *pass)
        .with_context(|| format!("check 8 has no fact `{starts}…`: {facts:?}"))
}
