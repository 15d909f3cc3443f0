//! Lesson 9 on the live cluster: a reader before the topic, the run, check 9 with no reader, one and two, and
//! each of its verdicts held against `kafka-consumer-groups --describe` (no member, lag waiting, offsets reset
//! to the earliest, one member, two).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

use anyhow::{ensure, Context, Result};

use super::{common, ERROR, NOT_DONE};
use common::Learner;

const GROUP: &str = "workshop-readers";
const TOPIC: &str = "group-events";

pub fn l09_groups(l: &Learner) -> Result<()> {
    l.expect(&["reset", "9", "--yes"], 0)?;
    snapshot_both_stderr!("l09_groups_consume_no_topic", l, &["cluster", "consume"], ERROR);
    snapshot!("l09_groups_explain", l.expect(&["9"], 0)?);
    snapshot!("l09_groups_run", l.expect(&["9", "--run"], 0)?);
    snapshot_both!("l09_groups_check_no_reader", l, &["check", "9"], NOT_DONE);
    agrees_with_kafka(l, 0)?;

    let produced = tool(
        l,
        &[
            "kafka-producer-perf-test",
            "--topic",
            TOPIC,
            "--num-records",
            "300",
            "--record-size",
            "100",
            "--throughput",
            "-1",
            "--producer-props",
            "bootstrap.servers=kafka-1:29092",
        ],
    )?;
    ensure!(produced.contains("300 records sent"), "{produced}");
    let waiting = agrees_with_kafka(l, 0)?;
    ensure!(waiting == 300, "check 9 counts {waiting} records to read, not the 300 just produced");
    // The reset the chapter shows, typed as the learner types it.
    let reset = workshop::cluster::l09_groups::reset_command(Default::default());
    tool(l, &reset.iter().map(String::as_str).collect::<Vec<_>>())?;
    let everything = agrees_with_kafka(l, 0)?;
    ensure!(
        everything == 900,
        "after the reset check 9 counts {everything} records to read, not 900"
    );

    let a = Reader::start(l, "reader-a")?;
    common::wait_for("reader-a to read everything", || {
        let facts = facts(l)?;
        Ok(passed(&facts, "the group committed offsets at the end")?
            && fix(&facts, "group ")?.contains("It has one"))
    })?;
    agrees_with_kafka(l, 1)?;
    let b = Reader::start(l, "reader-b")?;
    common::wait_for("check 9 to pass with two readers", || {
        Ok(l.lesson(&["check", "9"])?.code == 0)
    })?;
    snapshot_both!("l09_groups_check", l, &["check", "9"], 0);
    agrees_with_kafka(l, 2)?;

    let said = b.stop()?;
    ensure!(said.contains("reader-b left group workshop-readers after reading"), "{said}");
    ensure!(
        said.contains("The group gave this reader partitions 3, 4, 5 of group-events."),
        "{said}"
    );
    common::wait_for("reader-a to hold every partition again", || {
        let facts = facts(l)?;
        Ok(passed(&facts, "the members share")? && fix(&facts, "group ")?.contains("It has one"))
    })?;
    agrees_with_kafka(l, 1)?;
    let said = a.stop()?;
    ensure!(
        said.contains(
            "The group is rebalancing: this reader gave back partitions 0, 1, 2, 3, 4, 5."
        ),
        "{said}"
    );

    l.expect(&["reset", "9", "--yes"], 0)?;
    snapshot!("l09_groups_run_pt_br", l.expect(&["--lang", "pt-BR", "9", "--run"], 0)?);
    // Again, on what the first run left: the same steps, on a topic with twice the records.
    let again = l.expect(&["9", "--run"], 0)?;
    ensure!(again.contains("Topic group-events was already there."), "{again}");
    ensure!(again.contains("The group's lag is 1200 again"), "{again}");
    l.expect(&["check", "9"], NOT_DONE)?;
    Ok(())
}

/// Check 9's verdicts against `kafka-consumer-groups --describe`, with `members` readers running and nothing
/// being written. Returns the records the group has still to read, as both count them.
fn agrees_with_kafka(l: &Learner, members: usize) -> Result<i64> {
    let facts = facts(l)?;
    let described = tool(
        l,
        &[
            "kafka-consumer-groups",
            "--bootstrap-server",
            "kafka-1:29092",
            "--describe",
            "--group",
            GROUP,
        ],
    )?;
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
    let rows: Vec<Vec<&str>> = described
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.len() == 9 && w[0] == GROUP && w[1] == TOPIC)
        .collect();
    ensure!(rows.len() == 6, "kafka-consumer-groups shows {} partitions:\n{described}", rows.len());
    let mut holders: BTreeMap<i32, String> = BTreeMap::new();
    let mut lags: BTreeMap<i32, i64> = BTreeMap::new();
    for w in &rows {
        let partition: i32 = w[2].parse()?;
        lags.insert(partition, w[5].parse()?);
        if w[8] != "-" {
            holders.insert(partition, w[8].to_string());
        }
    }
    let clients: std::collections::BTreeSet<&String> = holders.values().collect();
    ensure!(
        clients.len() == members,
        "kafka-consumer-groups shows {} members:\n{described}",
        clients.len()
    );
    let two = passed(&facts, "group workshop-readers has at least two members")?;
    ensure!(
        two == (members >= 2),
        "check 9 says two members: {two}; kafka-consumer-groups:\n{described}"
    );
    if members > 0 {
        let what = what(&facts, "the members share")?;
        let mut said: BTreeMap<i32, String> = BTreeMap::new();
        for line in what.lines().skip(1) {
            let (client, partitions) =
                line.trim().split_once(": partitions ").context("no partitions")?;
            for p in partitions.split(", ") {
                said.insert(p.parse()?, client.to_string());
            }
        }
        ensure!(said == holders, "check 9 says {said:?}; kafka-consumer-groups says {holders:?}");
    }
    let behind: BTreeMap<i32, i64> =
        lags.iter().filter(|(_, &lag)| lag > 0).map(|(p, l)| (*p, *l)).collect();
    let drained = passed(&facts, "the group committed offsets at the end")?;
    ensure!(
        drained == behind.is_empty(),
        "check 9 says lag 0: {drained}; kafka-consumer-groups:\n{described}"
    );
    if !drained {
        let fix = fix(&facts, "the group committed offsets at the end")?;
        let listed = fix
            .strip_prefix("Lag by partition: ")
            .and_then(|rest| rest.split_once('.'))
            .context("no lags")?
            .0;
        let said: BTreeMap<i32, i64> = listed
            .split(", ")
            .map(|pair| {
                let (p, lag) = pair.split_once(": ").context("no pair")?;
                Ok((p.parse()?, lag.parse()?))
            })
            .collect::<Result<_>>()?;
        ensure!(
            said == behind,
            "check 9 says lags {said:?}; kafka-consumer-groups says {behind:?}"
        );
    }
    Ok(behind.values().sum())
}

/// `docker compose exec -T kafka-1 ARGS` in the learner's `cluster/` folder: what it printed.
fn tool(l: &Learner, args: &[&str]) -> Result<String> {
    let mut all = vec!["exec", "-T", "kafka-1"];
    all.extend(args);
    let out = l.cluster_compose(&all)?;
    ensure!(out.status.success(), "{} failed", args.join(" "));
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

type Facts = Vec<serde_json::Value>;

fn facts(l: &Learner) -> Result<Facts> {
    let out = l.lesson(&["check", "9", "--json"])?;
    let report: serde_json::Value = serde_json::from_str(&out.stdout)?;
    Ok(report["facts"].as_array().context("no facts")?.clone())
}

fn fact<'a>(facts: &'a Facts, starts: &str) -> Result<&'a serde_json::Value> {
    facts
        .iter()
        .find(|f| f["what"].as_str().is_some_and(|w| w.starts_with(starts)))
        .with_context(|| format!("check 9 has no fact `{starts}…`: {facts:?}"))
}

fn passed(facts: &Facts, starts: &str) -> Result<bool> {
    Ok(fact(facts, starts)?["status"] == "pass")
}

fn what(facts: &Facts, starts: &str) -> Result<String> {
    Ok(fact(facts, starts)?["what"].as_str().unwrap_or_default().to_string())
}

fn fix(facts: &Facts, starts: &str) -> Result<String> {
    Ok(fact(facts, starts)?["fix"].as_str().unwrap_or_default().to_string())
}

/// `lesson cluster consume NAME` running, what it prints collected.
struct Reader {
    child: Child,
    said: Arc<Mutex<String>>,
    lines: std::thread::JoinHandle<()>,
}

impl Reader {
    fn start(l: &Learner, name: &str) -> Result<Reader> {
        let mut child = l
            .command(&["cluster", "consume", name, "--rate", "100000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let said = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().context("no stdout")?;
        let lines = std::thread::spawn({
            let said = said.clone();
            move || {
                for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Ok(mut said) = said.lock() {
                        said.push_str(&line);
                        said.push('\n');
                    }
                }
            }
        });
        Ok(Reader { child, said, lines })
    }

    /// Ctrl-C, as a learner stops it: it commits, leaves the group and says so.
    fn stop(mut self) -> Result<String> {
        std::process::Command::new("kill").args(["-INT", &self.child.id().to_string()]).status()?;
        let status = self.child.wait()?;
        let _ = self.lines.join();
        let said = self.said.lock().map(|s| s.clone()).unwrap_or_default();
        ensure!(status.success(), "the reader exited {status}:\n{said}");
        Ok(said)
    }
}
