//! The command line. The doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::ui::lang::{self, Lang};

/// A hands-on Kafka workshop: each lesson explains one thing to do, can do it for you, and checks it against your
/// own running Kafka.
///
/// Start with `lesson 1`. Each lesson names the next.
#[derive(Debug, Parser)]
#[command(name = "lesson", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The lesson to explain: its number (4) or its name (topic).
    pub lesson: Option<String>,

    /// Do what the lesson explains instead of only explaining it.
    #[arg(long)]
    pub run: bool,

    /// With --run: use the Rust client (rdkafka) where the lesson would use the Kafka tools in the container.
    #[arg(long)]
    pub native: bool,

    /// With lesson 6: also remove the volumes (`down -v`), and with them every topic and message.
    #[arg(long)]
    pub volumes: bool,

    #[command(flatten)]
    pub workspace: Workspace,

    /// The language the program speaks: en or pt-BR [default: WORKSHOP_LANG, else the locale (LANGUAGE,
    /// LC_ALL, LC_MESSAGES, LANG), else en]
    #[arg(long, global = true, value_name = "LANG")]
    pub lang: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a lesson against your running stack: one line per fact, and the fix for each that fails.
    Check {
        /// The lesson to check: its number or its name.
        lesson: String,
        /// Print the facts as JSON.
        #[arg(long)]
        json: bool,
        /// With lesson 6: expect the volumes to be gone too (after `down -v`).
        #[arg(long)]
        volumes: bool,
    },
    /// Every lesson, checked live now, and the next one to do.
    List {
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Is this machine ready? Engine, Compose, free ports, memory, images; each problem with its fix.
    Doctor {
        /// Print the facts as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Lesson 7's two halves, to run (and kill) on their own.
    Collect {
        #[command(subcommand)]
        action: CollectAction,
    },
    /// The cluster lessons' own commands: lesson 8's producer and broker killer, lesson 9's reader, lesson 10's
    /// preparation.
    Cluster {
        #[command(subcommand)]
        action: ClusterAction,
    },
    /// Every lesson end to end: each one run, then checked, with the time it took.
    Tour {
        /// End with `down -v`, removing the data too.
        #[arg(long)]
        volumes: bool,
    },
    /// Watch your progress: re-checks the lesson every second while you work in another terminal, shows what
    /// changed, and moves on to the next lesson when one is done. Ctrl-C stops it.
    Watch {
        /// The lesson to start with [default: the first one not done yet].
        lesson: Option<String>,
    },
    /// Back to before a lesson: undoes it and every lesson that builds on it (topic, group offsets, stack,
    /// volumes, stored files, as each requires). Asks before deleting anything, unless --yes.
    Reset {
        /// The lesson to go back to before: its number or name, or `all`.
        lesson: String,
        /// Go ahead without asking, even where data is deleted.
        #[arg(long)]
        yes: bool,
    },
    /// Where the manual's chapter of a lesson is (the built page), or how to build the manual.
    Book {
        /// The lesson: its number or its name [default: the manual's first page].
        lesson: Option<String>,
    },
    /// A hint for a lesson.
    Hint {
        /// The lesson: its number or its name.
        lesson: String,
    },
}

/// Where the learner works and what their lessons use; every flag has the workshop's default.
#[derive(Debug, Args, Clone)]
pub struct Workspace {
    /// Your working directory, holding your docker-compose.yml [default: the current directory]
    #[arg(long, global = true)]
    pub dir: Option<PathBuf>,

    /// The compose project name [default: the directory's name, as compose derives it]
    #[arg(long, global = true)]
    pub project: Option<String>,

    /// The lessons on Kafka 3.9 with ZooKeeper, or on Kafka 4 without it (KRaft); your directory remembers
    /// the choice [default: what it remembers, else zookeeper]
    #[arg(long, global = true, value_name = "TRACK")]
    pub track: Option<crate::stack::track::Track>,

    /// A connection profile of profiles.yml in your directory: lessons 4, 5, 7 and 9 work on its Kafka (a
    /// managed one too) instead of your stack
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// The topic of lessons 4 and 5.
    #[arg(long, global = true, default_value = "quickstart-events")]
    pub topic: String,

    /// Partitions of the topic (lesson 4).
    #[arg(long, global = true, default_value_t = 3)]
    pub partitions: i32,

    /// Replication factor of the topic (lesson 4).
    #[arg(long, global = true, default_value_t = 1)]
    pub replication_factor: i32,

    /// The consumer group of lesson 5.
    #[arg(long, global = true, default_value = "workshop-console")]
    pub group: String,

    /// Where lesson 7 stores: a folder, s3://BUCKET/PREFIX or az://CONTAINER/PREFIX [default: collect/storage]
    #[arg(long, global = true, value_name = "URL")]
    pub storage: Option<String>,

    /// The folder lesson 7 collects: any folder of yours, a relative path from the current directory
    /// [default: collect/source]
    #[arg(long, global = true, value_name = "DIR")]
    pub source: Option<PathBuf>,

    /// The events lesson 7 collects: a JSON Lines file, one JSON object with an "id" per line, a relative
    /// path from the current directory [default: collect/events.jsonl]
    #[arg(long, global = true, value_name = "FILE")]
    pub events: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CollectAction {
    /// Send every file of collect/source and every event of collect/events.jsonl to Kafka.
    Ingest {
        /// Keep running, and send each file and event as it appears (DIR: the folder to watch, as --source).
        #[arg(long, value_name = "DIR", num_args = 0..=1)]
        watch: Option<Option<PathBuf>>,
    },
    /// Store what arrives into collect/storage; runs until Ctrl-C.
    Sink {
        /// Stop once every partition is read to its end.
        #[arg(long)]
        until_caught_up: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClusterAction {
    /// Produce ten records a second to replicated-events with acks=all, each acknowledged one written into
    /// cluster/acknowledged.jsonl, until Ctrl-C.
    Produce,
    /// Kill a broker as a crash would (docker compose kill), then wait until the partitions it led have
    /// new leaders.
    Kill {
        /// The broker: 1, 2 or 3, or its service, kafka-2 [default: the leader of partition 0 of
        /// replicated-events].
        broker: Option<String>,
    },
    /// Lesson 10's first step: write the migration's step files into cluster/, ZooKeeper's cluster id into
    /// cluster/.env, and what the cluster holds now into cluster/migration-baseline.json.
    Prepare,
    /// Read group-events as a member of group workshop-readers until Ctrl-C, saying which partitions the
    /// group gives it; start several to watch them share.
    Consume {
        /// The reader's name in the group (its client id) [default: reader-<process id>].
        name: Option<String>,
        /// Records handled a second, as if each took work: lag shows while the readers catch up.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        rate: u32,
    },
}

impl Cli {
    /// A lesson's own flags (`4`, `--run`, `--native`, `--volumes`) and a command (`check 4`) do not mix; the
    /// workspace flags go anywhere (`lesson --lang pt-BR check 4`).
    pub fn refuse_mixed(&self) -> anyhow::Result<()> {
        let lesson_flags = self.lesson.is_some() || self.run || self.native || self.volumes;
        if self.command.is_some() && lesson_flags {
            anyhow::bail!(t!(
                "A lesson (lesson 4, lesson 4 --run) and a command (lesson check 4) do not go together: run one \
                 of them. The options of a command come after it: lesson check 6 --volumes."
            ));
        }
        Ok(())
    }
}

/// The command line with its help in the chosen language, clap's headings and `[default: …]` included (its
/// parse errors and the `help` subcommand's line stay as clap prints them).
pub fn command() -> clap::Command {
    match lang::current() {
        Lang::En => Cli::command(),
        Lang::PtBr => translated(Cli::command()),
    }
}

fn translated(mut command: clap::Command) -> clap::Command {
    let template = format!(
        "{{before-help}}{{about-with-newline}}\n{} {{usage}}\n\n{{all-args}}{{after-help}}",
        t!("Usage:")
    );
    command = command
        .help_template(template)
        .subcommand_help_heading(t!("Commands"))
        .disable_help_flag(true)
        .arg(
            clap::Arg::new("help")
                .short('h')
                .long("help")
                .action(clap::ArgAction::Help)
                .help(t!("Print help")),
        );
    if command.get_version().is_some() {
        command = command.disable_version_flag(true).arg(
            clap::Arg::new("version")
                .short('V')
                .long("version")
                .action(clap::ArgAction::Version)
                .help(t!("Print version")),
        );
    }
    if let Some(about) = command.get_about().map(|a| lang::tr(&a.to_string()).to_string()) {
        command = command.about(about);
    }
    if let Some(long) = command.get_long_about().map(|a| lang::tr(&a.to_string()).to_string()) {
        command = command.long_about(long);
    }
    let args: Vec<String> = command.get_arguments().map(|a| a.get_id().to_string()).collect();
    for id in args {
        command = command.mut_arg(id, |mut arg| {
            if let Some(mut help) = arg.get_help().map(|h| lang::tr(&h.to_string()).to_string()) {
                // clap would add its own `[default: …]` in English.
                let defaults: Vec<String> = arg
                    .get_default_values()
                    .iter()
                    .map(|v| v.to_string_lossy().into_owned())
                    .collect();
                if !defaults.is_empty() && !arg.is_hide_default_value_set() {
                    help = t!("{help} [default: {value}]", help, value = defaults.join(", "));
                    arg = arg.hide_default_value(true);
                }
                arg = arg.help(help);
            }
            let heading = if arg.is_positional() { t!("Arguments") } else { t!("Options") };
            arg = arg.help_heading(heading);
            if let Some(long) = arg.get_long_help().map(|h| lang::tr(&h.to_string()).to_string()) {
                arg = arg.long_help(long);
            }
            arg
        });
    }
    let subcommands: Vec<String> =
        command.get_subcommands().map(|s| s.get_name().to_string()).collect();
    for name in subcommands {
        command = command.mut_subcommand(name, translated);
    }
    command
}

/// Every help text of the command line, in English: messages to translate like the program's others.
pub fn help_texts() -> Vec<String> {
    fn collect(command: &clap::Command, texts: &mut Vec<String>) {
        texts.extend(command.get_about().map(|a| a.to_string()));
        texts.extend(command.get_long_about().map(|a| a.to_string()));
        for arg in command.get_arguments() {
            texts.extend(arg.get_help().map(|h| h.to_string()));
            texts.extend(arg.get_long_help().map(|h| h.to_string()));
        }
        for sub in command.get_subcommands() {
            collect(sub, texts);
        }
    }
    let mut texts = Vec::new();
    collect(&Cli::command(), &mut texts);
    texts
}
