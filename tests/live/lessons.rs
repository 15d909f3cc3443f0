//! The six lessons in order, through the real `lesson` binary, against a real stack of the test's own.
//! Each check is also run before its lesson is done, to show it fails then, and says what to do.

use crate::common;

use anyhow::{Context, Result};
use common::{Learner, ERROR, NOT_DONE};

#[test]
fn lessons_in_order() -> Result<()> {
    let _memory = common::memory::reserve(1_300); // a stack
    let l = Learner::new()?;
    let _down = l.down_on_drop();
    l01_compose_file(&l)?;
    checks_before_the_stack_is_up(&l)?;
    l02_start(&l)?;
    l03_status(&l)?;
    l04_topic(&l)?;
    l05_produce_consume(&l)?;
    lesson_list(&l)?;
    l06_teardown(&l)
}

fn l01_compose_file(l: &Learner) -> Result<()> {
    snapshot!("l01_compose_file_explain", l.expect(&["1"], 0)?);
    snapshot_both!("l01_compose_file_check_before", l, &["check", "1"], NOT_DONE);
    l.expect(&["1", "--run"], 0)?;
    snapshot_both!("l01_compose_file_check", l, &["check", "1"], 0);
    Ok(())
}

fn checks_before_the_stack_is_up(l: &Learner) -> Result<()> {
    snapshot_both!("l02_start_check_before", l, &["check", "2"], NOT_DONE);
    snapshot_both!("l03_status_check_before", l, &["check", "3"], NOT_DONE);
    snapshot_both!(
        "l04_topic_check_before_stack",
        l,
        &["check", "4", "--topic", &l.topic],
        NOT_DONE
    );
    // Nothing of the project exists yet, as after `down -v`: only a stack seen running makes step 6 done.
    snapshot_both!("l06_teardown_check_never_started", l, &["check", "6"], NOT_DONE);
    Ok(())
}

fn l02_start(l: &Learner) -> Result<()> {
    snapshot!("l02_start_explain", l.expect(&["2"], 0)?);
    l.expect(&["2", "--run"], 0)?;
    snapshot_both!("l02_start_check", l, &["check", "2"], 0);
    Ok(())
}

fn l03_status(l: &Learner) -> Result<()> {
    snapshot!("l03_status_explain", l.expect(&["3"], 0)?);
    snapshot_both!("l03_status_run", l, &["3", "--run"], 0);
    snapshot_both!("l03_status_check", l, &["check", "3"], 0);
    Ok(())
}

fn l04_topic(l: &Learner) -> Result<()> {
    let topic = &l.topic;
    snapshot!("l04_topic_explain", l.expect(&["4"], 0)?);
    snapshot_both!("l04_topic_check_before", l, &["check", "4", "--topic", topic], NOT_DONE);
    snapshot!("l04_topic_run", l.expect(&["4", "--run", "--topic", topic], 0)?);
    snapshot_both!("l04_topic_check", l, &["check", "4", "--topic", topic], 0);
    let wrong = ["check", "4", "--topic", topic, "--partitions", "6"];
    snapshot_both!("l04_topic_check_wrong_partitions", l, &wrong, NOT_DONE);

    let native = common::random_name("topic");
    snapshot!(
        "l04_topic_run_native",
        l.expect(&["4", "--run", "--native", "--topic", &native], 0)?
    );
    l.expect(&["check", "4", "--topic", &native], 0)?;
    let native = common::random_name("topic");
    let args = ["--lang", "pt-BR", "4", "--run", "--native", "--topic", &native];
    snapshot!("l04_topic_run_native_pt_br", l.expect(&args, 0)?);
    let other = common::random_name("topic");
    let args = ["--lang", "pt-BR", "4", "--run", "--topic", &other];
    snapshot!("l04_topic_run_pt_br", l.expect(&args, 0)?);
    Ok(())
}

fn l05_produce_consume(l: &Learner) -> Result<()> {
    let topic = &l.topic;
    snapshot!("l05_produce_consume_explain", l.expect(&["5"], 0)?);
    snapshot_both!(
        "l05_produce_consume_check_before",
        l,
        &["check", "5", "--topic", topic],
        NOT_DONE
    );
    snapshot!("l05_produce_consume_run", l.expect(&["5", "--run", "--topic", topic], 0)?);
    let other = common::random_name("topic");
    l.expect(&["4", "--run", "--native", "--topic", &other], 0)?;
    let args = ["--lang", "pt-BR", "5", "--run", "--topic", &other];
    snapshot!("l05_produce_consume_run_pt_br", l.expect(&args, 0)?);
    snapshot_both!("l05_produce_consume_check", l, &["check", "5", "--topic", topic], 0);
    let other_group = ["check", "5", "--topic", topic, "--group", "nobody-read-this"];
    snapshot_both!("l05_produce_consume_check_other_group", l, &other_group, NOT_DONE);
    Ok(())
}

fn lesson_list(l: &Learner) -> Result<()> {
    snapshot_both!("lesson_list_after_lesson_5", l, &["list", "--topic", &l.topic], 0);
    let json: serde_json::Value =
        serde_json::from_str(&l.expect(&["list", "--json", "--topic", &l.topic], 0)?)?;
    anyhow::ensure!(json["next"] == 6 && json["done"] == 5, "list --json says {json}");
    Ok(())
}

fn l06_teardown(l: &Learner) -> Result<()> {
    snapshot!("l06_teardown_explain", l.expect(&["6"], 0)?);
    snapshot_both!("l06_teardown_check_before", l, &["check", "6"], NOT_DONE);
    l.expect(&["6", "--run"], 0)?;
    snapshot_both!("l06_teardown_check", l, &["check", "6"], 0);
    snapshot_both!("l06_teardown_check_volumes_before", l, &["check", "6", "--volumes"], NOT_DONE);
    l.expect(&["6", "--run", "--volumes"], 0)?;
    snapshot_both!("l06_teardown_check_volumes", l, &["check", "6", "--volumes"], 0);
    Ok(())
}

#[test]
fn unknown_lesson_says_which_there_are() -> Result<()> {
    let l = Learner::new()?;
    snapshot_both_stderr!("unknown_lesson", l, &["42"], ERROR);
    Ok(())
}

#[test]
fn bad_topic_name_is_refused_before_anything_runs() -> Result<()> {
    let l = Learner::new()?;
    snapshot_both_stderr!(
        "bad_topic_name",
        l,
        &["check", "4", "--topic", "no spaces allowed"],
        ERROR
    );
    let internal = l.fails(&["4", "--run", "--topic", "__consumer_offsets"], ERROR)?;
    anyhow::ensure!(internal.stderr.contains("one of Kafka's own topics"), "{}", internal.stderr);
    let no_partitions = l.fails(&["4", "--run", "--partitions", "0"], ERROR)?;
    anyhow::ensure!(
        no_partitions.stderr.contains("at least one partition"),
        "{}",
        no_partitions.stderr
    );
    Ok(())
}

#[test]
fn every_lesson_has_a_hint() -> Result<()> {
    let l = Learner::new()?;
    let hints: Vec<String> = workshop::catalog::infos()
        .map(|i| l.expect(&["hint", &i.id.to_string()], 0))
        .collect::<Result<_>>()?;
    snapshot!("hints", hints.join("\n"));
    Ok(())
}

#[test]
fn tour_runs_every_step_and_doctor_is_happy_before() -> Result<()> {
    let _memory = common::memory::reserve(1_300); // a stack
    let l = Learner::new()?;
    let _down = l.down_on_drop();
    let doctor = l.expect(&["doctor"], 0)?;
    anyhow::ensure!(doctor.contains("Ready for the workshop"), "{doctor}");
    let tour = l.expect(&["tour", "--volumes"], 0)?;
    // Every lesson of the stack is run and checked; the cluster's lessons are named, not started.
    let on_cluster: Vec<String> =
        workshop::catalog::infos().filter(|i| i.needs.cluster).map(|i| i.id.to_string()).collect();
    let named =
        format!("Lessons {} run on a cluster of three brokers of their own", on_cluster.join(", "));
    anyhow::ensure!(tour.contains(&named), "the tour did not say `{named}`:\n{tour}");
    for info in workshop::catalog::infos().filter(|i| i.needs.own_stack) {
        let named = format!("Lesson {} runs a broker of its own", info.id);
        anyhow::ensure!(tour.contains(&named), "the tour did not say `{named}`:\n{tour}");
    }
    for info in workshop::catalog::infos().filter(|i| !i.needs.cluster && !i.needs.own_stack) {
        let said = format!("lesson {} done", info.id);
        anyhow::ensure!(tour.contains(&said), "the tour did not say `{said}`:\n{tour}");
    }
    let left = l.expect(&["check", "6", "--volumes"], 0)?;
    anyhow::ensure!(left.contains("no volume of the project remains"), "{left}");
    Ok(())
}

/// `lesson watch` shows lesson 1 not done, sees the file appear, says lesson 1 is done and moves on to lesson 2;
/// Ctrl-C ends it with 130.
#[test]
fn watch_moves_on_when_a_lesson_is_done() -> Result<()> {
    use std::io::Read;
    let l = Learner::new()?;
    let mut child = l.command(&["watch"]).stdout(std::process::Stdio::piped()).spawn()?;
    let mut stdout = child.stdout.take().context("no stdout")?;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut text) = seen.lock() {
                    text.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        })
    };
    let shows = |what: &str| seen.lock().map(|t| t.contains(what)).unwrap_or(false);
    common::wait_for("watch to show lesson 1", || Ok(shows("Lesson 1 is not done yet")))?;
    l.expect(&["1", "--run"], 0)?;
    common::wait_for("watch to see lesson 1 done", || {
        Ok(shows("Lesson 1 is done. Next: lesson 2"))
    })?;
    common::wait_for("watch to move on to lesson 2", || Ok(shows("Checking lesson 2")))?;
    std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status()?;
    let status = child.wait()?;
    let _ = reader.join();
    let text = seen.lock().map(|t| t.clone()).unwrap_or_default();
    eprintln!("{text}");
    anyhow::ensure!(status.code() == Some(130), "watch exited {:?}", status.code());
    anyhow::ensure!(
        text.matches("Checking lesson 1").count() == 2,
        "lesson 1 was redrawn without a change:\n{text}"
    );
    Ok(())
}
