//! The error matrix (book/src/error-matrix.md): every bad input gets one screen that names the fix, a
//! non-zero exit, and loses nothing. Rows that involve a stack run against a real one.

use crate::common;

use anyhow::{ensure, Context, Result};
use common::{Learner, ERROR, NOT_DONE};
use workshop::stack::engine::Engine;

const INTERRUPTED: i32 = 130;

#[test]
fn error_no_engine() -> Result<()> {
    let l = Learner::new()?;
    let mut command = l.command(&["check", "2"]);
    command.env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    let outcome = l.check_code(&["check", "2"], l.run(&["check", "2"], command)?, ERROR)?;
    snapshot!("error_no_engine", outcome.stderr);
    let args = ["--lang", "pt-BR", "check", "2"];
    let mut command = l.command(&args);
    command.env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    let outcome = l.check_code(&args, l.run(&args, command)?, ERROR)?;
    snapshot!("error_no_engine_pt_br", outcome.stderr);
    Ok(())
}

/// The usual Linux case: the engine runs, but the learner is not in the group its socket belongs to.
#[test]
fn error_engine_permission_denied() -> Result<()> {
    let mut l = Learner::new()?;
    // A folder the unprivileged user can reach whatever the checkout's own permissions (a clone in
    // `mktemp -d` is 0700): the lesson reads the folder's track before it asks the engine.
    l.config.dir = std::env::temp_dir().join(common::random_name("nobody"));
    std::fs::create_dir_all(&l.config.dir)?;
    let socket =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    for (lang, name) in common::in_both_languages("error_engine_permission_denied") {
        let args = ["--lang", lang, "check", "2"];
        let lesson = l.command(&args);
        let mut command = std::process::Command::new("setpriv");
        command
            .args(["--reuid", "65534", "--regid", "65534", "--clear-groups", "--"])
            .arg(lesson.get_program());
        command.args(lesson.get_args()).envs(lesson.get_envs().filter_map(|(k, v)| Some((k, v?))));
        let outcome = l.check_code(&args, l.run(&args, command)?, ERROR)?;
        let denied =
            if lang == "en" { "permission denied on its socket" } else { "permissão negada" };
        ensure!(outcome.stderr.contains(denied), "{}", outcome.stderr);
        let shown = outcome
            .stderr
            .replace(&socket, "[DOCKER_HOST]")
            .replace(socket.trim_start_matches("unix://"), "[SOCKET]");
        snapshot!(name, shown);
    }
    let _ = std::fs::remove_dir_all(&l.config.dir);
    Ok(())
}

#[test]
fn error_port_held_by_another_program() -> Result<()> {
    let _memory = common::memory::reserve(1_300); // a stack
    let l = Learner::new()?;
    let _down = l.down_on_drop();
    l.expect(&["1", "--run"], 0)?;
    let _holder = std::net::TcpListener::bind(("127.0.0.1", l.config.kafka_port))
        .context("Failed to hold the port")?;
    snapshot_both_stderr!("error_port_held", l, &["2", "--run"], ERROR);
    Ok(())
}

#[test]
fn error_malformed_yaml() -> Result<()> {
    let l = Learner::new()?;
    l.write_compose("services:\n  kafka:\n    image: [unclosed\n")?;
    snapshot_both!("error_malformed_yaml", l, &["check", "1"], NOT_DONE);
    l.fails(&["2", "--run"], ERROR)?;
    ensure!(
        std::fs::read_to_string(l.config.compose_file())?.contains("[unclosed"),
        "the learner's file changed"
    );
    Ok(())
}

#[test]
fn error_compose_without_kafka() -> Result<()> {
    let l = Learner::new()?;
    l.write_compose("services:\n  zookeeper:\n    image: confluentinc/cp-zookeeper:7.9.5\n")?;
    snapshot_both!("error_compose_without_kafka", l, &["check", "1"], NOT_DONE);
    Ok(())
}

#[test]
fn error_advertised_listener_unreachable_from_host() -> Result<()> {
    let l = Learner::new()?;
    let reference = std::fs::read_to_string(common::repo_compose_file())?;
    let broken = reference.replace(
        "INTERNAL://kafka:29092,EXTERNAL://localhost:",
        "INTERNAL://kafka:29092,EXTERNAL://kafka:",
    );
    ensure!(broken != reference, "the reference file no longer has the listener this test changes");
    l.write_compose(&broken)?;
    snapshot_both!("error_advertised_listener", l, &["check", "1"], NOT_DONE);
    Ok(())
}

#[test]
fn error_rows_with_a_live_stack() -> Result<()> {
    let _memory = common::memory::reserve(1_300); // a stack
    let l = Learner::new()?;
    let _down = l.down_on_drop();
    l.expect(&["1", "--run"], 0)?;
    l.expect(&["2", "--run"], 0)?;

    let missing = common::random_name("missing");
    snapshot_both_stderr!(
        "error_consume_missing_topic",
        l,
        &["5", "--run", "--topic", &missing],
        ERROR
    );

    let replicas = ["4", "--run", "--topic", &l.topic, "--replication-factor", "3"];
    snapshot_both_stderr!("error_more_replicas_than_brokers", l, &replicas, ERROR);

    l.expect(&["4", "--run", "--native", "--topic", &l.topic], 0)?;
    snapshot_both!("error_topic_exists", l, &["4", "--run", "--native", "--topic", &l.topic], 0);

    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let engine = Engine::connect().await?;
        engine.stop(&l.kafka_container(&engine).await?).await
    })?;
    snapshot_both!("error_half_up_check", l, &["check", "2"], NOT_DONE);
    snapshot_both_stderr!("error_half_up_run", l, &["4", "--run", "--topic", &l.topic], ERROR);
    Ok(())
}

#[test]
fn error_ctrl_c_while_starting_leaves_no_container() -> Result<()> {
    let _memory = common::memory::reserve(1_300); // a stack
    let l = Learner::new()?;
    let _down = l.down_on_drop();
    l.expect(&["1", "--run"], 0)?;
    let child = l
        .command(&["2", "--run"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let engine = runtime.block_on(Engine::connect())?;
    common::wait_for("a container of the stack", || {
        Ok(!runtime.block_on(engine.containers(&l.config.project))?.is_empty())
    })?;
    std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status()?;
    let out = child.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("{stderr}");
    ensure!(out.status.code() == Some(INTERRUPTED), "exit {:?}", out.status.code());
    let stack = runtime.block_on(workshop::stack::Stack::connect(l.config.clone()))?;
    let left = runtime.block_on(stack.leftovers())?;
    ensure!(left.containers.is_empty() && left.networks.is_empty(), "left behind: {left:?}");
    ensure!(l.config.compose_file().exists(), "the learner's compose file is gone");
    snapshot!("error_ctrl_c", stderr);
    Ok(())
}

/// ZooKeeper's volumes removed, Kafka's kept: the broker restarts over and over (Kafka 3.9: `Invalid cluster.id`).
/// Starting says so at once instead of waiting out its time limit, and check 2 names the cause.
#[test]
fn error_stale_kafka_volume_restarts_the_broker() -> Result<()> {
    let _memory = common::memory::reserve(1_300); // a stack
    let l = Learner::new()?;
    let _down = l.down_on_drop();
    l.expect(&["1", "--run"], 0)?;
    l.expect(&["2", "--run"], 0)?;
    l.expect(&["6", "--run"], 0)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let engine = Engine::connect().await?;
        for volume in engine.volumes(&l.config.project).await? {
            if volume.contains("zookeeper") {
                engine.remove_volume(&volume).await?;
            }
        }
        anyhow::Ok(())
    })?;
    let started = std::time::Instant::now();
    let outcome = l.fails(&["2", "--run"], ERROR)?;
    ensure!(outcome.stderr.contains("keeps restarting"), "{}", outcome.stderr);
    ensure!(outcome.stderr.contains("Invalid cluster.id"), "{}", outcome.stderr);
    ensure!(
        outcome.stderr.contains(" up -d\n") && outcome.stderr.contains("kafka"),
        "no compose output: {}",
        outcome.stderr
    );
    ensure!(started.elapsed() < workshop::stack::ready_timeout(), "it waited out its time limit");
    let check = l.expect(&["check", "2"], NOT_DONE)?;
    ensure!(check.contains("Invalid cluster.id") && check.contains("down -v"), "{check}");
    let check = l.expect(&["check", "3"], NOT_DONE)?;
    ensure!(check.contains("Invalid cluster.id") && !check.contains("lesson 2 first"), "{check}");
    let doctor = l.expect(&["doctor"], NOT_DONE)?;
    ensure!(
        doctor.contains("keeps restarting") && doctor.contains("Invalid cluster.id"),
        "{doctor}"
    );
    Ok(())
}
