//! Lessons 8 and 9 on the KRaft track's own cluster (`compose/kraft/cluster/docker-compose.yml`: a controller
//! and three brokers) through the real binary on the live engine, then the ZooKeeper track told it is there
//! and refusing to touch it. A module of its own so that CI can run it on one engine only (as
//! tests/live/cluster.rs): the engine only starts, stops and kills the cluster's containers, as it does on the
//! ZooKeeper track.

use crate::common;

use std::process::{Command, Stdio};

use anyhow::{ensure, Context, Result};
use common::{Learner, NOT_DONE};

#[test]
fn kraft_cluster_through_lessons_8_and_9() -> Result<()> {
    let _memory = common::memory::reserve(2_500); // the KRaft track's cluster
    let l = Learner::new()?;
    let _cluster_down = l.kraft_cluster_down_on_drop();
    // Lesson 1's file only (nothing started): the ZooKeeper track below finds both of the KRaft track's files.
    l.expect(&["--track", "kraft", "1", "--run"], 0)?;
    cluster_lessons(&l)?;

    // Back to the ZooKeeper track: the learner is told how to move over, the cluster included.
    let back = l.lesson(&["--track", "zookeeper", "check", "1"])?;
    ensure!(back.code == NOT_DONE, "check 1 of the other track's file exited {}", back.code);
    snapshot!("kraft_track_left", back.stderr);
    // The KRaft track's cluster is still there: the ZooKeeper track's lesson 8 starts nothing, and says how.
    let cluster_file = std::fs::read_to_string(l.config.dir.join("cluster/docker-compose.yml"))?;
    let refused = l.lesson(&["8", "--run"])?;
    ensure!(refused.code == 2, "lesson 8 on the other track's cluster exited {}", refused.code);
    snapshot!("kraft_cluster_left", refused.stderr);
    ensure!(
        cluster_file == std::fs::read_to_string(l.config.dir.join("cluster/docker-compose.yml"))?,
        "the ZooKeeper track's lesson 8 changed the KRaft track's cluster file"
    );
    Ok(())
}

/// Lessons 8 and 9 on the KRaft track's cluster (compose/kraft/cluster/docker-compose.yml: a controller and
/// three brokers): a leader killed and every acknowledged record read back, a group sharing partitions.
fn cluster_lessons(l: &Learner) -> Result<()> {
    let explained = l.expect(&["8"], 0)?;
    ensure!(
        explained.contains("exec kafka-1 /opt/kafka/bin/kafka-topics.sh --bootstrap-server"),
        "lesson 8's text on the KRaft track:\n{explained}"
    );
    let replicated = l.expect(&["8", "--run"], 0)?;
    ensure!(
        replicated.contains("all 100 acknowledged records are there, each once"),
        "lesson 8 said:\n{replicated}"
    );
    let file = std::fs::read_to_string(l.config.dir.join("cluster/docker-compose.yml"))?;
    let reference = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("compose/kraft/cluster/docker-compose.yml");
    ensure!(
        file == std::fs::read_to_string(reference)?,
        "lesson 8 did not write the KRaft track's cluster"
    );
    let checked = l.expect(&["check", "8"], 0)?;
    ensure!(checked.contains("Lesson 8 is done"), "check 8 said:\n{checked}");
    let grouped = l.expect(&["9", "--run"], 0)?;
    ensure!(
        grouped.contains("docker compose exec kafka-1 /opt/kafka/bin/kafka-consumer-groups.sh"),
        "lesson 9 said:\n{grouped}"
    );
    // Check 9 looks at the group while it reads: two readers, as the learner starts them in two terminals.
    let readers = ["reader-a", "reader-b"]
        .map(|name| l.command(&["cluster", "consume", name]).stdout(Stdio::null()).spawn());
    let mut done = String::new();
    let waited = common::wait_for("check 9 to pass with two readers", || {
        let check = l.lesson(&["check", "9"])?;
        done = check.stdout;
        Ok(check.code == 0)
    });
    for mut reader in readers.into_iter().flatten() {
        Command::new("kill").args(["-INT", &reader.id().to_string()]).status()?;
        reader.wait()?;
    }
    waited.with_context(|| format!("check 9 said last:\n{done}"))?;
    ensure!(done.contains("Lesson 9 is done"), "check 9 said:\n{done}");
    // A leader killed by hand, typed in cluster/ (which takes the track of the folder above): the controller
    // fences it once its heartbeats stop, and says so.
    let args = ["cluster", "kill"];
    let mut kill = Command::new(env!("CARGO_BIN_EXE_lesson"));
    kill.args(args).arg("--dir").arg(l.config.dir.join("cluster"));
    kill.args(["--project", &l.config.project]);
    kill.envs(l.command(&[]).get_envs().filter_map(|(k, v)| Some((k, v?))));
    let killed = l.run(&args, kill)?;
    ensure!(killed.code == 0, "lesson cluster kill in cluster/ exited {}", killed.code);
    let killed = killed.stdout;
    ensure!(
        killed.contains("once the broker missed its heartbeats"),
        "lesson cluster kill said:\n{killed}"
    );
    Ok(())
}
