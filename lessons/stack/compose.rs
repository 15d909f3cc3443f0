//! The real compose CLI: v2 (`docker compose`) when present, else v1 (`docker-compose`).

use std::path::{Path, PathBuf};
use std::process::Output;

use anyhow::{bail, Context, Result};
use tokio::process::Command;

use super::guidance;

/// The profile of the reference file's optional services: lesson 7's storage servers.
pub const CLOUD_PROFILE: &str = "cloud";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComposeCli {
    V2,
    V1,
}

impl ComposeCli {
    /// The command as a learner types it.
    pub fn name(self) -> &'static str {
        match self {
            ComposeCli::V2 => "docker compose",
            ComposeCli::V1 => "docker-compose",
        }
    }

    fn program_and_args(self) -> (&'static str, &'static [&'static str]) {
        match self {
            ComposeCli::V2 => ("docker", &["compose"]),
            ComposeCli::V1 => ("docker-compose", &[]),
        }
    }

    /// Finds the compose CLI on PATH, preferring v2.
    pub async fn detect() -> Result<ComposeCli> {
        for cli in [ComposeCli::V2, ComposeCli::V1] {
            let (program, args) = cli.program_and_args();
            let answered = Command::new(program)
                .args(args)
                .arg("version")
                .output()
                .await
                .is_ok_and(|out| out.status.success());
            if answered {
                return Ok(cli);
            }
        }
        bail!(crate::ui::lang::tr(guidance::NO_COMPOSE))
    }
}

/// One compose project: the learner's directory, its compose file and the project name.
#[derive(Clone, Debug)]
pub struct Compose {
    pub cli: ComposeCli,
    pub project: String,
    pub file: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Compose {
    /// The project of a learner's directory, with the compose CLI this machine has.
    pub async fn for_config(config: &super::config::StackConfig) -> Result<Compose> {
        Ok(Compose {
            cli: ComposeCli::detect().await?,
            project: config.project.clone(),
            file: config.compose_file(),
            env: config.compose_env(),
        })
    }

    /// `compose config`: the file as compose reads it, variables filled in; Err carries compose's complaint.
    pub async fn config(&self) -> Result<std::result::Result<String, String>> {
        let out = self.run(&["config"]).await?;
        if out.status.success() {
            Ok(Ok(String::from_utf8_lossy(&out.stdout).into_owned()))
        } else {
            Ok(Err(String::from_utf8_lossy(&out.stderr).trim().to_string()))
        }
    }

    pub fn dir(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new("."))
    }

    async fn run(&self, args: &[&str]) -> Result<Output> {
        let (program, base) = self.cli.program_and_args();
        Command::new(program)
            .args(base)
            .arg("--project-name")
            .arg(&self.project)
            .arg("--file")
            .arg(&self.file)
            .args(args)
            .current_dir(self.dir())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .kill_on_drop(true)
            .output()
            .await
            .with_context(|| {
                t!("Failed to run {cli} {args}", cli = self.cli.name(), args = args.join(" "))
            })
    }

    /// `compose up -d`; a port already taken is reported with the variable that moves it.
    pub async fn up(&self) -> Result<String> {
        self.up_with(&[]).await
    }

    /// `compose up -d ARGS…` (`--no-deps kafka-1`, say).
    pub async fn up_with(&self, args: &[&str]) -> Result<String> {
        let args = [&["up", "-d"], args].concat();
        let out = crate::ui::progress::while_running(
            t!("compose up -d (the first run pulls the images)"),
            self.run(&args),
        )
        .await?;
        let text = combined(&out);
        if !out.status.success() {
            if let Some(message) = self.port_in_use(&text) {
                bail!(message);
            }
            bail!(t!(
                "`{command}` failed:\n{output}",
                command = format!("{} {}", self.cli.name(), args.join(" ")),
                output = text.trim_end()
            ));
        }
        Ok(text)
    }

    /// `compose down`, with `-v` when the named volumes (and so all data) should go too. With the `cloud`
    /// profile, so lesson 7's storage servers go too when they were started (a file without it is unaffected).
    pub async fn down(&self, volumes: bool) -> Result<String> {
        let args: &[&str] = if volumes {
            &["--profile", CLOUD_PROFILE, "down", "-v"]
        } else {
            &["--profile", CLOUD_PROFILE, "down"]
        };
        let command = format!("{} {}", self.cli.name(), args.join(" "));
        let what = t!("{command} to stop and remove the containers", command);
        let out = crate::ui::progress::while_running(&what, self.run(args)).await?;
        let text = combined(&out);
        if !out.status.success() {
            bail!(t!("`{command}` failed:\n{output}", command, output = text.trim_end()));
        }
        Ok(text)
    }

    /// `compose down -v --remove-orphans`: every container of the project, those only another of its files
    /// declares too, and the volumes this file declares.
    pub async fn down_everything(&self) -> Result<()> {
        self.succeed(&["down", "-v", "--remove-orphans", "--timeout", "5"]).await
    }

    /// `compose kill SERVICE`: the container stops at once, as a crash or a pulled plug would stop it.
    pub async fn kill(&self, service: &str) -> Result<()> {
        self.succeed(&["kill", service]).await
    }

    /// `compose start SERVICE…`: containers that exist start again, with their volumes.
    pub async fn start(&self, services: &[&str]) -> Result<()> {
        self.succeed(&[&["start"], services].concat()).await
    }

    async fn succeed(&self, args: &[&str]) -> Result<()> {
        let command = format!("{} {}", self.cli.name(), args.join(" "));
        let out = crate::ui::progress::while_running(&command, self.run(args)).await?;
        if !out.status.success() {
            bail!(t!("`{command}` failed:\n{output}", command, output = combined(&out).trim_end()));
        }
        Ok(())
    }

    fn port_in_use(&self, output: &str) -> Option<String> {
        let lower = output.to_lowercase();
        if !lower.contains("address already in use") && !lower.contains("port is already allocated")
        {
            return None;
        }
        let (service, var, port) =
            [("kafka", "KAFKA_PORT", 9092u16), ("zookeeper", "ZOOKEEPER_PORT", 2181)]
                .into_iter()
                .map(|(service, var, default)| (service, var, self.port(var, default)))
                .find(|(_, _, port)| lower.contains(&format!(":{port}")))?;
        Some(super::ports::in_use_message(service, var, port))
    }

    fn port(&self, var: &str, default: u16) -> u16 {
        self.env.iter().find(|(k, _)| k == var).and_then(|(_, v)| v.parse().ok()).unwrap_or(default)
    }
}

fn combined(out: &Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}
