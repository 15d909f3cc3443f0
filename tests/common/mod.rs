//! Helpers shared by the live tests: a stack of their own, random names, one list of snapshot filters.
#![allow(dead_code)]

pub mod chunks;
pub mod memory;

use std::path::PathBuf;

use anyhow::{Context, Result};
use workshop::stack::config::{StackConfig, COMPOSE_FILE};
use workshop::stack::Stack;

/// What varies between runs, replaced before snapshots are compared. One list for every test; the host ports
/// a test picked are added to it as they are picked (see `free_port`), so fixed ports like 9092 stay readable.
/// `lesson`'s exit codes: a check that finds the lesson not done, and an error (bad input, a stack that is not
/// there) that stops the command.
pub const NOT_DONE: i32 = 1;
pub const ERROR: i32 = 2;

pub const FILTERS: &[(&str, &str)] = &[
    (r"wks-[a-z]+-[0-9a-f]{8}", "[NAME]"),
    // Compose v1 names containers `project_service_1`, v2 `project-service-1`: snapshots show v2's.
    (r"(\[NAME\])_([a-z]+)_1\b", "$1-$2-1"),
    // A command the program shows is spelled as the machine's compose CLI is: snapshots show v2's.
    (r"(\$ (?:cd (?:cluster|secure) && )?)docker-compose ", "${1}docker compose "),
    // Compose v1 creates every named volume of the file at `up`, v2 only those of the services it starts: the
    // storage servers' volumes (profile cloud) appear on v1 alone.
    (r"\[NAME\]_(azurite|s3)-data, ", ""),
    (r"[\w./-]*cp-(kafka|zookeeper):\d+\.\d+\.\d+[\w.-]*", "[cp-$1 image]"),
    (r"[\w./-]*apache[/-]kafka:\d+\.\d+\.\d+[\w.-]*", "[apache/kafka image]"),
    // Where the KRaft metadata log stands: records accumulate as the broker heartbeats.
    (r"offset \d+, high watermark \d+", "offset [N], high watermark [N]"),
    (
        r"version \d+\.\d+\.\d+[\w.-]*(, built on \d{4}-\d\d-\d\d \d\d:\d\d UTC)?",
        "version [VERSION]",
    ),
    (r"TopicId: \S+", "TopicId: [ID]"),
    // librdkafka's account of a refused connection says how long it took.
    (r"\(after \d+ms in state ", "(after [N]ms in state "),
    // How long the collector took.
    (r"\b(in|em) \d+\.\d s\b", "$1 [TIME] s"),
    (r"\b\d+(\.\d+)? MB/s\b", "[N] MB/s"),
    // Lesson 7's topics and group carry a hash of the learner's folder.
    (r"collect-[0-9a-f]{8}-", "collect-[DIR]-"),
    (r"\b[0-9a-f]{64}\b", "[ID]"),
    // Whether the controller bumped a partition's leader epoch once or twice during a failover is a matter of timing.
    (r"(leader epochs|épocas do líder) [0-9][0-9, …]*( \([^)]*\))?:", "$1 [EPOCHS]:"),
    // What a command waits for is shown after a second of waiting: how many such lines depends on the machine.
    (r"(?m)^(waiting for|aguardando) .*\n", ""),
];

static PICKED_PORTS: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());

pub fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in FILTERS {
        settings.add_filter(pattern, *replacement);
    }
    for port in PICKED_PORTS.lock().map(|p| p.clone()).unwrap_or_default() {
        settings.add_filter(&format!(r"\b{port}\b"), "[PORT]");
    }
    settings.add_filter(&regex_escape(env!("CARGO_TARGET_TMPDIR")), "[TMP]");
    settings.set_prepend_module_to_snapshot(false);
    // One folder for every test binary's snapshots, modules in subfolders (tests/live/cluster/groups.rs) included.
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots"));
    settings
}

fn regex_escape(text: &str) -> String {
    text.chars().fold(String::new(), |mut out, c| {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

/// Prints the raw text to stderr (seen with --nocapture or on failure), then snapshots it filtered.
#[macro_export]
macro_rules! snapshot {
    ($name:expr, $text:expr) => {{
        let text: String = $text;
        eprintln!("----- {} (raw) -----\n{}", $name, text);
        $crate::common::settings().bind(|| insta::assert_snapshot!($name, text));
    }};
}

/// `--lang` and the snapshot name for each language: `NAME` in English, `NAME_pt_br` in Portuguese.
pub fn in_both_languages(name: &str) -> [(&'static str, String); 2] {
    [("en", name.to_string()), ("pt-BR", format!("{name}_pt_br"))]
}

/// Snapshots what `lesson ARGS` printed (stdout; exit `code`) as `name`, then the same command in Portuguese
/// as `name_pt_br`: the Portuguese book shows that one where the English book shows the first.
#[macro_export]
macro_rules! snapshot_both {
    ($name:expr, $l:expr, $args:expr, $code:expr) => {{
        let args: &[&str] = $args;
        snapshot!($name, $l.expect(args, $code)?);
        let portuguese: Vec<&str> =
            ["--lang", "pt-BR"].into_iter().chain(args.iter().copied()).collect();
        snapshot!(format!("{}_pt_br", $name), $l.expect(&portuguese, $code)?);
    }};
}

/// As `snapshot_both!`, for a command that fails with exit `code`: what it printed on stderr.
#[macro_export]
macro_rules! snapshot_both_stderr {
    ($name:expr, $l:expr, $args:expr, $code:expr) => {{
        let args: &[&str] = $args;
        snapshot!($name, $l.fails(args, $code)?.stderr);
        let portuguese: Vec<&str> =
            ["--lang", "pt-BR"].into_iter().chain(args.iter().copied()).collect();
        snapshot!(format!("{}_pt_br", $name), $l.fails(&portuguese, $code)?.stderr);
    }};
}

/// A name no other test or run uses: `wks-<what>-<8 hex>`.
pub fn random_name(what: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    format!("wks-{what}-{:08x}", hasher.finish() as u32)
}

/// A free host port, remembered so that snapshots show it as [PORT].
pub fn free_port() -> Result<u16> {
    // The system may hand out a port again once its listener is closed: never one this process picked before.
    for _ in 0..100 {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").context("Failed to find a free port")?;
        let port = listener.local_addr()?.port();
        let Ok(mut picked) = PICKED_PORTS.lock() else { return Ok(port) };
        if !picked.contains(&port) {
            picked.push(port);
            return Ok(port);
        }
    }
    anyhow::bail!("the system kept handing out ports this test already uses")
}

pub fn repo_compose_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("compose").join(COMPOSE_FILE)
}

/// A learner's directory of its own (under target/) with its own project name and free host ports.
pub fn learner_config(what: &str) -> Result<StackConfig> {
    let name = random_name(what);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&name);
    std::fs::create_dir_all(&dir).with_context(|| format!("Failed to create {}", dir.display()))?;
    Ok(StackConfig {
        dir,
        project: name,
        project_given: true,
        kafka_port: free_port()?,
        zookeeper_port: free_port()?,
        track: Default::default(),
    })
}

/// Whether the sink's scratch folder `dir` holds a file it is still rebuilding (`<id>.partial`).
pub fn has_partial(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().any(|e| e.path().extension().is_some_and(|x| x == "partial")))
        .unwrap_or(false)
}

/// Polls `ready` every 50 ms for up to two minutes.
pub fn wait_for(what: &str, mut ready: impl FnMut() -> Result<bool>) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !ready()? {
        anyhow::ensure!(std::time::Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Ok(())
}

/// Removes the project's containers, network and volumes when the test ends, however it ends.
pub struct DownOnDrop {
    pub program: Vec<String>,
}

impl DownOnDrop {
    pub fn new(stack: &Stack) -> Self {
        let mut program: Vec<String> =
            stack.compose.cli.name().split(' ').map(str::to_string).collect();
        program.extend(["--project-name".into(), stack.config.project.clone()]);
        program.extend(["--file".into(), stack.config.compose_file().display().to_string()]);
        program.extend(["--profile".into(), "cloud".into(), "down".into(), "-v".into()]);
        DownOnDrop { program }
    }
}

/// A learner in a directory of their own, running the real `lesson` binary against their own stack.
pub struct Learner {
    pub config: StackConfig,
    pub topic: String,
    /// The host ports of lesson 8's three brokers (KAFKA_1_PORT, …).
    pub cluster_ports: [u16; 3],
    /// The host port of lesson 11's secure broker (KAFKA_SECURE_PORT).
    pub secure_port: u16,
}

/// What one `lesson` command did.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Learner {
    pub fn new() -> Result<Learner> {
        Ok(Learner {
            config: learner_config("lessons")?,
            topic: random_name("topic"),
            cluster_ports: [free_port()?, free_port()?, free_port()?],
            secure_port: free_port()?,
        })
    }

    /// `lesson ARGS --dir <dir> --project <project>` with the learner's ports, not yet started.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lesson"));
        command
            .args(args)
            .arg("--dir")
            .arg(&self.config.dir)
            .args(["--project", &self.config.project])
            .env("KAFKA_PORT", self.config.kafka_port.to_string())
            .env("ZOOKEEPER_PORT", self.config.zookeeper_port.to_string())
            .env("KAFKA_1_PORT", self.cluster_ports[0].to_string())
            .env("KAFKA_2_PORT", self.cluster_ports[1].to_string())
            .env("KAFKA_3_PORT", self.cluster_ports[2].to_string())
            .env("KAFKA_SECURE_PORT", self.secure_port.to_string())
            .env("NO_COLOR", "1")
            // English, whatever the machine's locale; a test in Portuguese passes --lang pt-BR.
            .env("WORKSHOP_LANG", "en");
        command
    }

    /// Runs `lesson ARGS` as `command` sets it up; prints what it printed.
    pub fn lesson(&self, args: &[&str]) -> Result<Outcome> {
        self.run(args, self.command(args))
    }

    /// Runs a prepared `command` (of `lesson ARGS`) to its end; prints what it printed.
    pub fn run(&self, args: &[&str], mut command: std::process::Command) -> Result<Outcome> {
        let out = command.output().context("Failed to run the lesson binary")?;
        let outcome = Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        eprintln!(
            "$ lesson {} -> exit {}\n{}{}",
            args.join(" "),
            outcome.code,
            outcome.stdout,
            outcome.stderr
        );
        Ok(outcome)
    }

    /// The lesson must fail with exit `code`; returns what it printed (the message is on stderr).
    pub fn fails(&self, args: &[&str], code: i32) -> Result<Outcome> {
        self.check_code(args, self.lesson(args)?, code)
    }

    /// A prepared command (of `lesson ARGS`) must end with exit `code`.
    pub fn check_code(&self, args: &[&str], outcome: Outcome, code: i32) -> Result<Outcome> {
        anyhow::ensure!(
            outcome.code == code,
            "`lesson {}` exited {} (wanted {code})",
            args.join(" "),
            outcome.code
        );
        Ok(outcome)
    }

    /// The id of the learner's kafka container, found by its compose labels through the Docker API.
    pub async fn kafka_container(
        &self,
        engine: &workshop::stack::engine::Engine,
    ) -> Result<String> {
        let containers = engine.containers(&self.config.project).await?;
        Ok(containers.into_iter().find(|c| c.service == "kafka").context("no kafka container")?.id)
    }

    /// The lesson must exit with `code`; returns its standard output.
    pub fn expect(&self, args: &[&str], code: i32) -> Result<String> {
        let outcome = self.lesson(args)?;
        anyhow::ensure!(
            outcome.code == code,
            "`lesson {}` exited {} (wanted {code})",
            args.join(" "),
            outcome.code
        );
        Ok(outcome.stdout)
    }

    /// `docker compose exec -T kafka CMD...` in the learner's project, as they would type it (Compose v2 when
    /// present, else v1), with `stdin` piped in.
    pub fn compose_exec(
        &self,
        cmd: &[String],
        stdin: Option<&str>,
    ) -> Result<std::process::Output> {
        use std::io::Write;
        let mut command = self.compose_command(&["exec", "-T", "kafka"]);
        command
            .args(cmd)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().context("Failed to run compose exec")?;
        if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
            input.write_all(text.as_bytes())?;
        }
        drop(child.stdin.take());
        let out = child.wait_with_output()?;
        eprintln!(
            "$ compose exec -T kafka {} -> {:?}\n{}",
            cmd.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout)
        );
        Ok(out)
    }

    /// `docker compose --project-name P --file F ARGS` (Compose v2 when present, else v1) with the learner's ports.
    pub fn compose_command(&self, args: &[&str]) -> std::process::Command {
        let mut command = compose_cli();
        command
            .args(["--project-name", &self.config.project, "--file"])
            .arg(self.config.compose_file())
            .args(args)
            .env("KAFKA_PORT", self.config.kafka_port.to_string())
            .env("ZOOKEEPER_PORT", self.config.zookeeper_port.to_string());
        command
    }

    /// Writes `text` as the learner's docker-compose.yml.
    pub fn write_compose(&self, text: &str) -> Result<()> {
        std::fs::write(self.config.compose_file(), text).context("Failed to write the compose file")
    }

    /// Tears the learner's stack down (with its volumes) when the test ends, through the lesson itself.
    pub fn down_on_drop(&self) -> DownOnDrop {
        self.lesson_on_drop(&["6", "--run", "--volumes"])
    }

    /// `docker compose down -v` on the learner's project when the test ends, however it ends: for stacks the
    /// lessons do not start (yet), such as the KRaft track's.
    pub fn compose_down_on_drop(&self) -> DownOnDrop {
        let mut program = compose_program();
        program.extend(["--project-name".into(), self.config.project.clone(), "--file".into()]);
        program.push(self.config.compose_file().display().to_string());
        program.extend(["down".into(), "-v".into()]);
        DownOnDrop { program }
    }

    /// Removes lesson 8's cluster with its volumes when the test ends, however it ends, through the lesson
    /// (on the ZooKeeper track, whichever track the folder is on by then).
    pub fn cluster_down_on_drop(&self) -> DownOnDrop {
        self.lesson_on_drop(&["--track", "zookeeper", "reset", "8", "--yes"])
    }

    /// As `cluster_down_on_drop`, for the KRaft track's cluster (whichever track the folder is on by then: the
    /// lessons leave the other track's cluster alone).
    pub fn kraft_cluster_down_on_drop(&self) -> DownOnDrop {
        self.lesson_on_drop(&["--track", "kraft", "reset", "8", "--yes"])
    }

    /// Removes lesson 11's secure broker, its volumes and `secure/` when the test ends, through the lesson.
    pub fn secure_down_on_drop(&self) -> DownOnDrop {
        self.lesson_on_drop(&["reset", "11", "--yes"])
    }

    /// Runs `lesson ARGS --project P --dir D` when the test ends.
    fn lesson_on_drop(&self, args: &[&str]) -> DownOnDrop {
        let program = std::iter::once(env!("CARGO_BIN_EXE_lesson"))
            .chain(args.iter().copied())
            .chain(["--project", &self.config.project])
            .map(str::to_string)
            .chain(["--dir".to_string(), self.config.dir.display().to_string()])
            .collect();
        DownOnDrop { program }
    }
}

/// `docker compose` when Compose v2 is there, else `docker-compose`: the program and its first arguments.
fn compose_program() -> Vec<String> {
    let v2 = std::process::Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if v2 {
        vec!["docker".into(), "compose".into()]
    } else {
        vec!["docker-compose".into()]
    }
}

fn compose_cli() -> std::process::Command {
    let program = compose_program();
    let mut command = std::process::Command::new(&program[0]);
    command.args(&program[1..]);
    command
}

impl Learner {
    /// `docker compose ARGS` in the learner's `secure/` folder, as they type it there (the project and port
    /// come from its `.env`).
    pub fn secure_compose(&self, args: &[&str]) -> Result<std::process::Output> {
        compose_in(compose_cli().current_dir(self.config.dir.join("secure")), args)
    }

    /// `docker compose ARGS` in the learner's `cluster/` folder, as they type it there (the project comes from
    /// its `.env`), with the test's ports.
    pub fn cluster_compose(&self, args: &[&str]) -> Result<std::process::Output> {
        let mut command = compose_cli();
        command
            .current_dir(self.config.dir.join("cluster"))
            .env("KAFKA_1_PORT", self.cluster_ports[0].to_string())
            .env("KAFKA_2_PORT", self.cluster_ports[1].to_string())
            .env("KAFKA_3_PORT", self.cluster_ports[2].to_string());
        compose_in(&mut command, args)
    }
}

/// Runs the prepared compose `command` with `args`; prints what it printed.
fn compose_in(command: &mut std::process::Command, args: &[&str]) -> Result<std::process::Output> {
    let out = command.args(args).output().context("Failed to run compose")?;
    eprintln!(
        "$ compose {} -> {:?}\n{}{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out)
}

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        let _ = std::process::Command::new(&self.program[0])
            .args(&self.program[1..])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}
