//! `lesson tour`: every lesson end to end, run then checked, with the time each took.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::catalog::{self, LESSONS};
use crate::lesson::{all_pass, AnyLesson, Context};
use crate::runner::report;

/// Runs and checks each lesson in order, the one that stops the stack last; stops at the first that is
/// not done, and says so.
pub async fn tour(ctx: &Context, color: bool) -> Result<bool> {
    let started = Instant::now();
    let (last, mut all): (Vec<&dyn AnyLesson>, Vec<&dyn AnyLesson>) =
        LESSONS.iter().copied().partition(|l| l.info().needs.stops_stack);
    all.extend(last);
    for lesson in all {
        let info = lesson.info();
        println!("━━ Lesson {} · {}", info.id, info.title);
        let t = Instant::now();
        let general = format!("lesson {} ({}) to finish", info.id, info.title);
        let output = crate::ui::progress::reporting(&general, lesson.run(ctx)).await?;
        let ran = t.elapsed();
        println!("{}", indent(output.trim_end()));
        let t = Instant::now();
        let facts = lesson.check(ctx).await?;
        let checked = t.elapsed();
        if !all_pass(&facts) {
            print!("{}", report::facts(info, &facts, None, color));
            return Ok(false);
        }
        let mark = report::paint("✓", "32", color);
        println!("{mark} lesson {} done: run {}, check {}\n", info.id, secs(ran), secs(checked));
    }
    println!(
        "All {} lessons done in {}. Now do them yourself, one at a time: lesson 1",
        catalog::LESSONS.len(),
        secs(started.elapsed())
    );
    Ok(true)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("   {l}")).collect::<Vec<_>>().join("\n")
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
