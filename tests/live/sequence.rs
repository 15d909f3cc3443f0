//! Every lesson is repeatable and order-independent: one learner's directory, the orders people really take
//! (the README's tour first, lessons run twice, typed by hand between runs, everything removed and done again),
//! and every check green at the end.

use crate::common;

use anyhow::{ensure, Result};
use common::{Learner, ERROR, NOT_DONE};

#[test]
fn lessons_repeat_in_any_order() -> Result<()> {
    let _memory = common::memory::reserve(1_300); // a stack
    let l = Learner::new()?;
    let _down = l.down_on_drop();

    l.expect(&["tour"], 0)?;
    l.expect(&["tour"], 0)?;

    l.expect(&["2", "--run"], 0)?;
    l.expect(&["4", "--run"], 0)?;
    l.expect(&["5", "--run"], 0)?;
    l.expect(&["5", "--run"], 0)?;
    typed_lesson_5(&l)?;
    console_consumer_left_in_the_group(&l)?;
    l.expect(&["check", "5"], 0)?;

    l.expect(&["tour", "--volumes"], 0)?;
    l.expect(&["check", "6", "--volumes"], 0)?;

    for lesson in ["1", "2", "3", "4", "5", "7"] {
        l.expect(&[lesson, "--run"], 0)?;
    }
    for lesson in ["1", "2", "3", "4", "5", "7"] {
        l.expect(&["check", lesson], 0)?;
    }
    resets(&l)?;
    l.expect(&["6", "--run"], 0)?;
    l.expect(&["check", "6"], 0)?;
    l.expect(&["check", "2"], NOT_DONE)?;
    Ok(())
}

/// `lesson reset N` takes the directory back to before lesson N, and asks before deleting (no terminal here,
/// so it refuses without --yes and changes nothing).
fn resets(l: &Learner) -> Result<()> {
    l.expect(&["reset", "5", "--yes"], 0)?;
    l.expect(&["check", "5"], NOT_DONE)?;
    l.expect(&["check", "4"], 0)?;
    l.expect(&["5", "--run"], 0)?;
    l.expect(&["check", "5"], 0)?;

    let refused = l.fails(&["reset", "4"], ERROR)?;
    ensure!(
        refused.stderr.contains("Nothing was changed") && refused.stderr.contains("--yes"),
        "{}",
        refused.stderr
    );
    l.expect(&["check", "4"], 0)?;
    l.expect(&["reset", "4", "--yes"], 0)?;
    l.expect(&["check", "4"], NOT_DONE)?;
    l.expect(&["check", "3"], 0)?;

    l.expect(&["reset", "7", "--yes"], 0)?;
    l.expect(&["check", "7"], NOT_DONE)?;
    ensure!(l.config.dir.join("collect/source").exists(), "reset 7 removed the learner's sources");

    l.expect(&["reset", "all", "--yes"], 0)?;
    l.expect(&["check", "1"], NOT_DONE)?;
    l.expect(&["check", "2"], NOT_DONE)?;
    ensure!(
        l.config.dir.join("docker-compose.yml.before-reset").exists(),
        "reset all deleted the compose file"
    );
    for lesson in ["1", "2", "3", "4", "5", "7"] {
        l.expect(&[lesson, "--run"], 0)?;
    }
    for lesson in ["1", "2", "3", "4", "5", "7"] {
        l.expect(&["check", lesson], 0)?;
    }
    Ok(())
}

/// Lesson 5 as a learner types it: the console producer, then the console consumer of the same group, which
/// after the runs above shows exactly the messages typed now.
fn typed_lesson_5(l: &Learner) -> Result<()> {
    let topic = "quickstart-events";
    let producer = workshop::basics::l05_produce_consume::produce_command(topic);
    let typed = "carol:typed by hand\ncarol:typed again\n";
    let out = l.compose_exec(&producer, Some(typed))?;
    ensure!(
        out.status.success(),
        "the typed producer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut consumer =
        workshop::basics::l05_produce_consume::consume_command(topic, "workshop-console");
    consumer.extend(["--max-messages".into(), "2".into(), "--timeout-ms".into(), "30000".into()]);
    let out = l.compose_exec(&consumer, None)?;
    let printed = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "the typed consumer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(printed.matches("typed").count() == 2, "the typed consumer printed: {printed}");
    Ok(())
}

/// A console consumer still in the group (its terminal gone, or started without one) would take the messages
/// lesson 5's own consumer waits for: `lesson 5 --run` says so at once and names the way out.
fn console_consumer_left_in_the_group(l: &Learner) -> Result<()> {
    let topic = "quickstart-events";
    let group = "workshop-console";
    let mut consumer = workshop::basics::l05_produce_consume::consume_command(topic, group);
    consumer.extend(["--max-messages".into(), "1".into()]);
    let mut left_running = l
        .compose_command(&["exec", "-T", "kafka"])
        .args(&consumer)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let bootstrap = format!("localhost:{}", l.config.kafka_port);
    let runtime = tokio::runtime::Runtime::new()?;
    let members = || {
        let bootstrap = bootstrap.clone();
        runtime.block_on(workshop::kafka::inspect::inspect(&bootstrap, move |k| {
            Ok(k.members(group)?.len())
        }))
    };
    common::wait_for("the console consumer to join its group", || Ok(members()? == 1))?;

    let refused = l.fails(&["5", "--run"], ERROR)?;
    ensure!(refused.stderr.contains("has 1 member(s) reading now"), "{}", refused.stderr);
    ensure!(
        refused.stderr.contains("restart kafka") && refused.stderr.contains("--group"),
        "{}",
        refused.stderr
    );

    let producer = workshop::basics::l05_produce_consume::produce_command(topic);
    l.compose_exec(&producer, Some("dave:read by the consumer left running\n"))?;
    ensure!(left_running.wait()?.success(), "the console consumer left running failed");
    common::wait_for("the console consumer to leave its group", || Ok(members()? == 0))?;
    l.expect(&["5", "--run"], 0)?;
    Ok(())
}
