//! Lesson 7 on a live stack: a mixed set with a 24 MB file through Kafka into storage, with the sink
//! killed (SIGKILL) mid-file and started again, the broker restarted during an ingest, a hostile source
//! (names that are not UTF-8, link loops and escapes, a FIFO, unreadable files and folders, bad events),
//! a second folder on the same broker, a learner's own folder and events file (--source, --events), poison messages set aside as dead letters, and corrupt or missing
//! chunks never stored as complete.

use crate::common;

use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use common::{has_partial, Learner, ERROR, NOT_DONE};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use workshop::capstone::{ingest, sample, Names, Paths};
use workshop::stack::engine::Engine;

#[test]
fn l07_collect_on_a_live_stack() -> Result<()> {
    let _memory = common::memory::reserve(1_300); // a stack
    let l = Learner::new()?;
    let _down = l.down_on_drop();
    l.expect(&["1", "--run"], 0)?;
    l.expect(&["2", "--run"], 0)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let paths = Paths::in_dir(&l.config.dir);
    let names = Names::for_dir(&l.config.dir);
    l07_collect_check_before(&l)?;
    l07_collect_sink_killed_mid_file(&l, &paths)?;
    l07_collect_kafka_restarted_during_ingest(&l, &paths, &names, &runtime)?;
    l07_collect_watch(&l, &paths)?;
    l07_collect_events_from_stdin(&l, &paths)?;
    l07_collect_hostile_source(&l, &paths)?;
    l07_collect_second_folder(&l, &paths)?;
    l07_collect_your_own_folder(&l)?;
    l07_collect_poison_messages(&l, &names, &runtime)?;
    l07_collect_file_becomes_folder(&l, &paths)?;
    l07_collect_two_sinks_at_once(&l, &paths)?;
    l07_collect_corrupt_and_missing_chunks(&l, &paths, &names, &runtime)?;
    l07_collect_storage_disk_full(&l, &paths)?;
    l07_collect_storage_not_writable(&l, &paths)?;
    Ok(())
}

fn l07_collect_check_before(l: &Learner) -> Result<()> {
    snapshot!("l07_collect_explain", l.expect(&["7"], 0)?);
    snapshot_both!("l07_collect_check_before", l, &["check", "7"], NOT_DONE);
    snapshot_both_stderr!("l07_collect_nothing_to_collect", l, &["collect", "ingest"], ERROR);
    let elsewhere = l.fails(&["check", "3", "--source", "anywhere"], ERROR)?;
    ensure!(elsewhere.stderr.contains("--source is lesson 7's"), "{}", elsewhere.stderr);
    snapshot_both_stderr!(
        "l07_collect_topic_flag",
        l,
        &["collect", "sink", "--topic", "mine"],
        ERROR
    );
    Ok(())
}

fn l07_collect_sink_killed_mid_file(l: &Learner, paths: &Paths) -> Result<()> {
    sample::write(paths)?;
    // Trailing blanks are no part of an event: stored without them, and recognised as stored again.
    let mut events = std::fs::OpenOptions::new().append(true).open(&paths.events)?;
    std::io::Write::write_all(&mut events, b"{\"id\":\"trailing-blanks\"}   \n")?;
    let mut sink = l.command(&["collect", "sink"]).stdout(std::process::Stdio::null()).spawn()?;
    let ingest = l.command(&["collect", "ingest"]).spawn()?;
    common::wait_for("a file half-rebuilt by the sink", || Ok(has_partial(&paths.scratch)))?;
    sink.kill().context("Failed to kill the sink")?;
    sink.wait()?;
    let sent = ingest.wait_with_output()?;
    ensure!(sent.status.success(), "ingest failed: {}", String::from_utf8_lossy(&sent.stderr));
    l.expect(&["collect", "sink", "--until-caught-up"], 0)?;
    snapshot_both!("l07_collect_check", l, &["check", "7"], 0);
    let again = l.expect(&["collect", "ingest"], 0)?;
    ensure!(
        again.starts_with("sent 0 files (0.0 MB) and 0 events"),
        "a second ingest sent again: {again}"
    );
    Ok(())
}

fn l07_collect_kafka_restarted_during_ingest(
    l: &Learner,
    paths: &Paths,
    names: &Names,
    runtime: &tokio::runtime::Runtime,
) -> Result<()> {
    std::fs::write(paths.source.join("second-clip.mp4"), sample::video(40 * 1024 * 1024))?;
    let bootstrap = format!("localhost:{}", l.config.kafka_port);
    let before = runtime.block_on(common::chunks::messages_in(&bootstrap, &names.files))?;
    let ingest = l.command(&["collect", "ingest"]).spawn()?;
    common::wait_for("the ingest to start sending", || {
        Ok(runtime.block_on(common::chunks::messages_in(&bootstrap, &names.files))? > before)
    })?;
    runtime.block_on(async {
        let engine = Engine::connect().await?;
        engine.restart(&l.kafka_container(&engine).await?, 60).await
    })?;
    let sent = ingest.wait_with_output()?;
    ensure!(
        sent.status.success(),
        "ingest failed across the restart: {}",
        String::from_utf8_lossy(&sent.stderr)
    );
    l.expect(&["collect", "sink", "--until-caught-up"], 0)?;
    let check = l.expect(&["check", "7"], 0)?;
    ensure!(check.contains("7 of 7 source files"), "{check}");
    Ok(())
}

/// A live source: with the collector watching and the sink running, a file written into a new folder of
/// the source, a file rewritten at the same size, and events appended without a pause (a busy log) are
/// each stored, without either being started again.
fn l07_collect_watch(l: &Learner, paths: &Paths) -> Result<()> {
    use std::io::BufRead;
    let events_before = std::fs::read(&paths.events)?;
    let live = paths.source.join("live");
    std::fs::create_dir_all(&live)?;
    std::fs::write(live.join("notes.txt"), "there before the collector watched")?;
    let mut sink = l.command(&["collect", "sink"]).stdout(std::process::Stdio::null()).spawn()?;
    let mut watching = l
        .command(&["collect", "ingest", "--watch"])
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let stdout = watching.stdout.take().context("the watcher has no stdout")?;
    let (said, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = said.send(line);
        }
    });
    let mut heard = Vec::new();
    common::wait_for("the collector to say it is watching", || {
        heard.extend(lines.try_iter());
        Ok(heard.iter().any(|line| line.starts_with("watching ")))
    })?;
    let before_watching = heard.len();
    std::fs::create_dir_all(live.join("new"))?;
    std::fs::write(live.join("new/arrived.txt"), "written while the collector watched")?;
    std::fs::write(live.join("notes.txt"), "THERE BEFORE THE COLLECTOR WATCHED")?;
    // A busy log: a line every 100 ms for 15 s, never still for the 300 ms a round waits for. A fixed
    // count, so the topics' offsets (in later snapshots) do not depend on timing.
    const LOG_LINES: usize = 150;
    let appender = {
        let events = paths.events.clone();
        std::thread::spawn(move || -> Result<()> {
            let mut file = std::fs::OpenOptions::new().append(true).open(events)?;
            for n in 0..LOG_LINES {
                std::io::Write::write_all(
                    &mut file,
                    format!("{{\"id\":\"live-{n}\"}}\n").as_bytes(),
                )?;
                // The pace of a busy log (a writer, not a wait for anything).
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Ok(())
        })
    };
    let storage = workshop::capstone::storage::LocalDir::at(&paths.storage);
    let stored = |name: &str| -> Result<bool> {
        let want = std::fs::read(paths.source.join(name))?;
        Ok(std::fs::read(paths.storage.join("files").join(name)).is_ok_and(|got| got == want))
    };
    let has_event = |id: &str| -> Result<bool> {
        use workshop::capstone::storage::Storage;
        Ok(storage.events()?.iter().any(|e| e.id == id))
    };
    common::wait_for("the sink to store what was written while watching", || {
        Ok(stored("live/new/arrived.txt")? && stored("live/notes.txt")? && has_event("live-1")?)
    })?;
    ensure!(
        !appender.is_finished(),
        "stored only once the log stopped: a busy source got no round"
    );
    appender.join().map_err(|_| anyhow::anyhow!("the appender panicked"))??;
    let last = format!("live-{}", LOG_LINES - 1);
    common::wait_for("the log's last line to be stored", || has_event(&last))?;
    for child in [&mut watching, &mut sink] {
        child.kill()?;
        child.wait()?;
    }
    heard.extend(lines.try_iter());
    ensure!(
        heard[before_watching..].iter().any(|line| line.starts_with("sent ")),
        "the watcher said nothing of what it sent: {heard:?}"
    );
    l.expect(&["collect", "sink", "--until-caught-up"], 0)?;
    std::fs::remove_dir_all(&live)?;
    std::fs::write(&paths.events, events_before)?;
    Ok(())
}

/// Events piped in (`--events -`): each sent as it arrives (stored by a running sink while the pipe is
/// still open), checked as a file's lines are, refused ones said at once on stderr, the others stored
/// once; a command that would read the events again is refused.
fn l07_collect_events_from_stdin(l: &Learner, paths: &Paths) -> Result<()> {
    use std::io::Write;
    let args = ["collect", "ingest", "--events", "-"];
    let mut ingest = l
        .command(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let mut sink = l.command(&["collect", "sink"]).stdout(std::process::Stdio::null()).spawn()?;
    let mut input = ingest.stdin.take().context("the collector has no stdin")?;
    input.write_all(b"{\"id\":\"piped-1\"}\n")?;
    input.flush()?;
    let storage = workshop::capstone::storage::LocalDir::at(&paths.storage);
    use workshop::capstone::storage::Storage;
    let arrived =
        common::wait_for("the first piped event to be stored, the pipe still open", || {
            Ok(storage.events()?.iter().any(|e| e.id == "piped-1"))
        });
    sink.kill()?;
    sink.wait()?;
    arrived?;
    input.write_all(b"not json\n{\"id\":\"piped-1\"}\n{\"id\":\"piped-2\",\"n\":2}\n")?;
    drop(input);
    let out = ingest.wait_with_output()?;
    ensure!(out.status.code() == Some(NOT_DONE), "the collector exited {:?}", out.status.code());
    // What it says of the lines; the status lines beside them depend on timing.
    let said: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|line| line.starts_with("not sent: "))
        .map(str::to_string)
        .collect();
    snapshot!("l07_collect_events_from_stdin", said.join("\n"));
    let summary = String::from_utf8_lossy(&out.stdout);
    ensure!(summary.starts_with("sent 0 files (0.0 MB) and 2 events"), "{summary}");
    l.expect(&["collect", "sink", "--until-caught-up"], 0)?;
    let stored = storage.events()?;
    for id in ["piped-1", "piped-2"] {
        ensure!(stored.iter().filter(|e| e.id == id).count() == 1, "{id} is not stored once");
    }
    snapshot_both_stderr!(
        "l07_collect_events_stdin_check",
        l,
        &["check", "7", "--events", "-"],
        ERROR
    );
    Ok(())
}

/// Everything a real folder can hold that is not a plain file with a UTF-8 name, and events that break
/// the contract: each refused or left out with why, nothing else stopped, nothing stored under a name
/// the source does not have. Run without the capability to bypass file permissions, as a learner is.
fn l07_collect_hostile_source(l: &Learner, paths: &Paths) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let src = &paths.source;
    let hostile = src.join("hostile");
    std::fs::create_dir_all(hostile.join("locked"))?;
    for name in [&b"latin1-\xe9.txt"[..], b"latin1-\xe8.txt"] {
        std::fs::write(
            hostile.join(std::ffi::OsStr::from_bytes(name)),
            "two names that only differ where they are not UTF-8",
        )?;
    }
    std::os::unix::fs::symlink("..", hostile.join("loop"))?;
    let outside = paths.source.with_file_name("outside");
    std::fs::create_dir_all(&outside)?;
    std::fs::write(outside.join("private.txt"), "not part of the source")?;
    std::os::unix::fs::symlink(&outside, hostile.join("escape"))?;
    ensure!(
        std::process::Command::new("mkfifo").arg(hostile.join("pipe")).status()?.success(),
        "mkfifo failed"
    );
    std::fs::write(hostile.join("locked/inside.txt"), "unreachable")?;
    std::fs::write(hostile.join("secret.txt"), "unreadable")?;
    std::fs::write(hostile.join("fine.txt"), "the one file here that is collected")?;
    std::fs::set_permissions(hostile.join("locked"), std::fs::Permissions::from_mode(0o000))?;
    std::fs::set_permissions(hostile.join("secret.txt"), std::fs::Permissions::from_mode(0o000))?;
    let events_before = std::fs::read(&paths.events)?;
    let mut events = events_before.clone();
    events.extend_from_slice(
        b"{\"id\":\"ok-1\",\"kind\":\"new\"}\n{\"id\":\"latin1\",\"v\":\"\xe9\"}\n{not json\n",
    );
    events.extend_from_slice(
        format!("{{\"id\":\"huge\",\"pad\":\"{}\"}}\n", "x".repeat(2_000_000)).as_bytes(),
    );
    events.extend_from_slice(b"{\"id\":\"ok-1\",\"kind\":\"changed\"}\n");
    std::fs::write(&paths.events, &events)?;

    // Sent twice, in English then in Portuguese: the sink stores what arrives twice once.
    for (lang, name) in common::in_both_languages("l07_collect_hostile_ingest") {
        let args = ["--lang", lang, "collect", "ingest"];
        let sent = l.check_code(&args, l.run(&args, unprivileged(l, &args))?, NOT_DONE)?;
        snapshot!(name.as_str(), sent.stdout);
    }
    l.expect(&["collect", "sink", "--until-caught-up"], 0)?;
    for (lang, name) in common::in_both_languages("l07_collect_hostile_check") {
        let args = ["--lang", lang, "check", "7"];
        let check = l.check_code(&args, l.run(&args, unprivileged(l, &args))?, NOT_DONE)?;
        snapshot!(name.as_str(), check.stdout);
    }
    let args = ["check", "7"];
    std::fs::set_permissions(&paths.events, std::fs::Permissions::from_mode(0o000))?;
    let check = l.check_code(&args, l.run(&args, unprivileged(l, &args))?, NOT_DONE)?;
    ensure!(
        check.stdout.contains("events.jsonl can be read"),
        "an unreadable events file passed: {}",
        check.stdout
    );
    std::fs::set_permissions(&paths.events, std::fs::Permissions::from_mode(0o644))?;
    let stored: Vec<String> = workshop::capstone::source::scan(&paths.storage.join("files"))
        .files
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    ensure!(stored.iter().any(|n| n == "hostile/fine.txt"), "fine.txt was not stored: {stored:?}");
    ensure!(
        !stored.iter().any(|n| n.contains('\u{fffd}')
            || n.contains("loop/")
            || n.contains("escape/")
            || n.contains("locked")),
        "storage holds names the source does not have: {stored:?}"
    );

    std::fs::set_permissions(hostile.join("locked"), std::fs::Permissions::from_mode(0o755))?;
    std::fs::remove_dir_all(&hostile)?;
    std::fs::remove_dir_all(&outside)?;
    std::fs::write(&paths.events, events_before)?;
    l.expect(&["collect", "ingest"], 0)?;
    l.expect(&["collect", "sink", "--until-caught-up"], 0)?;
    Ok(())
}

/// `lesson ARGS` as a learner runs it: root here, but without the capabilities that bypass file permissions.
fn unprivileged(l: &Learner, args: &[&str]) -> std::process::Command {
    let lesson = l.command(args);
    let mut command = std::process::Command::new("setpriv");
    command
        .args(["--bounding-set", "-dac_override,-dac_read_search", "--"])
        .arg(lesson.get_program());
    command.args(lesson.get_args()).envs(lesson.get_envs().filter_map(|(k, v)| Some((k, v?))));
    command
}

/// A second folder on the same stack (the same compose project: two folders of one name get one) keeps
/// its files to itself.
fn l07_collect_second_folder(l: &Learner, paths: &Paths) -> Result<()> {
    let mut config = l.config.clone();
    config.dir = l.config.dir.with_file_name(format!("{}-second", l.config.project));
    std::fs::create_dir_all(&config.dir)?;
    std::fs::copy(l.config.compose_file(), config.compose_file())?;
    let other = Learner {
        config,
        topic: l.topic.clone(),
        cluster_ports: l.cluster_ports,
        secure_port: l.secure_port,
    };
    let theirs = Paths::in_dir(&other.config.dir);
    std::fs::create_dir_all(&theirs.source)?;
    std::fs::write(theirs.source.join("theirs.txt"), "belongs to the second folder")?;
    other.expect(&["collect", "ingest"], 0)?;
    l.expect(&["collect", "sink", "--until-caught-up"], 0)?;
    ensure!(
        !paths.storage.join("files/theirs.txt").exists(),
        "the first folder's sink stored the second's file"
    );
    other.expect(&["collect", "sink", "--until-caught-up"], 0)?;
    ensure!(
        theirs.storage.join("files/theirs.txt").exists(),
        "the second folder's sink did not store its file"
    );
    std::fs::remove_dir_all(&other.config.dir)?;
    Ok(())
}

/// Messages no collector sends: each set aside with why, the sink goes on, and a restart does not stop
/// on them again.
fn l07_collect_poison_messages(
    l: &Learner,
    names: &Names,
    runtime: &tokio::runtime::Runtime,
) -> Result<()> {
    let bootstrap = format!("localhost:{}", l.config.kafka_port);
    let producer = runtime.block_on(ingest::producer(&bootstrap))?;
    let traversal =
        [("file-id", "x"), ("name", "../../escape"), ("content-type", "t"), ("size", "1")];
    let headers = traversal
        .iter()
        .fold(OwnedHeaders::new(), |h, (key, value)| h.insert(Header { key, value: Some(*value) }));
    runtime.block_on(async {
        let poison =
            FutureRecord::to(&names.files).key("poison").payload(b"x".as_slice()).headers(headers);
        producer
            .send(poison, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| anyhow::anyhow!("{e}"))?;
        for line in ["{not json", r#"{"id":"evt-00001","kind":"rewritten"}"#] {
            let record = FutureRecord::to(&names.events).key("poison").payload(line.as_bytes());
            producer
                .send(record, Duration::from_secs(30))
                .await
                .map_err(|(e, _)| anyhow::anyhow!("{e}"))?;
        }
        anyhow::Ok(())
    })?;
    let sink = l.fails(&["collect", "sink", "--until-caught-up"], NOT_DONE)?;
    snapshot!("l07_collect_poison", sink.stdout);
    l.expect(&["collect", "sink", "--until-caught-up"], 0)?;
    snapshot_both!("l07_collect_check_dead_letters", l, &["check", "7"], 0);
    Ok(())
}

/// A folder and an events file of the learner's own, anywhere: collected and checked like the lesson's, and
/// named wrongly, refused before anything runs. No sample is ever written into a folder the learner named.
fn l07_collect_your_own_folder(l: &Learner) -> Result<()> {
    let own = l.config.dir.with_extension("own");
    std::fs::create_dir_all(own.join("reports"))?;
    std::fs::write(own.join("notes.txt"), "mine")?;
    std::fs::write(own.join("reports/q3.csv"), "quarter,revenue\nq3,42\n")?;
    let events = l.config.dir.with_extension("events.jsonl");
    std::fs::write(&events, "{\"id\":\"mine-1\",\"kind\":\"signup\"}\n{\"id\":\"mine-2\"}\n")?;
    let (source, events) = (own.display().to_string(), events.display().to_string());
    // The lesson's own storage holds the sample's copies: another folder's go elsewhere.
    let into_lessons =
        ["collect", "ingest", "--source", source.as_str(), "--events", events.as_str()];
    snapshot_both_stderr!("l07_collect_storage_holds_another_source", l, &into_lessons, ERROR);
    let storage = l.config.dir.with_extension("own-storage").display().to_string();
    let mine = ["--source", &source, "--events", &events, "--storage", &storage];
    let with = |args: &[&'static str]| -> Vec<&str> { args.iter().copied().chain(mine).collect() };
    l.expect(&with(&["collect", "ingest"]), 0)?;
    l.expect(&with(&["collect", "sink", "--until-caught-up"]), 0)?;
    snapshot_both!("l07_collect_check_own_folder", l, &with(&["check", "7"]), 0);
    // An empty folder of the learner's gets no sample, and their events file stays as it was.
    let empty = l.config.dir.with_extension("empty");
    std::fs::create_dir_all(&empty)?;
    let before = std::fs::read(&events)?;
    let empty_source = empty.display().to_string();
    let empty_storage = l.config.dir.with_extension("empty-storage").display().to_string();
    let into_empty = ["--source", &empty_source, "--events", &events, "--storage", &empty_storage];
    l.expect(&[&["7", "--run"][..], &into_empty].concat(), 0)?;
    ensure!(
        std::fs::read_dir(&empty)?.next().is_none(),
        "lesson 7 --run wrote into the learner's folder"
    );
    ensure!(std::fs::read(&events)? == before, "lesson 7 --run changed the learner's events");
    let nowhere = l.config.dir.with_extension("missing").display().to_string();
    let missing = ["check", "7", "--source", nowhere.as_str()];
    snapshot_both_stderr!("l07_collect_missing_source", l, &missing, ERROR);
    let holds_storage = l.config.dir.display().to_string();
    let around = ["collect", "ingest", "--source", holds_storage.as_str()];
    snapshot_both_stderr!("l07_collect_source_holds_storage", l, &around, ERROR);
    Ok(())
}

/// A stored file whose name becomes a folder in the source: that file is set aside with what to do, the
/// sink goes on, and after the fix it is stored.
fn l07_collect_file_becomes_folder(l: &Learner, paths: &Paths) -> Result<()> {
    let was_file = paths.source.join("renamed");
    std::fs::write(&was_file, "a file first")?;
    l.expect(&["collect", "ingest"], 0)?;
    l.expect(&["collect", "sink", "--until-caught-up"], 0)?;
    std::fs::remove_file(&was_file)?;
    std::fs::create_dir_all(&was_file)?;
    std::fs::write(was_file.join("inside.txt"), "then a folder")?;
    l.expect(&["collect", "ingest"], 0)?;
    let sink = l.fails(&["collect", "sink", "--until-caught-up"], NOT_DONE)?;
    snapshot!("l07_collect_file_becomes_folder", sink.stdout);
    let moved = paths.storage.with_file_name("renamed-before");
    std::fs::rename(paths.storage.join("files/renamed"), &moved)?;
    l.expect(&["collect", "ingest"], 0)?;
    l.expect(&["collect", "sink", "--until-caught-up"], 0)?;
    ensure!(
        paths.storage.join("files/renamed/inside.txt").exists(),
        "the file inside the new folder was not stored"
    );
    std::fs::remove_dir_all(&was_file)?;
    std::fs::remove_file(&moved)?;
    Ok(())
}

/// Two sinks of one folder at once share the work and never store an event twice.
fn l07_collect_two_sinks_at_once(l: &Learner, paths: &Paths) -> Result<()> {
    let before = std::fs::read(&paths.events)?;
    let mut events = before.clone();
    for i in 0..50_000 {
        events.extend_from_slice(format!("{{\"id\":\"many-{i}\",\"n\":{i}}}\n").as_bytes());
    }
    std::fs::write(&paths.events, events)?;
    l.expect(&["collect", "ingest"], 0)?;
    let sinks: Vec<_> = (0..2)
        .map(|_| {
            l.command(&["collect", "sink", "--until-caught-up"])
                .stdout(std::process::Stdio::piped())
                .spawn()
        })
        .collect::<std::io::Result<_>>()?;
    for sink in sinks {
        let out = sink.wait_with_output()?;
        ensure!(
            out.status.success(),
            "a sink failed beside another: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let check = l.expect(&["check", "7"], 0)?;
    ensure!(check.contains("50201 of 50201 events are stored"), "{check}");
    ensure!(check.contains("✓ every stored event is stored once"), "{check}");
    std::fs::write(&paths.events, before)?;
    Ok(())
}

fn l07_collect_corrupt_and_missing_chunks(
    l: &Learner,
    paths: &Paths,
    names: &Names,
    runtime: &tokio::runtime::Runtime,
) -> Result<()> {
    let bootstrap = format!("localhost:{}", l.config.kafka_port);
    let producer = runtime.block_on(ingest::producer(&bootstrap))?;
    let bytes = sample::video(3 * workshop::capstone::CHUNK_SIZE);
    let corrupt = common::chunks::crafted(&paths.storage, "corrupt.mp4", &bytes)?;
    let missing = common::chunks::crafted(&paths.storage, "missing.mp4", &bytes)?;
    runtime.block_on(common::chunks::send_corrupt_and_missing(
        &producer,
        &names.files,
        [&corrupt, &missing],
        &bytes,
    ))?;
    let sink = l.fails(&["collect", "sink", "--until-caught-up"], NOT_DONE)?;
    snapshot!("l07_collect_sink_rejects", sink.stdout);
    let stored = paths.storage.join("files");
    ensure!(
        !stored.join("corrupt.mp4").exists() && !stored.join("missing.mp4").exists(),
        "a bad file was stored"
    );
    Ok(())
}

/// A storage on a disk too small (a tmpfs of 8 MB for the source's 65 MB): the sink stops with the disk
/// named, nothing in storage looks complete that is not, and once there is room the same command ends the
/// work. Mounting needs root, as CI runs.
fn l07_collect_storage_disk_full(l: &Learner, paths: &Paths) -> Result<()> {
    let small = l.config.dir.with_extension("small-disk");
    std::fs::create_dir_all(&small)?;
    let mount = |args: &[&str]| -> Result<()> {
        let out = std::process::Command::new("mount").args(args).arg(&small).output()?;
        ensure!(
            out.status.success(),
            "mount {} failed (this test needs root): {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    };
    mount(&["-t", "tmpfs", "-o", "size=8m", "tmpfs"])?;
    let result = (|| -> Result<()> {
        let storage = format!("--storage={}", small.display());
        l.expect(&["collect", "ingest", &storage], 0)?;
        let full = l.fails(&["collect", "sink", "--until-caught-up", &storage], ERROR)?;
        ensure!(full.stderr.contains("is the disk full?"), "{}", full.stderr);
        for entry in walk(&small.join("files"))? {
            let name = entry.strip_prefix(small.join("files"))?;
            let source = std::fs::metadata(paths.source.join(name))?.len();
            let stored = std::fs::metadata(&entry)?.len();
            ensure!(
                stored == source,
                "{} is visible with {stored} of {source} bytes",
                name.display()
            );
        }
        mount(&["-o", "remount,size=256m"])?;
        l.expect(&["collect", "sink", "--until-caught-up", &storage], 0)?;
        let check = l.expect(&["check", "7", &storage], 0)?;
        ensure!(check.contains("✓ every stored file has its source's SHA-256"), "{check}");
        Ok(())
    })();
    let unmounted = std::process::Command::new("umount").arg(&small).status()?;
    result?;
    ensure!(unmounted.success(), "umount {} failed", small.display());
    Ok(())
}

/// Every file below `dir`.
fn walk(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(walk(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

fn l07_collect_storage_not_writable(l: &Learner, paths: &Paths) -> Result<()> {
    std::fs::remove_dir_all(&paths.storage)?;
    std::fs::write(&paths.storage, "a file where the storage directory should be")?;
    let sink = ["collect", "sink", "--until-caught-up"];
    snapshot_both_stderr!("l07_collect_storage_not_writable", l, &sink, ERROR);
    Ok(())
}
