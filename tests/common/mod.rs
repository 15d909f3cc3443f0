//! Helpers shared by the live tests: a stack of their own, random names, one list of snapshot filters.
#![allow(dead_code)]

use std::path::PathBuf;

use anyhow::{Context, Result};
use workshop::config::{StackConfig, COMPOSE_FILE};
use workshop::stack::Stack;

/// What varies between runs, replaced before snapshots are compared. One list for every test.
pub const FILTERS: &[(&str, &str)] = &[
    (r"wks-[a-z]+-[0-9a-f]{8}", "[NAME]"),
    (r"localhost:\d{2,5}", "localhost:[PORT]"),
    (r"127\.0\.0\.1:\d{2,5}", "127.0.0.1:[PORT]"),
    (r"\b\d+\.\d+\.\d+(-[0-9a-zA-Z.]+)?(, built on \d{4}-\d\d-\d\d \d\d:\d\d UTC)?", "[VERSION]"),
    (r"\b[0-9a-f]{64}\b", "[ID]"),
    (r"\b[0-9a-f]{12}\b", "[ID]"),
];

pub fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in FILTERS {
        settings.add_filter(pattern, *replacement);
    }
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// Prints the raw text to stderr (seen with --nocapture or on failure), then snapshots it filtered.
#[macro_export]
macro_rules! snapshot {
    ($name:expr, $text:expr) => {{
        let text: String = $text;
        eprintln!("----- {} (raw) -----\n{}", $name, text);
        common::settings().bind(|| insta::assert_snapshot!($name, text));
    }};
}

/// A name no other test or run uses: `wks-<what>-<8 hex>`.
pub fn random_name(what: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    format!("wks-{what}-{:08x}", hasher.finish() as u32)
}

pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("Failed to find a free port")?;
    Ok(listener.local_addr()?.port())
}

pub fn repo_compose_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("compose").join(COMPOSE_FILE)
}

/// A learner's directory of its own (under target/) with its own project name and free host ports.
pub fn learner_config(what: &str) -> Result<StackConfig> {
    let name = random_name(what);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&name);
    std::fs::create_dir_all(&dir).with_context(|| format!("Failed to create {}", dir.display()))?;
    Ok(StackConfig { dir, project: name, kafka_port: free_port()?, zookeeper_port: free_port()? })
}

/// Removes the project's containers, network and volumes when the test ends, however it ends.
pub struct DownOnDrop {
    pub program: Vec<String>,
}

impl DownOnDrop {
    pub fn new(stack: &Stack) -> Self {
        let mut program: Vec<String> = stack.compose.cli.name().split(' ').map(str::to_string).collect();
        program.extend(["--project-name".into(), stack.config.project.clone()]);
        program.extend(["--file".into(), stack.config.compose_file().display().to_string()]);
        program.extend(["down".into(), "-v".into()]);
        DownOnDrop { program }
    }
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
