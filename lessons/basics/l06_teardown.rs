//! Lesson 6: stop and remove the stack; `down -v` removes the data too.

use anyhow::Result;

use crate::lesson::Fact;
use crate::lesson::{Context, Info, Lesson, Needs, Undo};
use crate::stack::compose::CLOUD_PROFILE;
use crate::stack::config::StackConfig;
use crate::stack::Leftovers;

use super::common::compose_hint;

/// What `lesson N` says and the chapter includes: written once, in markdown.
pub const TEXT: &str = include_str!("l06_teardown.md");
/// The same lesson on the KRaft track (`lesson --track kraft`).
pub const KRAFT_TEXT: &str = include_str!("l06_teardown.kraft.md");

pub struct Teardown;

impl Lesson for Teardown {
    const INFO: Info = Info {
        id: 6,
        slug: "teardown",
        title: n!("Stop and remove everything"),
        hint: n!("\
`docker compose down` removes the containers and the network and keeps the named volumes, so your
topics survive the next `up`. `docker compose down -v` removes the volumes too: every topic and message
is gone."),
        needs: Needs { stops_stack: true, volumes: true, ..Needs::NOTHING },
        requires: &[2],
    };

    fn explain(&self, ctx: &Context) -> String {
        crate::ui::markdown::lesson(ctx.config.track.text(TEXT, KRAFT_TEXT), &[])
    }

    async fn run(&self, ctx: &Context) -> Result<String> {
        let stack = ctx.stack().await?;
        let flag = if ctx.options.volumes { " -v" } else { "" };
        let output = stack.down(ctx.options.volumes).await?;
        Ok(format!(
            "$ {} --profile {CLOUD_PROFILE} down{flag}\n{}",
            stack.compose.cli.name(),
            output.trim_end()
        ))
    }

    fn undo_plan(&self, ctx: &Context) -> Option<Undo> {
        ctx.config.compose_file().exists().then(|| Undo {
            does: t!("starts the stack again (compose up -d), as lesson 2 does").into(),
            loses: None,
        })
    }

    async fn undo(&self, ctx: &Context) -> Result<String> {
        ctx.stack().await?.up().await?;
        Ok(t!("started the stack of project `{project}` again", project = ctx.config.project))
    }

    async fn check(&self, ctx: &Context) -> Result<Vec<Fact>> {
        let stack = ctx.stack().await?;
        let left = stack.leftovers().await?;
        if left == Leftovers::default() && !stack.was_seen_running() {
            let first = if ctx.config.compose_file().exists() { 2 } else { 1 };
            return Ok(vec![Fact::fail(
                t!("a stack was started in {dir} and is gone now", dir = ctx.config.dir.display()),
                t!(
                    "There is nothing to stop yet: no lesson saw a stack of project `{project}` running here, and no \
                     container or volume of it exists. Start with lesson {first}: {command}",
                    project = stack.config.project,
                    first,
                    command = ctx.options.command(&first.to_string(), Needs::NOTHING)
                ),
            )]);
        }

        // Lesson 7's storage servers run only with their profile, and `down` leaves them without it.
        let services = stack.containers().await?;
        let core = stack.services_of_track();
        let cloud = services.iter().any(|c| !core.contains(&c.service.as_str()));
        let down = if cloud { "--profile cloud down" } else { "down" };
        let mut facts = vec![
            Fact::check(
                left.containers.is_empty(),
                t!("no container of project `{project}` remains", project = stack.config.project),
                t!(
                    "Still there: {containers}. Remove them: lesson 6 --run, or {command}",
                    containers = left.containers.join(", "),
                    command = compose_hint(down)
                ),
            ),
            Fact::check(
                left.networks.is_empty(),
                t!("no network of the project remains"),
                t!(
                    "Still there: {networks}. Remove it: lesson 6 --run, or {command}",
                    networks = left.networks.join(", "),
                    command = compose_hint("down")
                ),
            ),
        ];
        // Volumes the folder's compose file does not name (the other track's, kept on purpose when the learner
        // switched) are not this lesson's to remove.
        let (volumes, others) = of_this_file(&ctx.config, left.volumes);
        if !others.is_empty() {
            facts.push(Fact::info(t!(
                "volumes of another compose file kept, with the data in them: {volumes} (this lesson leaves them)",
                volumes = others.join(", ")
            )));
        }
        let left = Leftovers { volumes, ..left };
        facts.push(if left.volumes.is_empty() {
            Fact::pass(t!("no volume of the project remains (all data removed)"))
        } else if ctx.options.volumes {
            Fact::fail(
                t!(
                    "no volume of the project remains (still: {volumes})",
                    volumes = left.volumes.join(", ")
                ),
                t!(
                    "Remove them with the data in them: lesson 6 --run --volumes, or {command}",
                    command = compose_hint("down -v")
                ),
            )
        } else {
            Fact::info(t!(
                "volumes kept, with your topics in them: {volumes} (`down -v` removes them)",
                volumes = left.volumes.join(", ")
            ))
        });
        Ok(facts)
    }
}
/// `volumes` split into those the folder's compose file declares (`<project>_<name>`) and the others; all of
/// them are the file's when it cannot be read.
fn of_this_file(config: &StackConfig, volumes: Vec<String>) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(config.compose_file()).unwrap_or_default();
    let Ok(yaml) = serde_norway::from_str::<serde_norway::Value>(&text) else {
        return (volumes, Vec::new());
    };
    let Some(declared) = yaml.get("volumes").and_then(|v| v.as_mapping()) else {
        return (volumes, Vec::new());
    };
    let names: Vec<String> = declared
        .keys()
        .filter_map(|k| k.as_str())
        .map(|k| format!("{}_{k}", config.project))
        .collect();
    volumes.into_iter().partition(|v| names.contains(v))
}
