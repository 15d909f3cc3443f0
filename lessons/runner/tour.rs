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
        let (id, title) = (info.id, crate::ui::lang::tr(info.title));
        println!("━━ {}", t!("Lesson {id} · {title}", id, title));
        let t = Instant::now();
        let general = t!("lesson {id} ({title}) to finish", id, title);
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
        let (ran, checked) = (secs(ran), secs(checked));
        println!(
            "{mark} {}\n",
            t!("lesson {id} done: run {ran}, check {checked}", id, ran, checked)
        );
    }
    println!(
        "{}",
        t!(
            "All {count} lessons done in {time}. Now do them yourself, one at a time: lesson 1",
            count = catalog::LESSONS.len(),
            time = secs(started.elapsed())
        )
    );
    Ok(true)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("   {l}")).collect::<Vec<_>>().join("\n")
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
