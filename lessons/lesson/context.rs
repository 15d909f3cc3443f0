//! The context a lesson runs in: where the learner works, what they chose, and their stack.

use std::path::PathBuf;

use anyhow::{bail, Result};
use tokio::sync::OnceCell;

use super::Needs;
use crate::stack::config::StackConfig;
use crate::stack::track::Track;
use crate::stack::Stack;

/// What the learner chose on the command line, with the workshop's defaults.
#[derive(Clone, Debug)]
pub struct Options {
    pub topic: String,
    pub partitions: i32,
    pub replication_factor: i32,
    pub group: String,
    /// `down -v` in lesson 6: remove the volumes too.
    pub volumes: bool,
    /// Perform the lesson with the Rust client (rdkafka) instead of the Kafka tools in the container.
    pub native: bool,
    /// `--dir D --project P` as the learner gave them (empty when they gave neither), repeated in every
    /// command the program tells them to run, so that it acts on the same stack.
    pub workspace_flags: String,
    /// `--storage U --source S --events E` as the learner gave them, absolute, repeated in every command
    /// of lesson 7's the program tells them to run.
    pub collect_flags: String,
    /// Where lesson 7 stores (`--storage`): its folder when None.
    pub storage: Option<String>,
    /// The folder and the events file lesson 7 collects (`--source`, `--events`): its own when None.
    pub source: Option<PathBuf>,
    pub events: Option<PathBuf>,
}

impl Options {
    /// `lesson ARGS` with every option the learner gave that the lesson (by its `needs`) must see again.
    pub fn command(&self, args: &str, needs: Needs) -> String {
        let defaults = Options::default();
        let mut command = format!("lesson {args}");
        if needs.topic && self.topic != defaults.topic {
            command += &format!(" --topic {}", self.topic);
        }
        if needs.topic && self.partitions != defaults.partitions {
            command += &format!(" --partitions {}", self.partitions);
        }
        if needs.topic && self.replication_factor != defaults.replication_factor {
            command += &format!(" --replication-factor {}", self.replication_factor);
        }
        if needs.group && self.group != defaults.group {
            command += &format!(" --group {}", self.group);
        }
        if needs.volumes && self.volumes {
            command += " --volumes";
        }
        if needs.collects {
            command += &self.collect_flags;
        }
        command + &self.workspace_flags
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            topic: "quickstart-events".into(),
            partitions: 3,
            replication_factor: 1,
            group: "workshop-console".into(),
            volumes: false,
            native: false,
            workspace_flags: String::new(),
            collect_flags: String::new(),
            storage: None,
            source: None,
            events: None,
        }
    }
}

pub struct Context {
    pub config: StackConfig,
    pub options: Options,
    stack: OnceCell<Stack>,
}

impl Context {
    pub fn new(config: StackConfig, options: Options) -> Context {
        Context { config, options, stack: OnceCell::new() }
    }

    /// The stack handle, connected on first use (explaining a lesson needs no engine). A compose file of the
    /// other track is refused: every step would wait for services that file does not have.
    pub async fn stack(&self) -> Result<&Stack> {
        self.stack.get_or_try_init(|| self.connect()).await
    }

    /// The connection profile this command works through (`--profile`), if any: then there is no stack.
    pub fn profile(&self) -> Option<&'static crate::kafka::profile::Profile> {
        crate::kafka::profile::current()
    }

    async fn connect(&self) -> Result<Stack> {
        let text = std::fs::read_to_string(self.config.compose_file()).unwrap_or_default();
        if let Some(file) = Track::of_file(&text).filter(|t| *t != self.config.track) {
            bail!(t!(
                "Your docker-compose.yml is the {file} track's, and this folder is on the {track} track.\n\
                 Go back to it (lesson --track {file}), or move over, keeping that file and its data:\n  \
                 docker compose down\n  \
                 mv docker-compose.yml docker-compose.{file}.yml\n  \
                 lesson 1 --run",
                file = file.name(),
                track = self.config.track.name()
            ));
        }
        Stack::connect(self.config.clone()).await
    }
}
