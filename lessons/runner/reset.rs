//! `lesson reset N|all`: back to before lesson N, undoing it and every lesson that builds on it; asks before it
//! deletes anything of the learner's, unless `--yes`.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Result};

use crate::catalog::LESSONS;
use crate::lesson::{AnyLesson, Context, Needs, Undo};

/// Lesson `id` and every lesson that requires it (directly or through another), the last first. A lesson that
/// stops the stack is undone only when it is the one asked for: undoing it starts the stack again.
pub fn affected(id: u8) -> Vec<&'static dyn AnyLesson> {
    let mut ids = vec![id];
    for lesson in LESSONS {
        let info = lesson.info();
        if info.requires.iter().any(|r| ids.contains(r)) && !ids.contains(&info.id) {
            ids.push(info.id);
        }
    }
    let mut lessons: Vec<&'static dyn AnyLesson> = LESSONS
        .iter()
        .copied()
        .filter(|l| {
            ids.contains(&l.info().id) && (l.info().id == id || !l.info().needs.stops_stack)
        })
        .collect();
    lessons.reverse();
    lessons
}

/// Every lesson, the last first, except those that stop the stack (undoing them starts it again).
pub fn every() -> Vec<&'static dyn AnyLesson> {
    LESSONS.iter().rev().copied().filter(|l| !l.info().needs.stops_stack).collect()
}

/// Back to before lesson `id`; with `all`, before every lesson (the cluster's too, which needs no other).
pub async fn reset(ctx: &Context, id: u8, all: bool, yes: bool) -> Result<String> {
    let lessons = if all { every() } else { affected(id) };
    let plans: Vec<(&dyn AnyLesson, Undo)> =
        lessons.into_iter().filter_map(|l| l.undo_plan(ctx).map(|plan| (l, plan))).collect();
    if plans.is_empty() {
        return Ok(t!(
            "Nothing to undo: this directory is already as it was before lesson {id}.",
            id
        ));
    }
    let losses: Vec<&str> = plans.iter().filter_map(|(_, plan)| plan.loses.as_deref()).collect();
    if !losses.is_empty() && !yes {
        let needs = Needs { topic: true, group: true, collects: true, ..Needs::NOTHING };
        let target = if all { "all".to_string() } else { id.to_string() };
        let yes = ctx.options.command(&format!("reset {target} --yes"), needs);
        confirm(id, &plans, &losses, &yes)?;
    }
    let mut out = String::new();
    for (lesson, _) in &plans {
        let did = lesson.undo(ctx).await?;
        out += &format!("✓ {}\n", t!("lesson {id}: {did}", id = lesson.info().id, did));
    }
    let needs = LESSONS.iter().find(|l| l.info().id == id).map(|l| l.info().needs);
    let again = ctx.options.command(&id.to_string(), needs.unwrap_or_default());
    out += &format!("\n{}", t!("Back to before lesson {id}. Start it again: {again}", id, again));
    Ok(out)
}

/// Asks before anything is deleted; `yes` is the same reset with `--yes`, every option the learner gave kept.
fn confirm(id: u8, plans: &[(&dyn AnyLesson, Undo)], losses: &[&str], yes: &str) -> Result<()> {
    let mut text = format!("{}\n", t!("Resetting to before lesson {id}:", id));
    for (lesson, plan) in plans {
        text +=
            &format!("  {}\n", t!("lesson {id}: {does}", id = lesson.info().id, does = plan.does));
    }
    text += &format!("{}\n", t!("This deletes:"));
    for loss in losses {
        text += &format!("  - {loss}\n");
    }
    if !std::io::stdin().is_terminal() {
        let refused = t!(
            "Nothing was changed: there is no terminal to ask you in. To go ahead, run it again with \
             --yes: {yes}",
            yes
        );
        bail!("{text}{refused}");
    }
    eprint!("{text}{} ", t!("Type yes to go ahead:"));
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    let answer = answer.trim().to_lowercase();
    if answer != "yes" && answer != t!("yes") {
        bail!(t!("Nothing was changed (you did not type yes)."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::affected;

    fn ids(id: u8) -> Vec<u8> {
        affected(id).iter().map(|l| l.info().id).collect()
    }

    #[test]
    fn a_lesson_is_undone_with_what_builds_on_it_last_first() {
        assert_eq!(ids(8), [10, 8]);
        assert_eq!(ids(7), [7]);
        assert_eq!(ids(6), [6]);
        assert_eq!(ids(5), [5]);
        assert_eq!(ids(4), [5, 4]);
        assert_eq!(ids(2), [7, 5, 4, 3, 2]);
        assert_eq!(ids(1), [7, 5, 4, 3, 2, 1]);
        assert_eq!(
            super::every().iter().map(|l| l.info().id).collect::<Vec<_>>(),
            [11, 10, 9, 8, 7, 5, 4, 3, 2, 1]
        );
    }
}
