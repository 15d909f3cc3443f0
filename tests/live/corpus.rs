//! Check 1 against the broker's own verdict. Each file of tests/corpus/ (the ZooKeeper track) and of
//! tests/corpus/kraft/ (the KRaft track) is a compose file a learner might write; each is started on the real
//! stack, and the test asserts that `lesson check 1` says done exactly when the broker came up and a program on
//! the host could create a topic, produce and consume through a consumer group.
//!
//! A file's header says what it shows: `# expect: works|refused` (what the broker does with it),
//! `# disagreement: why` where check 1 deliberately refuses a file the broker accepts (or the other way round),
//! `# start: no: why` for files not started here (an image no registry here serves). Host ports in the files are
//! `${KAFKA_PORT:-9092}` and `${ZOOKEEPER_PORT:-2181}`, and images `${KAFKA_IMAGE:-…}` (`${APACHE_KAFKA_IMAGE:-…}`
//! on the KRaft track), so that the test can run them on free ports with the stand-in images.

use crate::common;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use common::Learner;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use workshop::stack::engine::{Container, Engine, Health, State};

struct Case {
    name: String,
    text: String,
    works: bool,
    start: bool,
    disagreement: bool,
}

fn corpus(dir: &str) -> Result<Vec<Case>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files.into_iter().filter(|p| p.extension().is_some_and(|e| e == "yml")) {
        let text = std::fs::read_to_string(&path)?;
        let header = |key: &str| {
            text.lines().find_map(|l| l.strip_prefix(&format!("# {key}: "))).map(str::trim)
        };
        let expect = header("expect")
            .with_context(|| format!("{} has no `# expect:` line", path.display()))?;
        ensure!(matches!(expect, "works" | "refused"), "{}: expect is {expect}", path.display());
        cases.push(Case {
            name: path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
            works: expect == "works",
            start: !header("start").is_some_and(|s| s.starts_with("no")),
            disagreement: header("disagreement").is_some(),
            text,
        });
    }
    Ok(cases)
}

/// Both tracks in one test, one after the other: a track's files already start several stacks at once, and
/// the live tests run side by side.
#[test]
fn check_1_agrees_with_the_broker_on_every_file_of_both_corpora() -> Result<()> {
    let _memory = common::memory::reserve(5_200); // four stacks at once
                                                  // Files started at once: each stack takes about 1.3 GB, and most of a start is waiting.
    let zookeeper = agrees_on("tests/corpus", "zookeeper", 30, 4);
    // A KRaft stack is two JVMs starting at once (0.8 GiB of heap): fewer side by side on two cores.
    let kraft = agrees_on("tests/corpus/kraft", "kraft", 20, 3);
    match (zookeeper, kraft) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(err), Ok(())) | (Ok(()), Err(err)) => Err(err),
        (Err(zookeeper), Err(kraft)) => anyhow::bail!("{zookeeper:#}\n\n{kraft:#}"),
    }
}

fn agrees_on(dir: &str, track: &str, at_least: usize, at_once: usize) -> Result<()> {
    let cases = corpus(dir)?;
    ensure!(
        cases.len() >= at_least,
        "{dir} has {} files; it should have {at_least} or more",
        cases.len()
    );
    // `at_once` workers, each taking the next file as soon as its last one is judged: a file the broker never
    // takes (waited out to its deadline) holds up one worker, not a whole batch.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let found: Mutex<Vec<(usize, Result<String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..at_once {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let started = Instant::now();
                let verdict = judge(case, track)
                    .map(|v| format!("{v} ({:.0} s)", started.elapsed().as_secs_f64()));
                found.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push((i, verdict));
            });
        }
    });
    let mut found = found.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    found.sort_by_key(|(i, _)| *i);
    ensure!(found.len() == cases.len(), "{} of {} files judged", found.len(), cases.len());
    let mut verdicts = Vec::new();
    for (i, verdict) in found {
        verdicts.push(verdict.with_context(|| format!("corpus file {}", cases[i].name))?);
    }
    eprintln!("{}", verdicts.join("\n"));
    let wrong: Vec<&String> = verdicts.iter().filter(|v| v.starts_with("WRONG")).collect();
    ensure!(
        wrong.is_empty(),
        "check 1 and the broker disagree where the corpus says they agree:\n{wrong:#?}"
    );
    Ok(())
}

/// One file: check 1's verdict, the broker's (when started), and whether they relate as the header says.
fn judge(case: &Case, track: &str) -> Result<String> {
    let l = Learner::new()?;
    let _down = l.compose_down_on_drop();
    std::fs::write(l.config.compose_file(), &case.text)?;
    let check = l.lesson(&["--track", track, "check", "1"])?;
    ensure!(matches!(check.code, 0 | 1), "check 1 exited {}: {}", check.code, check.stderr);
    let check_done = check.code == 0;
    let broker_works = if case.start { Some(broker_works(&l)?) } else { None };
    // Nothing of this stack is kept: no grace period for the broker to shut down cleanly.
    let _ = l.compose_command(&["down", "--volumes", "--timeout", "0"]).output();
    let agrees_as_expected = check_done == (case.works != case.disagreement);
    let broker_as_expected = broker_works.is_none_or(|works| works == case.works);
    let mark = if agrees_as_expected && broker_as_expected { "ok   " } else { "WRONG" };
    Ok(format!(
        "{mark} {:<36} check 1: {:<8} broker: {:<12} expected: {}{}",
        case.name,
        if check_done { "done" } else { "not done" },
        match broker_works {
            Some(true) => "works",
            Some(false) => "refused",
            None => "not started",
        },
        if case.works { "works" } else { "refused" },
        if case.disagreement { " (a listed disagreement)" } else { "" },
    ))
}

/// Starts the file and finds out whether a program on the host can use the broker: topic, produce, consume in a
/// group. Gives up as soon as a container of Kafka (a broker or a KRaft controller) stops or restarts.
fn broker_works(l: &Learner) -> Result<bool> {
    let runtime = tokio::runtime::Runtime::new()?;
    let mut up = l.compose_command(&["up", "-d"]);
    let started = up.output().context("Failed to run compose up")?;
    if !started.status.success() {
        return Ok(false);
    }
    let engine = runtime.block_on(Engine::connect())?;
    let bootstrap = format!("localhost:{}", l.config.kafka_port);
    let deadline = Instant::now() + Duration::from_secs(100);
    let mut healthy_but_unreachable = 0;
    while Instant::now() < deadline {
        let containers = runtime.block_on(engine.containers(&l.config.project))?;
        let kafka: Vec<_> = containers.iter().filter(|c| c.image.contains("kafka")).collect();
        let failed =
            |c: &&Container| c.restarts > 0 || c.state.stopped() || c.state == State::Restarting;
        if kafka.is_empty() || kafka.iter().any(failed) {
            return Ok(false);
        }
        // The KRaft track's controller is a Kafka container too; the broker is the other one.
        match kafka.iter().find(|c| c.service != "controller") {
            None => return Ok(false),
            Some(c) if c.state == State::Running => {
                let metadata = runtime
                    .block_on(workshop::kafka::admin::brokers(&bootstrap, Duration::from_secs(2)));
                let Some(brokers) = metadata.ok().filter(|b| !b.is_empty()) else {
                    // Its own health check reaches it inside the container, and the host still cannot.
                    healthy_but_unreachable += u32::from(c.health == Health::Healthy);
                    if healthy_but_unreachable >= 3 {
                        return Ok(false);
                    }
                    std::thread::sleep(Duration::from_millis(500));
                    continue;
                };
                {
                    // A client next connects to the address each broker advertises: unreachable, nothing works.
                    for b in &brokers {
                        let connect = std::net::ToSocketAddrs::to_socket_addrs(&(
                            b.host.as_str(),
                            b.port as u16,
                        ))
                        .ok()
                        .and_then(|mut addrs| addrs.next())
                        .map(|addr| {
                            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))
                        });
                        if !matches!(connect, Some(Ok(_))) {
                            return Ok(false);
                        }
                    }
                    return runtime.block_on(round_trip(&bootstrap));
                }
            }
            Some(_) => {}
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(false)
}

async fn round_trip(bootstrap: &str) -> Result<bool> {
    let topic = "corpus-round-trip";
    let admin: AdminClient<DefaultClientContext> = workshop::kafka::config(bootstrap).create()?;
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let created =
        admin.create_topics([&NewTopic::new(topic, 1, TopicReplication::Fixed(1))], &options).await;
    if !created.is_ok_and(|results| results.iter().all(Result::is_ok)) {
        return Ok(false);
    }
    let producer: FutureProducer =
        workshop::kafka::config::producer(bootstrap).set("message.timeout.ms", "10000").create()?;
    let sent = producer.send(
        FutureRecord::<str, str>::to(topic).key("k").payload("hello"),
        Duration::from_secs(10),
    );
    if sent.await.is_err() {
        return Ok(false);
    }
    let bootstrap = bootstrap.to_string();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer =
            workshop::kafka::config::consumer(&bootstrap, "corpus").create()?;
        consumer.subscribe(&[topic])?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(Ok(message)) = consumer.poll(Duration::from_millis(500)) {
                return Ok(message.payload() == Some(b"hello".as_slice()));
            }
        }
        Ok(false)
    })
    .await?
}
