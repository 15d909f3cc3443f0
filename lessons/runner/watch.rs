//! `lesson watch`: the current lesson re-checked every second while the learner works elsewhere; the screen
//! changes only when a fact does, and a lesson that is done hands over to the next.

use crate::ui::lang::tr;
use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Result;

use crate::catalog::{self, LESSONS};
use crate::lesson::{all_pass, AnyLesson, Context};
use crate::runner::{list, report};

const EVERY: Duration = Duration::from_secs(1);

/// Watches from `from` (else the first lesson not done) until every lesson is done (true) or Ctrl-C (false).
pub async fn watch(
    ctx: &Context,
    from: Option<&'static dyn AnyLesson>,
    color: bool,
) -> Result<bool> {
    let tty = std::io::stdout().is_terminal();
    let mut lesson = match from {
        Some(lesson) => lesson,
        None => match first_not_done(ctx).await? {
            Some(lesson) => lesson,
            None => {
                println!("{}", t!("Every lesson is done already. Well done!"));
                return Ok(true);
            }
        },
    };
    let mut shown = String::new();
    // The screen of a lesson just done stays above the next one's first screen.
    let mut keep_screen = false;
    loop {
        let info = lesson.info();
        let (screen, done) = match lesson.check(ctx).await {
            Ok(facts) => (
                report::facts(info, &facts, catalog::next(info, ctx.config.track), color),
                all_pass(&facts),
            ),
            Err(err) => (
                format!(
                    "{}\n✗ {}\n",
                    t!("Checking lesson {id} · {title}", id = info.id, title = tr(info.title)),
                    t!("could not check: {error}", error = format!("{err:#}"))
                ),
                false,
            ),
        };
        if screen != shown {
            if tty && !keep_screen {
                print!("\x1b[2J\x1b[H");
                println!(
                    "{}\n",
                    t!(
                        "lesson watch: lesson {id} re-checked every second; Ctrl-C stops.",
                        id = info.id
                    )
                );
            }
            println!("{screen}");
            shown = screen;
            keep_screen = false;
        }
        if done {
            match catalog::next(info, ctx.config.track)
                .and_then(|next| catalog::find(&next.id.to_string()).ok())
            {
                Some(next) => {
                    lesson = next;
                    shown.clear();
                    keep_screen = true;
                    continue;
                }
                None => return Ok(true),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = tokio::signal::ctrl_c() => return Ok(false),
        }
    }
}

async fn first_not_done(ctx: &Context) -> Result<Option<&'static dyn AnyLesson>> {
    let rows = list::rows(ctx).await?;
    Ok(rows
        .iter()
        .find(|r| !r.done)
        .and_then(|r| LESSONS.iter().copied().find(|l| l.info().id == r.id)))
}
