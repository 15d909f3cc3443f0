//! `lesson tour`: every lesson end to end, run then checked, with the time each took.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::catalog::{self, LESSONS};
use crate::lesson::{all_pass, AnyLesson, Context};
use crate::runner::report;

/// Runs and checks each lesson of the stack in order, the one that stops the stack last; stops at the first
/// that is not done, and says so. The cluster's lessons start three more brokers, lesson 11 a broker of its own: they
/// are named, not run.
pub async fn tour(ctx: &Context, color: bool) -> Result<bool> {
    let started = Instant::now();
    let (last, mut all): (Vec<&dyn AnyLesson>, Vec<&dyn AnyLesson>) = LESSONS
        .iter()
        .copied()
        .filter(|l| !l.info().needs.cluster && !l.info().needs.own_stack)
        .partition(|l| l.info().needs.stops_stack);
    all.extend(last);
    let count = all.len();
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
            count,
            time = secs(started.elapsed())
        )
    );
    let on_cluster: Vec<u8> = catalog::infos().filter(|i| i.needs.cluster).map(|i| i.id).collect();
    if let Some(first) = on_cluster.first() {
        let ids: Vec<String> = on_cluster.iter().map(u8::to_string).collect();
        println!(
            "{}",
            t!(
                "Lessons {ids} run on a cluster of three brokers of their own, which the tour does not start: lesson \
                 {first}",
                ids = ids.join(", "),
                first
            )
        );
    }
    for info in catalog::infos().filter(|i| i.needs.own_stack) {
        let id = info.id;
        println!(
            "{}",
            t!("Lesson {id} runs a broker of its own, which the tour does not start either: lesson {id}", id)
        );
    }
    Ok(true)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("   {l}")).collect::<Vec<_>>().join("\n")
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
