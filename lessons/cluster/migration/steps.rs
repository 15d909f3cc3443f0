//! The migration's five steps as a learner types them in `cluster/`: one compose file a step, the command that
//! comes next from each phase, and the way back from each mistake. `lesson 10 --run` runs the same commands.

use std::path::Path;

use anyhow::{Context as _, Result};

use super::{Facts, Mistake, Mode, Phase};
use crate::cluster::stack::{service, BROKERS};

/// Each step's file, as lesson 10 writes it into `cluster/` (beside `.env`, where compose finds `CLUSTER_ID`).
pub const FILES: [(&str, &str); 5] = [
    ("migrate-1-controller.yml", include_str!("../../../compose/cluster/migrate-1-controller.yml")),
    (
        "migrate-2-brokers-migrating.yml",
        include_str!("../../../compose/cluster/migrate-2-brokers-migrating.yml"),
    ),
    (
        "migrate-3-brokers-on-kraft.yml",
        include_str!("../../../compose/cluster/migrate-3-brokers-on-kraft.yml"),
    ),
    ("migrate-4-finalized.yml", include_str!("../../../compose/cluster/migrate-4-finalized.yml")),
    (
        "migrate-5-no-zookeeper.yml",
        include_str!("../../../compose/cluster/migrate-5-no-zookeeper.yml"),
    ),
];

/// The file of step `n` (1 to 5).
pub fn file(n: u8) -> &'static str {
    FILES[usize::from(n.clamp(1, 5)) - 1].0
}

/// The cluster's file once it is migrated: `.env` names it (`COMPOSE_FILE`), so that `docker compose` typed in
/// the folder means the migrated cluster, not lesson 8's brokers on ZooKeeper.
pub const MIGRATED: &str = FILES[4].0;

/// One command of the migration: `docker compose -f FILE up -d ARGS…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub number: u8,
    pub file: &'static str,
    pub args: Vec<String>,
}

impl Step {
    fn new(number: u8, args: &[&str]) -> Step {
        Step { number, file: file(number), args: args.iter().map(|a| a.to_string()).collect() }
    }

    /// As typed in `cluster/`.
    pub fn command(&self) -> String {
        format!("docker compose -f {} up -d {}", self.file, self.args.join(" "))
    }

    /// What the step is for, in one line.
    pub fn says(&self) -> String {
        let broker = self.args.last().cloned().unwrap_or_default();
        match self.number {
            1 => t!("Step 1 of 5: start the KRaft controller, with migration on").to_string(),
            2 => t!("Step 2 of 5: restart {broker} in migration mode", broker),
            3 => t!("Step 3 of 5: restart {broker} on KRaft", broker),
            4 => t!(
                "Step 4 of 5: finalize, restarting the controller without migration (no way back)"
            )
            .to_string(),
            _ => t!("Step 5 of 5: remove ZooKeeper").to_string(),
        }
    }
}

/// The step that comes next from `phase`; None while the controller copies, and once done.
pub fn next(phase: Phase, facts: &Facts) -> Option<Step> {
    let first_not =
        |mode: Mode| BROKERS.map(service).into_iter().find(|b| facts.brokers.get(b) != Some(&mode));
    match phase {
        Phase::Before => Some(Step::new(1, &["--no-deps", "controller"])),
        Phase::ControllerReady | Phase::BrokersMigrating { .. } => {
            first_not(Mode::Migrating).map(|b| Step::new(2, &["--no-deps", &b]))
        }
        Phase::Copied | Phase::BrokersOnKraft { .. } => {
            first_not(Mode::KRaft).map(|b| Step::new(3, &["--no-deps", &b]))
        }
        Phase::DualWrite => Some(Step::new(4, &["--no-deps", "controller"])),
        // Nothing is started anew: ZooKeeper, the one service the file does not declare, goes.
        Phase::Finalized => Some(Step::new(5, &["--no-recreate", "--remove-orphans"])),
        Phase::Copying | Phase::Done => None,
    }
}

/// The phase in words.
pub fn describe(phase: Phase) -> String {
    match phase {
        Phase::Before => t!("before the migration: ZooKeeper keeps the cluster's metadata").to_string(),
        Phase::ControllerReady => {
            t!("step 1 done: the KRaft controller runs with migration on and waits for the brokers").to_string()
        }
        Phase::BrokersMigrating { migrating, of } => {
            t!("step 2 under way: {migrating} of {of} brokers in migration mode", migrating, of)
        }
        Phase::Copying => t!(
            "step 2 done: every broker is in migration mode, and the controller is copying ZooKeeper's metadata"
        )
        .to_string(),
        Phase::Copied => t!(
            "the metadata is copied: the controller leads the cluster and writes every change to ZooKeeper too"
        )
        .to_string(),
        Phase::BrokersOnKraft { on_kraft, of } => {
            t!("step 3 under way: {on_kraft} of {of} brokers on KRaft", on_kraft, of)
        }
        Phase::DualWrite => t!(
            "step 3 done: every broker is on KRaft; the controller still writes to ZooKeeper, so the way back is open"
        )
        .to_string(),
        Phase::Finalized => {
            t!("step 4 done: the migration is finalized; ZooKeeper is no longer read or written").to_string()
        }
        Phase::Done => t!("step 5 done: ZooKeeper is gone and the cluster runs on KRaft").to_string(),
    }
}

/// What the learner does next, from `phase`: the command, or what to wait for.
pub fn what_next(phase: Phase, facts: &Facts, dir: &Path) -> String {
    let dir = dir.display();
    match next(phase, facts) {
        Some(step) => {
            let then = match step.number {
                1 => t!("Then wait until it is healthy:\n  docker compose -f migrate-1-controller.yml ps").to_string(),
                2 | 3 => t!(
                    "Then, before the next broker, wait until every replica is in sync again, asking a broker you \
                     did not restart (once all are in sync, it prints nothing):\n  {command}",
                    command = in_sync_command(step.args.last().map(String::as_str).unwrap_or_default())
                ),
                4 => t!(
                    "This cannot be undone: from here the controller no longer writes to ZooKeeper, whose copy of \
                     the metadata goes stale."
                )
                .to_string(),
                _ => t!(
                    "Then make the migrated cluster the folder's:\n  echo COMPOSE_FILE=migrate-5-no-zookeeper.yml \
                     >> .env"
                )
                .to_string(),
            };
            format!("{}. {}\n  {}\n{then}", step.says(), t!("In {dir}:", dir), step.command())
        }
        None => t!(
            "Wait for the controller to copy ZooKeeper's metadata, about a minute after the last broker started in \
             migration mode; it logs `Completed migration of metadata from ZooKeeper to KRaft`. In {dir}:\n  \
             docker compose -f migrate-2-brokers-migrating.yml logs controller",
            dir
        ),
    }
}

/// Lists the partitions with a replica out of sync, asked in a broker other than the one just restarted.
pub fn in_sync_command(restarted: &str) -> String {
    let other = BROKERS.map(service).into_iter().find(|b| b != restarted).unwrap_or_default();
    format!(
        "docker compose exec {other} kafka-topics --bootstrap-server {other}:29092 --describe \
         --under-replicated-partitions"
    )
}

/// The way back from a mistake, as commands typed in the cluster's folder.
pub fn way_back(mistake: &Mistake, facts: &Facts, project: &str, dir: &Path) -> String {
    let first = |services: &[String]| services.first().cloned().unwrap_or_default();
    // Once lesson 10 has written its files, the last one declares every service there may be.
    let all = if dir.join(file(4)).exists() { format!("-f {} ", file(4)) } else { String::new() };
    match mistake {
        Mistake::Stopped(services) => {
            let mut said = t!(
                "Not running: {services}. Every broker must run during the migration (the controller copies the \
                 metadata only once every broker has registered, and a rolling step waits for every replica).",
                services = facts.idle.iter().chain(services).cloned().collect::<Vec<_>>().join(", ")
            );
            let there: Vec<&String> =
                facts.idle.iter().chain(services.iter().filter(|s| !facts.missing.contains(s))).collect();
            if !there.is_empty() {
                let names: Vec<&str> = there.iter().map(|s| s.as_str()).collect();
                said += &format!("\n{}\n  docker compose {all}start {}", t!("Start again:"), names.join(" "));
            }
            if !facts.missing.is_empty() {
                let modes = facts.brokers.values();
                let like = match () {
                    _ if modes.clone().any(|m| *m == Mode::KRaft) => format!("-f {} ", file(3)),
                    _ if modes.clone().any(|m| *m == Mode::Migrating) => format!("-f {} ", file(2)),
                    _ => String::new(),
                };
                said += &format!(
                    "\n{}\n  docker compose {like}up -d --no-deps {}",
                    t!("No container at all: create it again, in the mode the other brokers run in:"),
                    facts.missing.join(" ")
                );
            }
            said
        }
        Mistake::NoController if facts.idle.iter().any(|s| s == "controller") => t!(
            "Brokers are configured for the migration, and the controller is stopped: they cannot reach it. Start \
             it again:\n  docker compose {all}start controller",
            all
        ),
        Mistake::NoController => t!(
            "Brokers are configured for the migration, and the controller's container is gone: they cannot reach \
             it. Its volume still holds its metadata: create it again from the file of the last step you took, \
             before step 4:\n  docker compose -f migrate-3-brokers-on-kraft.yml up -d --no-deps controller\nor \
             after it:\n  docker compose -f migrate-4-finalized.yml up -d --no-deps controller"
        )
        .to_string(),
        Mistake::FinalizedEarly(services) => t!(
            "The controller was finalized (started without migration) while these brokers still run on ZooKeeper: \
             {services}. This cannot be undone, and they no longer learn the cluster's changes: move them on to \
             KRaft now, one at a time:\n  docker compose -f migrate-3-brokers-on-kraft.yml up -d --no-deps {first}",
            services = services.join(", "),
            first = first(services)
        ),
        Mistake::KraftBeforeCopy(services) => t!(
            "On KRaft before the copy: {services}. The controller copies ZooKeeper's metadata once every broker \
             runs in migration mode, so now it would wait for ever. Back to migration mode, one at a time:\n  docker compose -f migrate-2-brokers-migrating.yml up -d --no-deps {first}",
            services = services.join(", "),
            first = first(services)
        ),
        Mistake::ZookeeperModeAfterCopy(services) => t!(
            "On ZooKeeper without migration mode after the controller took the cluster over: {services}. They no \
             longer hear from it. A broker stays in migration mode until it moves to KRaft. Back:\n  \
             docker compose -f migrate-2-brokers-migrating.yml up -d --no-deps {first}",
            services = services.join(", "),
            first = first(services)
        ),
        Mistake::NeverMigrated => t!(
            "The controller runs without migration and never copied ZooKeeper's metadata: it would lead a cluster \
             with no topics. ZooKeeper still holds everything, and nothing is lost. Remove the controller and its \
             own volume, then take step 1 again:\n  docker compose -f migrate-1-controller.yml rm -sf controller\n  \
             docker volume rm {project}_controller-data\n  docker compose -f migrate-1-controller.yml up -d \
             controller",
            project
        ),
        Mistake::ZookeeperGone => t!(
            "ZooKeeper does not run, and the cluster still needs it: until step 4 finalizes the migration, the \
             controller writes every change there too. Start it again (its data is in its volumes):\n  docker compose \
             start zookeeper\nor, if its container is gone:\n  docker compose -f migrate-1-controller.yml up -d --no-deps \
             zookeeper"
        )
        .to_string(),
    }
}

/// Writes each step's file into `dir`; a file of the same name that differs is the learner's, and is kept:
/// what to say about it.
pub fn write_files(dir: &Path) -> Result<Vec<String>> {
    let mut kept = Vec::new();
    for (name, text) in FILES {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(existing) if existing == text => {}
            Ok(_) => kept.push(t!(
                "{path} differs from the workshop's and was kept; the steps assume the workshop's (to have it, \
                 delete yours and run lesson cluster prepare again)",
                path = path.display()
            )),
            Err(_) => std::fs::write(&path, text)
                .with_context(|| t!("Failed to write {path}", path = path.display()))?,
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_phase_names_the_next_broker_in_order() {
        let mut facts = Facts::default();
        for (n, mode) in [Mode::Migrating, Mode::ZooKeeper, Mode::ZooKeeper].into_iter().enumerate()
        {
            facts.brokers.insert(service(n as i32 + 1), mode);
        }
        let step = next(Phase::BrokersMigrating { migrating: 1, of: 3 }, &facts);
        assert_eq!(
            step.map(|s| s.command()).as_deref(),
            Some("docker compose -f migrate-2-brokers-migrating.yml up -d --no-deps kafka-2")
        );
        assert_eq!(next(Phase::Copying, &facts), None);
        assert_eq!(next(Phase::Finalized, &facts).map(|s| s.file), Some(MIGRATED));
    }

    #[test]
    fn a_stopped_service_is_started_and_a_missing_broker_made_in_the_others_mode() {
        let mut facts = Facts::default();
        facts.brokers.insert(service(1), Mode::KRaft);
        facts.stopped = vec![service(2), service(3)];
        facts.missing = vec![service(3)];
        facts.idle = vec!["controller".to_string()];
        let dir = std::env::temp_dir().join(format!("steps-{}", std::process::id()));
        let said = way_back(&Mistake::Stopped(facts.stopped.clone()), &facts, "p", &dir);
        assert!(said.starts_with("Not running: controller, kafka-2, kafka-3."), "{said}");
        assert!(said.contains("\n  docker compose start controller kafka-2\n"), "{said}");
        assert!(
            said.ends_with(
                "\n  docker compose -f migrate-3-brokers-on-kraft.yml up -d --no-deps kafka-3"
            ),
            "{said}"
        );
    }

    /// Each step's brokers are lesson 8's brokers with only the migration's settings changed: a setting changed
    /// in lesson 8's file and not in the five step files fails here.
    #[test]
    fn each_step_file_keeps_lesson_8s_brokers_and_zookeeper_as_they_are() {
        use serde_norway::Value;
        let parse = |text: &str| serde_norway::from_str::<Value>(text).unwrap_or_default();
        let lesson_8 = parse(crate::cluster::stack::FILE);
        let zookeeper_only =
            ["KAFKA_BROKER_ID", "KAFKA_ZOOKEEPER_CONNECT", "KAFKA_ZOOKEEPER_SESSION_TIMEOUT_MS"];
        let map = "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP";
        for (n, (name, text)) in FILES.iter().enumerate() {
            let step = parse(text);
            let on_kraft = n >= 2;
            let zookeeper = &step["services"]["zookeeper"];
            assert_eq!(zookeeper.is_null(), n == 4, "{name}: zookeeper");
            if !zookeeper.is_null() {
                assert_eq!(zookeeper, &lesson_8["services"]["zookeeper"], "{name}: zookeeper");
            }
            for broker in BROKERS.map(service) {
                let (was, now) =
                    (&lesson_8["services"][broker.as_str()], &step["services"][broker.as_str()]);
                for key in ["image", "restart", "ports", "volumes", "tmpfs", "healthcheck"] {
                    assert_eq!(was[key], now[key], "{name}: {broker} {key}");
                }
                for (key, value) in was["environment"].as_mapping().into_iter().flatten() {
                    let key = key.as_str().unwrap_or_default();
                    let now = &now["environment"][key];
                    if on_kraft && zookeeper_only.contains(&key) {
                        assert!(now.is_null(), "{name}: {broker} keeps {key}");
                    } else if key == map && n > 0 {
                        let wanted =
                            format!("{},CONTROLLER:PLAINTEXT", value.as_str().unwrap_or_default());
                        assert_eq!(now.as_str(), Some(wanted.as_str()), "{name}: {broker} {key}");
                    } else {
                        assert_eq!(now, value, "{name}: {broker} {key}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_step_file_is_in_the_repository_and_names_its_step() {
        for (n, (name, text)) in FILES.iter().enumerate() {
            assert!(name.starts_with(&format!("migrate-{}-", n + 1)), "{name}");
            assert!(text.contains(&format!("step {} of 5", n + 1)), "{name}");
        }
    }
}
