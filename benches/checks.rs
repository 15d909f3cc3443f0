//! How long a learner waits for `lesson check N` and `lesson list`, beside `docker ps` on the same stack:
//! `cargo bench --bench checks`. Starts its own stack (own project, free ports), does lessons 1-5 on it, then
//! runs every command once per round, rounds alternating, and prints each command's median.
//! A benchmark, not a test: it asserts nothing; the workshop aims at checks <= 0.2 s and list <= 0.5 s.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

const ROUNDS: usize = 9;

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

struct Learner {
    dir: std::path::PathBuf,
    project: String,
    kafka_port: u16,
    zookeeper_port: u16,
}

impl Learner {
    fn lesson(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lesson"));
        command
            .args(args)
            .arg("--dir")
            .arg(&self.dir)
            .args(["--project", &self.project])
            .env("KAFKA_PORT", self.kafka_port.to_string())
            .env("ZOOKEEPER_PORT", self.zookeeper_port.to_string())
            .env("NO_COLOR", "1");
        command
    }

    fn run(&self, args: &[&str]) -> Result<()> {
        let out = self.lesson(args).output().context("Failed to run lesson")?;
        ensure!(
            out.status.success(),
            "lesson {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }
}

fn timed(mut command: Command) -> Result<Duration> {
    let start = Instant::now();
    command.output().context("Failed to run the command")?;
    Ok(start.elapsed())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() -> Result<()> {
    let project = format!("wks-bench-{:08x}", std::process::id());
    let dir = std::env::temp_dir().join(&project);
    std::fs::create_dir_all(&dir)?;
    let learner = Learner {
        dir: dir.clone(),
        project,
        kafka_port: free_port()?,
        zookeeper_port: free_port()?,
    };
    let result = measure(&learner);
    let _ = learner.lesson(&["6", "--run", "--volumes"]).output();
    std::fs::remove_dir_all(&dir).ok();
    result
}

fn measure(learner: &Learner) -> Result<()> {
    for args in [&["1", "--run"][..], &["2", "--run"], &["4", "--run"], &["5", "--run"]] {
        learner.run(args)?;
    }
    let docker_ps = || {
        let mut command = Command::new("docker");
        command.args([
            "ps",
            "--filter",
            &format!("label=com.docker.compose.project={}", learner.project),
        ]);
        command
    };
    let mut names = vec!["docker ps".to_string()];
    let mut commands: Vec<Box<dyn Fn() -> Command>> = vec![Box::new(docker_ps)];
    for id in 1..=7 {
        names.push(format!("lesson check {id}"));
        commands.push(Box::new(move || learner.lesson(&["check", &id.to_string()])));
    }
    names.push("lesson list".to_string());
    commands.push(Box::new(|| learner.lesson(&["list"])));

    let mut samples = vec![Vec::new(); commands.len()];
    for round in 0..ROUNDS {
        // Each round starts with another command, so that no command always runs right after the same one.
        for i in 0..commands.len() {
            let at = (i + round) % commands.len();
            samples[at].push(timed(commands[at]())?);
        }
    }
    println!(
        "Median of {ROUNDS} alternating rounds, on a running single-broker stack ({}):",
        stack_dir(learner)
    );
    for (name, samples) in names.iter().zip(samples) {
        println!("  {name:<16} {:>7.3} s", median(samples).as_secs_f64());
    }
    Ok(())
}

fn stack_dir(learner: &Learner) -> String {
    Path::new(&learner.dir)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
