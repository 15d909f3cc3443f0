//! What each command does: explain, run, check, hint.

use std::process::ExitCode;

use anyhow::Result;

use crate::catalog::{self, StepInfo};
use crate::cli::{Cli, Command, Workspace};
use crate::config::StackConfig;
use crate::facts::all_pass;
use crate::report;
use crate::step::{Context, StepOptions};
use crate::steps;

pub async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Some(Command::Check { step, json, volumes, workspace }) => check(&step, json, volumes, &workspace).await,
        Some(Command::Hint { step }) => {
            let step = catalog::find(&step)?;
            println!("Hint for lesson {} · {}\n{}", step.id, step.title, step.hint.trim_start());
            Ok(ExitCode::SUCCESS)
        }
        None => match cli.step {
            None => {
                println!("{}", overview()?);
                Ok(ExitCode::SUCCESS)
            }
            Some(step) => {
                let step = catalog::find(&step)?;
                let ctx = context(&cli.workspace, cli.volumes, cli.native)?;
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

async fn check(step: &str, json: bool, volumes: bool, workspace: &Workspace) -> Result<ExitCode> {
    let step = catalog::find(step)?;
    let ctx = context(workspace, volumes, false)?;
    let facts = steps::check(step.id, &ctx).await?;
    if json {
        println!("{}", report::json(&step, &facts));
    } else {
        let next = next_step(&step)?;
        print!("{}", report::facts(&step, &facts, next.as_ref(), report::color()));
    }
    Ok(if all_pass(&facts) { ExitCode::SUCCESS } else { ExitCode::from(1) })
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
    out += "\nStart here: lesson 1";
    Ok(out)
}
