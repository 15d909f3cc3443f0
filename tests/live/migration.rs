//! Lesson 10 live: lesson 8's ZooKeeper cluster migrated to KRaft (Kafka 3.9) as a learner does it, with the
//! step files `lesson cluster prepare` writes into `cluster/`: a controller with migration on, the brokers rolled
//! into migration mode one at a time, then into KRaft mode, the controller finalized; then `lesson 10 --run`
//! takes the last step from there and compares the cluster with what `prepare` saved. Lesson 8's producer runs
//! through the rolling restarts. At each step, the phase check 10 reads from live facts
//! (`workshop::cluster::migration`) is held against the controller's own verdict, the migration state its log
//! names last, and against what ZooKeeper keeps: its `/migration` and `/controller` znodes and `/brokers/ids`.
//! At the end every record any producer had acknowledged is there once, and the topics, partition counts and
//! topic configs are as before.

use crate::common;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use common::{Learner, NOT_DONE};
use workshop::cluster::l08_replication::verify;
use workshop::cluster::migration::{self, migration_offset, steps, Mistake, Phase, State};
use workshop::cluster::stack::{service, BROKERS};
use workshop::cluster::{ledger, TOPIC};
use workshop::kafka::inspect::inspect;
use workshop::stack::engine::{Engine, Health};

const CONFIGURED: &str = "migrate-configured";

/// As `snapshot!`, with what varies in lesson 10's words: ZooKeeper's cluster id, and how many records lesson
/// 8's producer got acknowledged before the baseline.
fn snapshot(name: &str, text: String) {
    eprintln!("----- {name} (raw) -----\n{text}");
    let mut settings = common::settings();
    settings.add_filter(r"\b[A-Za-z0-9_-]{21}[AQgw]\b", "[CLUSTER_ID]");
    settings.add_filter(r"\b\d+ (records|registros)\b", "[N] $1");
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// `lesson check 10` in English and in Portuguese, each snapshotted (exit CODE).
fn check_in_both_languages(l: &Learner, name: &str, code: i32) -> Result<()> {
    for (lang, name) in common::in_both_languages(name) {
        snapshot(&name, l.expect(&["--lang", lang, "check", "10"], code)?);
    }
    Ok(())
}

#[test]
fn the_zookeeper_cluster_migrates_to_kraft_keeping_every_record() -> Result<()> {
    let _memory = common::memory::reserve(2_800); // the cluster and a KRaft controller
    let l = Learner::new()?;
    snapshot("l10_migrate_explain", l.expect(&["10"], 0)?);
    let _down = l.cluster_down_on_drop();
    l.expect(&["8", "--run"], 0)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let bootstrap = format!("localhost:{}", l.cluster_ports[0]);
    runtime.block_on(workshop::kafka::admin::create_topic_on(
        &bootstrap,
        CONFIGURED,
        &[&[1, 2, 3], &[2, 3, 1]],
        &[("retention.ms", "123456789"), ("cleanup.policy", "compact")],
    ))?;
    let before = topics(&l)?;
    let cluster_id = zookeeper(&l, "/cluster/id")?;
    let cluster_id = json_field(&cluster_id, "id").context("no id in /cluster/id")?;
    let migration =
        Migration { l: &l, runtime: &runtime, engine: runtime.block_on(Engine::connect())? };

    check_in_both_languages(&l, "l10_migrate_check_unprepared", NOT_DONE)?;
    for (lang, name) in common::in_both_languages("l10_migrate_prepare") {
        snapshot(&name, l.expect(&["--lang", lang, "cluster", "prepare"], 0)?);
    }
    let env = std::fs::read_to_string(l.config.dir.join("cluster/.env"))?;
    ensure!(env.contains(&format!("CLUSTER_ID={cluster_id}\n")), "cluster/.env:\n{env}");
    for (name, text) in steps::FILES {
        ensure!(
            std::fs::read_to_string(l.config.dir.join("cluster").join(name))? == text,
            "{name}"
        );
    }
    check_in_both_languages(&l, "l10_migrate_check_before", NOT_DONE)?;
    migration.at(Phase::Before)?;
    migration.up("migrate-1-controller.yml", &["--no-deps", "controller"])?;
    migration.at(Phase::ControllerReady)?;
    check_in_both_languages(&l, "l10_migrate_check_controller", NOT_DONE)?;
    let pending = zookeeper(&l, "/migration")?;
    ensure!(migration_offset(&pending) == Some(-1), "/migration before the brokers: {pending}");

    let mut child =
        l.command(&["cluster", "produce"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut producer = Producer(Some(child));
    let said = std::thread::spawn(move || {
        std::io::BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<_>>().join("\n")
    });
    let ledger_path = ledger::path(&l.config.dir.join("cluster"));
    let acknowledged = || -> Result<usize> { Ok(ledger::read(&ledger_path)?.len()) };
    let start = acknowledged()?;
    common::wait_for("the producer's first acknowledgements", || Ok(acknowledged()? > start))?;

    // A learner's mistake: kafka-1 moved on to KRaft before the controller copied anything. Check 10 names it
    // and the way back; the controller has not moved on; the way back (migration mode) works.
    let kraft_1 = ["-f", "migrate-3-brokers-on-kraft.yml", "up", "-d", "--no-deps", "kafka-1"];
    ensure!(l.cluster_compose(&kraft_1)?.status.success(), "compose {}", kraft_1.join(" "));
    migration.mistaken(Mistake::KraftBeforeCopy(vec![service(1)]), State::PreMigration)?;
    check_in_both_languages(&l, "l10_migrate_check_kraft_before_copy", NOT_DONE)?;
    for (n, broker) in BROKERS.map(service).iter().enumerate() {
        migration.roll("migrate-2-brokers-migrating.yml", broker)?;
        if n < 2 {
            migration.at(Phase::BrokersMigrating { migrating: n + 1, of: 3 })?;
        }
    }
    migration.logged("controller", "Completed migration of metadata from ZooKeeper to KRaft")?;
    migration.at(Phase::Copied)?;
    check_in_both_languages(&l, "l10_migrate_check_copied", NOT_DONE)?;
    let copied = zookeeper(&l, "/migration")?;
    ensure!(migration_offset(&copied) > Some(0), "/migration after the copy: {copied}");
    let controller = zookeeper(&l, "/controller")?;
    ensure!(
        json_field(&controller, "brokerid").as_deref() == Some("9"),
        "the KRaft controller (node 9) holds /controller: {controller}"
    );

    for (n, broker) in BROKERS.map(service).iter().enumerate() {
        migration.roll("migrate-3-brokers-on-kraft.yml", broker)?;
        if n < 2 {
            migration.at(Phase::BrokersOnKraft { on_kraft: n + 1, of: 3 })?;
        }
    }
    migration.at(Phase::DualWrite)?;
    // Another: ZooKeeper stopped before the migration is finalized. The way back check 10 names works.
    ensure!(l.cluster_compose(&["stop", "zookeeper"])?.status.success(), "compose stop zookeeper");
    migration.mistaken(Mistake::ZookeeperGone, State::Migration)?;
    check_in_both_languages(&l, "l10_migrate_check_zookeeper_gone", NOT_DONE)?;
    ensure!(
        l.cluster_compose(&["start", "zookeeper"])?.status.success(),
        "compose start zookeeper"
    );
    let project = workshop::cluster::stack::project(&l.config);
    common::wait_for("ZooKeeper to answer again", || {
        std::thread::sleep(Duration::from_millis(500));
        Ok(runtime.block_on(migration::facts(&migration.engine, &project)).is_ok())
    })?;
    migration.at(Phase::DualWrite)?;
    let ids = zookeeper_ls(&l, "/brokers/ids")?;
    ensure!(ids == "[]", "brokers in KRaft mode left /brokers/ids: {ids}");
    let through = acknowledged()?;
    common::wait_for("acknowledgements once every broker is on KRaft", || {
        Ok(acknowledged()? > through)
    })?;
    producer.stop()?;
    eprintln!("the producer said:\n{}", said.join().unwrap_or_default());

    migration.up("migrate-4-finalized.yml", &["--no-deps", "controller"])?;
    migration
        .logged("controller", "changing the migration state from MIGRATION to POST_MIGRATION")?;
    migration.at(Phase::Finalized)?;
    // The lesson goes on from wherever the cluster is: here, the last step, then the comparison.
    snapshot("l10_migrate_run_from_finalized", l.expect(&["10", "--run"], 0)?);
    migration.at(Phase::Done)?;
    let env = std::fs::read_to_string(l.config.dir.join("cluster/.env"))?;
    ensure!(env.contains("COMPOSE_FILE=migrate-5-no-zookeeper.yml\n"), "cluster/.env:\n{env}");
    check_in_both_languages(&l, "l10_migrate_check", 0)?;
    let again = l.expect(&["10", "--run"], 0)?;
    ensure!(again.contains("step 5 done"), "a second run says the cluster is migrated:\n{again}");
    let services = migration.services()?;
    ensure!(!services.contains_key("zookeeper"), "ZooKeeper is still there: {services:?}");

    let quorum = runtime
        .block_on(workshop::kafka::quorum::describe(&bootstrap, Duration::from_secs(10)))?
        .context("the migrated broker answered as one in ZooKeeper mode")?;
    ensure!(quorum.leader == 9, "the controller (node 9) leads the quorum: {quorum:?}");
    let after = topics(&l)?;
    ensure!(before == after, "topics before the migration:\n{before:#?}\nafter:\n{after:#?}");
    let entries = ledger::read(&ledger_path)?;
    let verdict = runtime.block_on(verify(&bootstrap, &entries))?;
    eprintln!("{}", verdict.summary());
    ensure!(
        verdict.acknowledged == entries.len() && verdict.acknowledged > through,
        "of {} acknowledged records, {} are of this cluster",
        entries.len(),
        verdict.acknowledged
    );
    ensure!(verdict.missing.is_empty() && verdict.twice.is_empty(), "{}", verdict.summary());

    // `reset 8` undoes lesson 10 first: every container and volume of the migration goes, ZooKeeper's too.
    l.expect(&["reset", "8", "--yes"], 0)?;
    let project = workshop::cluster::stack::project(&l.config);
    let left = runtime.block_on(migration.engine.containers(&project))?;
    ensure!(left.is_empty(), "containers left after reset 8: {left:?}");
    let volumes = runtime.block_on(migration.engine.volumes(&project))?;
    ensure!(volumes.is_empty(), "volumes left after reset 8: {volumes:?}");
    Ok(())
}

struct Migration<'a> {
    l: &'a Learner,
    runtime: &'a tokio::runtime::Runtime,
    engine: Engine,
}

impl Migration<'_> {
    /// `docker compose -f FILE up -d ARGS` in cluster/, then waits for every service of the file that runs to
    /// be healthy.
    fn up(&self, file: &str, args: &[&str]) -> Result<()> {
        let mut command = vec!["-f", file, "up", "-d"];
        command.extend(args);
        let out = self.l.cluster_compose(&command)?;
        ensure!(out.status.success(), "compose {} failed", command.join(" "));
        self.healthy(file)
    }

    /// Waits for every service of the project to be healthy, after WHAT.
    fn healthy(&self, what: &str) -> Result<()> {
        common::wait_for(&format!("every service to be healthy after {what}"), || {
            Ok(self.services()?.values().all(|h| *h == Health::Healthy))
        })
    }

    /// A rolling restart's step: BROKER started anew from FILE, then every replica of the topics back in sync
    /// before the next broker goes down.
    fn roll(&self, file: &str, broker: &str) -> Result<()> {
        self.up(file, &["--no-deps", broker])?;
        let bootstrap = self.l.cluster_ports.map(|p| format!("localhost:{p}")).join(",");
        common::wait_for(
            &format!("every replica in sync after {broker} started from {file}"),
            || {
                let bootstrap = bootstrap.clone();
                let lagging = self.runtime.block_on(inspect(&bootstrap, |i| {
                    let mut lagging = Vec::new();
                    for topic in [TOPIC, CONFIGURED] {
                        for p in i.topic(topic)?.unwrap_or_default() {
                            if p.isr.len() < p.replicas.len() {
                                lagging.push(format!("{topic}-{}", p.id));
                            }
                        }
                    }
                    Ok(lagging)
                }));
                Ok(lagging.is_ok_and(|l| l.is_empty()))
            },
        )
    }

    /// Each service of the cluster's project, with its health.
    fn services(&self) -> Result<BTreeMap<String, Health>> {
        let project = workshop::cluster::stack::project(&self.l.config);
        let containers = self.runtime.block_on(self.engine.containers(&project))?;
        Ok(containers.into_iter().map(|c| (c.service, c.health)).collect())
    }

    /// The phase check 10 reads from the live facts is EXPECTED, and it stands for the migration state the
    /// controller logged last (read before and after the facts: it may move on meanwhile).
    fn at(&self, expected: Phase) -> Result<()> {
        let project = workshop::cluster::stack::project(&self.l.config);
        // The controller logs a step before it writes it to ZooKeeper: the facts may lag a moment behind.
        let mut last = String::new();
        common::wait_for(&format!("the facts to read {expected:?}"), || {
            let facts = self.runtime.block_on(migration::facts(&self.engine, &project))?;
            let found = migration::phase(&facts);
            last = format!("{found:?} from {facts:?}");
            if found != Ok(expected) {
                std::thread::sleep(Duration::from_millis(500));
            }
            Ok(found == Ok(expected))
        })
        .with_context(|| format!("the facts read last: {last}"))?;
        let before = self.logged_state()?;
        let facts = self.runtime.block_on(migration::facts(&self.engine, &project))?;
        let after = self.logged_state()?;
        let found = migration::phase(&facts);
        eprintln!(
            "phase {found:?} from {facts:?}; the controller logged {before:?}, then {after:?}"
        );
        ensure!(found == Ok(expected), "expected {expected:?}, read {found:?} from {facts:?}");
        ensure!(
            expected.state() == before || expected.state() == after,
            "{expected:?} stands for {:?}; the controller logged {before:?}, then {after:?}",
            expected.state()
        );
        Ok(())
    }

    /// The facts read MISTAKE, and the controller's log has not moved past STATE (it does not see the mistake
    /// as a step).
    fn mistaken(&self, mistake: Mistake, state: State) -> Result<()> {
        let project = workshop::cluster::stack::project(&self.l.config);
        let mut last = String::new();
        common::wait_for(&format!("the facts to read {mistake:?}"), || {
            let facts = self.runtime.block_on(migration::facts(&self.engine, &project))?;
            let found = migration::phase(&facts);
            last = format!("{found:?} from {facts:?}");
            if found != Err(mistake.clone()) {
                std::thread::sleep(Duration::from_millis(500));
            }
            Ok(found == Err(mistake.clone()))
        })
        .with_context(|| format!("the facts read last: {last}"))?;
        let logged = self.logged_state()?;
        eprintln!("mistake {last}; the controller logged {logged:?}");
        ensure!(logged == Some(state), "with {mistake:?} the controller logged {logged:?}");
        Ok(())
    }

    /// The controller's own verdict: the last migration state its log names. None with no controller.
    fn logged_state(&self) -> Result<Option<State>> {
        let project = workshop::cluster::stack::project(&self.l.config);
        let containers = self.runtime.block_on(self.engine.containers(&project))?;
        let Some(c) = containers.iter().find(|c| c.service == "controller" && c.running()) else {
            return Ok(None);
        };
        let log = self.runtime.block_on(self.engine.logs_tail(&c.id, 100_000))?;
        let mut state = None;
        for line in log.lines() {
            if line.contains("Putting the controller into pre-migration mode") {
                state = Some(State::PreMigration);
            }
            let Some(change) = line.split("changing the migration state from ").nth(1) else {
                continue;
            };
            let to = change.split(" to ").nth(1).unwrap_or_default();
            state = match to.split(|c: char| !(c.is_ascii_uppercase() || c == '_')).next() {
                Some("PRE_MIGRATION") => Some(State::PreMigration),
                Some("MIGRATION") => Some(State::Migration),
                Some("POST_MIGRATION") => Some(State::PostMigration),
                other => anyhow::bail!("the controller logged a migration state {other:?}: {line}"),
            };
        }
        Ok(state)
    }

    /// Waits until SERVICE has logged TEXT (in its last 2,000 lines).
    fn logged(&self, service: &str, text: &str) -> Result<()> {
        let project = workshop::cluster::stack::project(&self.l.config);
        common::wait_for(&format!("{service} to log `{text}`"), || {
            std::thread::sleep(Duration::from_millis(500));
            let containers = self.runtime.block_on(self.engine.containers(&project))?;
            let Some(c) = containers.iter().find(|c| c.service == service) else {
                return Ok(false);
            };
            Ok(self.runtime.block_on(self.engine.logs_tail(&c.id, 2000))?.contains(text))
        })
    }
}

/// Lesson 8's producer, stopped with Ctrl-C however the test ends: it retries for ever, cluster or not.
struct Producer(Option<std::process::Child>);

impl Producer {
    fn stop(&mut self) -> Result<()> {
        if let Some(mut child) = self.0.take() {
            Command::new("kill").args(["-INT", &child.id().to_string()]).status()?;
            child.wait()?;
        }
        Ok(())
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// A topic as `kafka-topics --describe` shows it: its id, its partition count and the configs set on it.
#[derive(Debug, PartialEq)]
struct Topic {
    id: String,
    partitions: usize,
    configs: Vec<String>,
}

/// Every topic but the internal ones.
fn topics(l: &Learner) -> Result<BTreeMap<String, Topic>> {
    let listed = l.cluster_compose(&[
        "exec",
        "-T",
        "kafka-1",
        "kafka-topics",
        "--bootstrap-server",
        "kafka-1:29092",
        "--describe",
        "--exclude-internal",
    ])?;
    ensure!(listed.status.success(), "kafka-topics --describe failed");
    let mut topics = BTreeMap::new();
    for line in String::from_utf8_lossy(&listed.stdout).lines() {
        // `Topic: NAME	TopicId: …	PartitionCount: N	ReplicationFactor: R	Configs: a=b,c=d`
        let fields: BTreeMap<&str, &str> = line
            .split('\t')
            .filter_map(|f| f.split_once(": ").or_else(|| f.strip_suffix(':').map(|k| (k, ""))))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let (Some(name), Some(id), Some(count)) =
            (fields.get("Topic"), fields.get("TopicId"), fields.get("PartitionCount"))
        else {
            continue;
        };
        let mut configs: Vec<String> = fields
            .get("Configs")
            .map(|c| c.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        configs.sort();
        let topic = Topic { id: id.to_string(), partitions: count.parse()?, configs };
        topics.insert(name.to_string(), topic);
    }
    ensure!(topics.contains_key(CONFIGURED), "kafka-topics listed no {CONFIGURED}: {topics:?}");
    Ok(topics)
}

/// `zookeeper-shell localhost:2181 get PATH` in the zookeeper container: the znode's data.
fn zookeeper(l: &Learner, path: &str) -> Result<String> {
    zookeeper_shell(l, "get", path, '{')
}

/// `zookeeper-shell localhost:2181 ls PATH`: the children, as the shell prints them (`[1, 2, 3]`).
fn zookeeper_ls(l: &Learner, path: &str) -> Result<String> {
    zookeeper_shell(l, "ls", path, '[')
}

/// The last line of what `zookeeper-shell localhost:2181 VERB PATH` prints that starts with FIRST.
fn zookeeper_shell(l: &Learner, verb: &str, path: &str, first: char) -> Result<String> {
    let shell = ["exec", "-T", "zookeeper", "zookeeper-shell", "localhost:2181", verb, path];
    let out = l.cluster_compose(&shell)?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .rev()
        .find(|line| line.starts_with(first))
        .map(str::to_string)
        .with_context(|| format!("zookeeper-shell {verb} {path} said:\n{text}"))
}

/// The value of `"NAME":` in a one-line JSON object, without quotes.
fn json_field(json: &str, name: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    match value.get(name)? {
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}
