//! Lesson 10's migration of the cluster from ZooKeeper to KRaft: the phase it is in, worked out from live
//! facts (the containers that run and the mode each is configured for, ZooKeeper's `/migration` znode), and the
//! mistakes that leave it in no phase at all. The controller's own verdict, its migration state, is kept only in
//! its metadata log and a JMX gauge: tests/live/migration.rs holds this reading against the controller's log.

pub mod baseline;
pub mod steps;

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use super::stack::{service, BROKERS};
use crate::stack::engine::{Container, Engine};

/// How a broker's container is configured to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    ZooKeeper,
    /// A ZooKeeper broker with `zookeeper.metadata.migration.enable`: it registers with the controller too.
    Migrating,
    KRaft,
}

/// What the cluster's project runs now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub zookeeper: bool,
    /// The controller's container runs: with migration on (`Some(true)`) or off.
    pub controller: Option<bool>,
    /// Each running broker (by service), and its mode.
    pub brokers: BTreeMap<String, Mode>,
    /// Brokers whose container does not run.
    pub stopped: Vec<String>,
    /// Of those, the brokers with no container at all (removed, not stopped).
    pub missing: Vec<String>,
    /// ZooKeeper and the controller, where their container is there and does not run.
    pub idle: Vec<String>,
    /// `kraft_metadata_offset` of ZooKeeper's `/migration`: -1 until the controller has copied the metadata.
    /// None when the znode is not there or ZooKeeper does not run.
    pub migration_offset: Option<i64>,
}

/// The five steps of the migration, and the waits inside them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// No controller: the ZooKeeper cluster of lessons 8 and 9.
    Before,
    /// Step 1 done: the controller runs with migration on and waits for the brokers.
    ControllerReady,
    /// Step 2 under way: this many brokers of all run in migration mode.
    BrokersMigrating { migrating: usize, of: usize },
    /// Every broker in migration mode; the controller copies ZooKeeper's metadata.
    Copying,
    /// Step 2 done: the metadata is copied, the controller leads and writes to both.
    Copied,
    /// Step 3 under way: this many brokers run in KRaft mode.
    BrokersOnKraft { on_kraft: usize, of: usize },
    /// Step 3 done: every broker on KRaft, the controller still writes to ZooKeeper (the way back is open).
    DualWrite,
    /// Step 4 done: the controller runs without migration; ZooKeeper is no longer read or written.
    Finalized,
    /// Step 5 done: ZooKeeper is gone.
    Done,
}

/// The controller's migration state (its `ZkMigrationState`) that each phase stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    PreMigration,
    Migration,
    PostMigration,
}

impl Phase {
    /// None before there is a controller.
    pub fn state(self) -> Option<State> {
        match self {
            Phase::Before => None,
            Phase::ControllerReady | Phase::BrokersMigrating { .. } | Phase::Copying => {
                Some(State::PreMigration)
            }
            Phase::Copied | Phase::BrokersOnKraft { .. } | Phase::DualWrite => {
                Some(State::Migration)
            }
            Phase::Finalized | Phase::Done => Some(State::PostMigration),
        }
    }
}

/// A cluster in no phase: what went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mistake {
    /// A broker does not run, or its container is not there: every broker must run for the copy, and
    /// between rolling steps.
    Stopped(Vec<String>),
    /// Brokers configured for the migration or KRaft, and no controller runs.
    NoController,
    /// The controller runs without migration while brokers still run on ZooKeeper: it finalized too early.
    FinalizedEarly(Vec<String>),
    /// A broker moved to KRaft before the controller copied the metadata.
    KraftBeforeCopy(Vec<String>),
    /// Brokers back in plain ZooKeeper mode after the copy: they must stay in migration mode until KRaft.
    ZookeeperModeAfterCopy(Vec<String>),
    /// The controller runs without migration and never copied ZooKeeper's metadata: its metadata log has none
    /// of the cluster's topics.
    NeverMigrated,
    /// ZooKeeper does not run while something still needs it.
    ZookeeperGone,
}

/// The phase the facts show, or the mistake that leaves the cluster in none.
pub fn phase(facts: &Facts) -> Result<Phase, Mistake> {
    if !facts.stopped.is_empty() {
        return Err(Mistake::Stopped(facts.stopped.clone()));
    }
    let of = facts.brokers.len();
    let count = |mode: Mode| facts.brokers.values().filter(|m| **m == mode).count();
    let named = |mode: Mode| -> Vec<String> {
        facts.brokers.iter().filter(|(_, m)| **m == mode).map(|(s, _)| s.clone()).collect()
    };
    let (zookeeper_mode, migrating, on_kraft) =
        (count(Mode::ZooKeeper), count(Mode::Migrating), count(Mode::KRaft));
    let copied = facts.migration_offset.is_some_and(|offset| offset > 0);
    match facts.controller {
        None if migrating + on_kraft > 0 => Err(Mistake::NoController),
        None if !facts.zookeeper => Err(Mistake::ZookeeperGone),
        None => Ok(Phase::Before),
        Some(true) if !facts.zookeeper => Err(Mistake::ZookeeperGone),
        Some(true) if on_kraft > 0 && !copied => Err(Mistake::KraftBeforeCopy(named(Mode::KRaft))),
        Some(true) if copied && zookeeper_mode > 0 => {
            Err(Mistake::ZookeeperModeAfterCopy(named(Mode::ZooKeeper)))
        }
        Some(true) if on_kraft == of => Ok(Phase::DualWrite),
        Some(true) if on_kraft > 0 => Ok(Phase::BrokersOnKraft { on_kraft, of }),
        Some(true) if migrating == of && copied => Ok(Phase::Copied),
        Some(true) if migrating == of => Ok(Phase::Copying),
        Some(true) if migrating > 0 => Ok(Phase::BrokersMigrating { migrating, of }),
        Some(true) => Ok(Phase::ControllerReady),
        Some(false) if facts.zookeeper && !copied => Err(Mistake::NeverMigrated),
        Some(false) if zookeeper_mode + migrating > 0 => {
            let mut early = named(Mode::ZooKeeper);
            early.extend(named(Mode::Migrating));
            Err(Mistake::FinalizedEarly(early))
        }
        Some(false) if facts.zookeeper => Ok(Phase::Finalized),
        Some(false) => Ok(Phase::Done),
    }
}

/// Reads the facts of the cluster's compose project.
pub async fn facts(engine: &Engine, project: &str) -> Result<Facts> {
    let containers = engine.containers(project).await?;
    let running = |name: &str| containers.iter().find(|c| c.service == name && c.running());
    let mut facts = Facts {
        zookeeper: running("zookeeper").is_some(),
        controller: running("controller")
            .map(|c| flag(c, "KAFKA_ZOOKEEPER_METADATA_MIGRATION_ENABLE")),
        idle: ["zookeeper", "controller"]
            .into_iter()
            .filter(|s| containers.iter().any(|c| c.service == *s) && running(s).is_none())
            .map(str::to_string)
            .collect(),
        ..Facts::default()
    };
    for broker in BROKERS.map(service) {
        let Some(c) = containers.iter().find(|c| c.service == broker) else {
            facts.missing.push(broker.clone());
            facts.stopped.push(broker);
            continue;
        };
        if !c.running() {
            facts.stopped.push(c.service.clone());
        } else if c.env("KAFKA_PROCESS_ROLES").is_some() {
            facts.brokers.insert(c.service.clone(), Mode::KRaft);
        } else if flag(c, "KAFKA_ZOOKEEPER_METADATA_MIGRATION_ENABLE") {
            facts.brokers.insert(c.service.clone(), Mode::Migrating);
        } else {
            facts.brokers.insert(c.service.clone(), Mode::ZooKeeper);
        }
    }
    if let Some(zookeeper) = running("zookeeper") {
        let said = zookeeper_get(engine, zookeeper, "/migration").await?;
        facts.migration_offset = said.as_deref().and_then(migration_offset);
        if facts.migration_offset.is_none() && said.is_some() {
            // A znode, yet no offset in it.
            bail!(t!(
                "ZooKeeper did not say whether the migration has copied its metadata (zookeeper-shell get \
                 /migration):\n{said}",
                said = said.unwrap_or_default().trim()
            ));
        }
    }
    Ok(facts)
}

/// What `zookeeper-shell localhost:2181 get PATH` prints in the zookeeper container; None when there is no
/// such znode.
pub async fn zookeeper_get(
    engine: &Engine,
    zookeeper: &Container,
    path: &str,
) -> Result<Option<String>> {
    // The shell is a JVM: with a small heap of its own, as the health checks, not ZooKeeper's.
    let shell = format!("KAFKA_HEAP_OPTS=-Xmx64m zookeeper-shell localhost:2181 get {path}");
    let out = engine.exec(&zookeeper.id, &["bash", "-c", &shell], None).await?;
    let said = format!("{}{}", out.stdout, out.stderr);
    if said.contains("Node does not exist") {
        return Ok(None);
    }
    if !said.contains('{') {
        // Its JVM's warnings and stack traces are not for the learner: the line that says why is.
        let why = said.lines().rev().find(|l| l.contains("KeeperErrorCode")).unwrap_or(said.trim());
        bail!(t!(
            "ZooKeeper runs but did not answer (zookeeper-shell get {path}): if it started a moment ago, check again \
             in a few seconds. It said: {why}",
            path,
            why = why.trim()
        ));
    }
    Ok(Some(said))
}

/// ZooKeeper's cluster id, from its `/cluster/id` znode (`{"version":"1","id":"…"}`): the KRaft controller's
/// metadata log is formatted with it, or the brokers would refuse the controller.
pub async fn cluster_id(engine: &Engine, project: &str) -> Result<String> {
    let containers = engine.containers(project).await?;
    let Some(zookeeper) = containers.iter().find(|c| c.service == "zookeeper" && c.running())
    else {
        bail!(t!("ZooKeeper does not run: its cluster id cannot be read. In the cluster folder: docker compose start zookeeper"));
    };
    let said = zookeeper_get(engine, zookeeper, "/cluster/id").await?.unwrap_or_default();
    let id = said
        .lines()
        .rev()
        .find(|line| line.trim_start().starts_with('{'))
        .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
        .and_then(|v| v.get("id")?.as_str().map(str::to_string));
    match id {
        Some(id) => Ok(id),
        None => bail!(t!(
            "ZooKeeper has no cluster id yet (/cluster/id): the brokers write it when they first start. Start the \
             cluster first: {command}",
            command = "lesson 8 --run"
        )),
    }
}

/// Whether any container of the project shows the migration begun: a controller, or a broker configured for
/// the migration or for KRaft. Lesson 8's file would start such brokers on ZooKeeper again.
pub fn begun(containers: &[Container]) -> bool {
    containers.iter().any(|c| {
        c.service == "controller"
            || (BROKERS.map(service).contains(&c.service)
                && (c.env("KAFKA_PROCESS_ROLES").is_some()
                    || flag(c, "KAFKA_ZOOKEEPER_METADATA_MIGRATION_ENABLE")))
    })
}

fn flag(container: &Container, name: &str) -> bool {
    container.env(name).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// `kraft_metadata_offset` from what `zookeeper-shell … get /migration` prints (its last line is the znode's
/// JSON); None when the znode is not there.
pub fn migration_offset(shell_output: &str) -> Option<i64> {
    let json = shell_output.lines().rev().find(|line| line.trim_start().starts_with('{'))?;
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    value.get("kraft_metadata_offset")?.as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(zookeeper: bool, controller: Option<bool>, modes: [Mode; 3], offset: i64) -> Facts {
        Facts {
            zookeeper,
            controller,
            brokers: (1..=3).map(|n| format!("kafka-{n}")).zip(modes).collect(),
            stopped: Vec::new(),
            missing: Vec::new(),
            idle: Vec::new(),
            migration_offset: Some(offset),
        }
    }

    #[test]
    fn every_step_of_the_migration_in_order() {
        use Mode::*;
        let steps = [
            (facts(true, None, [ZooKeeper; 3], -1), Ok(Phase::Before)),
            (facts(true, Some(true), [ZooKeeper; 3], -1), Ok(Phase::ControllerReady)),
            (
                facts(true, Some(true), [Migrating, ZooKeeper, ZooKeeper], -1),
                Ok(Phase::BrokersMigrating { migrating: 1, of: 3 }),
            ),
            (facts(true, Some(true), [Migrating; 3], -1), Ok(Phase::Copying)),
            (facts(true, Some(true), [Migrating; 3], 94), Ok(Phase::Copied)),
            (
                facts(true, Some(true), [KRaft, KRaft, Migrating], 94),
                Ok(Phase::BrokersOnKraft { on_kraft: 2, of: 3 }),
            ),
            (facts(true, Some(true), [KRaft; 3], 94), Ok(Phase::DualWrite)),
            (facts(true, Some(false), [KRaft; 3], 94), Ok(Phase::Finalized)),
            (facts(false, Some(false), [KRaft; 3], 94), Ok(Phase::Done)),
        ];
        for (facts, expected) in steps {
            assert_eq!(phase(&facts), expected, "{facts:?}");
        }
    }

    #[test]
    fn mistakes_in_the_middle_are_named() {
        use Mode::*;
        let early = facts(true, Some(true), [KRaft, Migrating, Migrating], -1);
        assert_eq!(phase(&early), Err(Mistake::KraftBeforeCopy(vec!["kafka-1".into()])));
        let finalized = facts(true, Some(false), [KRaft, KRaft, Migrating], 94);
        assert_eq!(phase(&finalized), Err(Mistake::FinalizedEarly(vec!["kafka-3".into()])));
        let gone = facts(false, Some(true), [KRaft; 3], 94);
        assert_eq!(phase(&gone), Err(Mistake::ZookeeperGone));
        let back = facts(true, Some(true), [KRaft, ZooKeeper, Migrating], 94);
        assert_eq!(phase(&back), Err(Mistake::ZookeeperModeAfterCopy(vec!["kafka-2".into()])));
        let never = facts(true, Some(false), [KRaft; 3], -1);
        assert_eq!(phase(&never), Err(Mistake::NeverMigrated));
        let no_controller = facts(true, None, [Migrating, ZooKeeper, ZooKeeper], -1);
        assert_eq!(phase(&no_controller), Err(Mistake::NoController));
        let mut stopped = facts(true, Some(true), [Migrating; 3], -1);
        stopped.brokers.remove("kafka-2");
        stopped.stopped.push("kafka-2".into());
        assert_eq!(phase(&stopped), Err(Mistake::Stopped(vec!["kafka-2".into()])));
    }

    #[test]
    fn the_offset_is_read_from_the_shell_output() {
        let copied = "Connecting to localhost:2181\n\nWATCHER::\n\nWatchedEvent state:SyncConnected \
                      type:None path:null\n{\"version\":0,\"kraft_metadata_offset\":94,\"kraft_controller_id\":9}\n";
        assert_eq!(migration_offset(copied), Some(94));
        assert_eq!(migration_offset("{\"kraft_metadata_offset\":-1}"), Some(-1));
        assert_eq!(migration_offset("Node does not exist: /migration\n"), None);
    }
}
