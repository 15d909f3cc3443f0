//! What each command does. Ctrl-C stops any of them cleanly: a stack that was being started is taken
//! down again (its volumes, and everything in the learner's directory, are kept).

use std::process::ExitCode;

use anyhow::Result;

use crate::catalog::{self, StepInfo};
use crate::cli::{Cli, CollectAction, Command, Workspace};
use crate::compose::Compose;
use crate::config::StackConfig;
use crate::facts::all_pass;
use crate::step::{Context, StepOptions};
use crate::{doctor, list, report, steps, tour};

pub const INTERRUPTED: u8 = 130;

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let starts_stack = matches!(cli.command, Some(Command::Tour { .. })) || (cli.run && is_step(&cli.step, 2));
    let workspace = cli.workspace.clone();
    tokio::select! {
        outcome = dispatch(cli) => outcome,
        _ = tokio::signal::ctrl_c() => interrupted(&workspace, starts_stack).await,
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let ws = &cli.workspace;
    let color = report::color();
    match cli.command {
        Some(Command::Check { step, json, volumes }) => {
            let step = catalog::find(&step)?;
            let facts = steps::check(step.id, &context(ws, volumes, false)?).await?;
            if json {
                println!("{}", report::json(&step, &facts));
            } else {
                print!("{}", report::facts(&step, &facts, next_step(&step)?.as_ref(), color));
            }
            Ok(done(all_pass(&facts)))
        }
        Some(Command::Hint { step }) => {
            let step = catalog::find(&step)?;
            println!("Hint for lesson {} · {}\n{}", step.id, step.title, step.hint.trim_start());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::List { json }) => {
            let ctx = context(ws, false, false)?;
            let rows = list::rows(&ctx).await?;
            let text = if json {
                list::json(&rows, &ctx.config.project)
            } else {
                list::text(&rows, &ctx.config.project, color)
            };
            println!("{}", text.trim_end());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Doctor { json }) => {
            let ctx = context(ws, false, false)?;
            let facts = doctor::facts(&ctx.config).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&facts)?);
            } else {
                println!("{}", report::fact_lines(&facts, color).trim_end());
                let verdict = if all_pass(&facts) {
                    "Ready for the workshop: lesson 1"
                } else {
                    "Fix each ✗ above, then run lesson doctor again."
                };
                println!("\n{verdict}");
            }
            Ok(done(all_pass(&facts)))
        }
        Some(Command::Collect { action }) => collect(ws, action).await,
        Some(Command::Tour { volumes }) => Ok(done(tour::tour(&context(ws, volumes, false)?, color).await?)),
        None => match &cli.step {
            None => {
                println!("{}", overview()?);
                Ok(ExitCode::SUCCESS)
            }
            Some(step) => {
                let step = catalog::find(step)?;
                let ctx = context(ws, cli.volumes, cli.native)?;
                if cli.run {
                    println!("{}", steps::run(step.id, &ctx).await?.trim_end());
                    println!("\nNow check it: {}", check_command(&step, &ctx));
                } else {
                    let body = steps::explain(step.id, &ctx)?;
                    print!("{}", report::explanation(&step, &body, catalog::steps()?.len()));
                }
                Ok(ExitCode::SUCCESS)
            }
        },
    }
}

async fn collect(ws: &Workspace, action: CollectAction) -> Result<ExitCode> {
    let ctx = context(ws, false, false)?;
    let stack = ctx.stack().await?;
    stack.service("kafka").await?;
    let paths = crate::collect::Paths::in_dir(&ctx.config.dir);
    crate::steps::s07_collect::ensure_topics(&stack.bootstrap()).await?;
    match action {
        CollectAction::Ingest => {
            let report = crate::collect::ingest::ingest(&stack.bootstrap(), &paths.source, Some(&paths.events)).await?;
            print!("{}", report.summary());
            Ok(done(report.skipped.is_empty()))
        }
        CollectAction::Sink { until_caught_up } => {
            let storage = std::sync::Arc::new(crate::collect::storage::LocalDir::open(&paths.storage)?);
            let report = crate::collect::sink::run(&stack.bootstrap(), storage, until_caught_up).await?;
            print!("{}", report.summary());
            Ok(done(report.rejected.is_empty() && report.incomplete.is_empty()))
        }
    }
}

async fn interrupted(workspace: &Workspace, starts_stack: bool) -> Result<ExitCode> {
    eprintln!("\nInterrupted.");
    if starts_stack {
        let config = StackConfig::new(workspace.dir.as_deref(), workspace.project.as_deref())?;
        let compose = Compose::for_config(&config).await?;
        let engine = crate::engine::Engine::connect().await?;
        // A container the engine was still creating when compose was stopped can appear after a first
        // `down`; poll until none is left.
        for _ in 0..20 {
            compose.down(false).await?;
            if engine.containers(&config.project).await?.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        eprintln!("The stack that was starting is stopped and removed; its volumes and your files are kept.");
        eprintln!("Start again with: lesson 2 --run");
    } else {
        eprintln!("Nothing was changed that the step had not finished; run the command again when ready.");
    }
    Ok(ExitCode::from(INTERRUPTED))
}

fn is_step(step: &Option<String>, id: u8) -> bool {
    step.as_deref().and_then(|s| catalog::find(s).ok()).is_some_and(|s| s.id == id)
}

fn done(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn context(workspace: &Workspace, volumes: bool, native: bool) -> Result<Context> {
    let config = StackConfig::new(workspace.dir.as_deref(), workspace.project.as_deref())?;
    let options = StepOptions {
        topic: workspace.topic.clone(),
        partitions: workspace.partitions,
        replication_factor: workspace.replication_factor,
        group: workspace.group.clone(),
        volumes,
        native,
    };
    Ok(Context::new(config, options))
}

/// `lesson check N`, with the options the learner gave that the check needs to look at the same things.
fn check_command(step: &StepInfo, ctx: &Context) -> String {
    let defaults = StepOptions::default();
    let mut command = format!("lesson check {}", step.id);
    if matches!(step.id, 4 | 5) && ctx.options.topic != defaults.topic {
        command += &format!(" --topic {}", ctx.options.topic);
    }
    if step.id == 6 && ctx.options.volumes {
        command += " --volumes";
    }
    command
}

fn next_step(step: &StepInfo) -> Result<Option<StepInfo>> {
    Ok(catalog::steps()?.into_iter().find(|s| s.id == step.id + 1))
}

fn overview() -> Result<String> {
    let mut out =
        String::from("The Kafka workshop. Each lesson explains a step; --run performs it; check verifies it.\n\n");
    for s in catalog::steps()? {
        out += &format!("  lesson {}   {:<16} {}\n", s.id, s.slug, s.title);
    }
    out += "\nNew here? lesson doctor checks your machine, lesson tour shows every step end to end,\nand lesson 1 starts the workshop.";
    Ok(out)
}
