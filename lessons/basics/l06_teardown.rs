//! Lesson 6: stop and remove the stack; `down -v` removes the data too.

use anyhow::Result;

use crate::lesson::Fact;
use crate::lesson::{Context, Info, Lesson, Needs, Undo};
use crate::stack::compose::CLOUD_PROFILE;
use crate::stack::Leftovers;

use super::common::compose_hint;

/// What `lesson N` says and the chapter includes: written once, in markdown.
pub const TEXT: &str = include_str!("l06_teardown.md");

pub struct Teardown;

impl Lesson for Teardown {
    const INFO: Info = Info {
        id: 6,
        slug: "teardown",
        title: "Stop and remove everything",
        hint: "\
`docker compose down` removes the containers and the network and keeps the named volumes, so your
topics survive the next `up`. `docker compose down -v` removes the volumes too: every topic and message
is gone.",
        needs: Needs { stops_stack: true, volumes: true, ..Needs::NOTHING },
        requires: &[2],
    };

    fn explain(&self, _ctx: &Context) -> String {
        crate::ui::markdown::lesson(TEXT, &[])
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
            does: "starts the stack again (compose up -d), as lesson 2 does".into(),
            loses: None,
        })
    }

    async fn undo(&self, ctx: &Context) -> Result<String> {
        ctx.stack().await?.up().await?;
        Ok(format!("started the stack of project `{}` again", ctx.config.project))
    }

    async fn check(&self, ctx: &Context) -> Result<Vec<Fact>> {
        let stack = ctx.stack().await?;
        let left = stack.leftovers().await?;
        if left == Leftovers::default() && !stack.was_seen_running() {
            let first = if ctx.config.compose_file().exists() { 2 } else { 1 };
            return Ok(vec![Fact::fail(
                format!("a stack was started in {} and is gone now", ctx.config.dir.display()),
                format!(
                    "There is nothing to stop yet: no lesson saw a stack of project `{}` running here, and no \
                     container or volume of it exists. Start with lesson {first}: {}",
                    stack.config.project,
                    ctx.options.command(&first.to_string(), Needs::NOTHING)
                ),
            )]);
        }

        // Lesson 7's storage servers run only with their profile, and `down` leaves them without it.
        let services = stack.containers().await?;
        let cloud = services.iter().any(|c| !crate::stack::SERVICES.contains(&c.service.as_str()));
        let down = if cloud { "--profile cloud down" } else { "down" };
        let mut facts = vec![
            Fact::check(
                left.containers.is_empty(),
                format!("no container of project `{}` remains", stack.config.project),
                format!(
                    "Still there: {}. Remove them: lesson 6 --run, or {}",
                    left.containers.join(", "),
                    compose_hint(down)
                ),
            ),
            Fact::check(
                left.networks.is_empty(),
                "no network of the project remains",
                format!(
                    "Still there: {}. Remove it: lesson 6 --run, or {}",
                    left.networks.join(", "),
                    compose_hint("down")
                ),
            ),
        ];
        facts.push(if left.volumes.is_empty() {
            Fact::pass("no volume of the project remains (all data removed)")
        } else if ctx.options.volumes {
            Fact::fail(
                format!("no volume of the project remains (still: {})", left.volumes.join(", ")),
                format!(
                    "Remove them with the data in them: lesson 6 --run --volumes, or {}",
                    compose_hint("down -v")
                ),
            )
        } else {
            Fact::info(format!(
                "volumes kept, with your topics in them: {} (`down -v` removes them)",
                left.volumes.join(", ")
            ))
        });
        Ok(facts)
    }
}
