//! `lesson tour`: every step end to end, run then checked, with the time each took.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::catalog;
use crate::facts::all_pass;
use crate::report;
use crate::step::Context;
use crate::steps;

/// Runs and checks each step in order; stops at the first that is not done, and says so.
pub async fn tour(ctx: &Context, color: bool) -> Result<bool> {
    let started = Instant::now();
    // Teardown comes last, after the capstone, which needs the stack running.
    let (teardown, mut all): (Vec<_>, Vec<_>) = catalog::steps()?.into_iter().partition(|s| s.slug == "teardown");
    all.extend(teardown);
    for step in &all {
        println!("━━ Step {} · {}", step.id, step.title);
        let t = Instant::now();
        let output = steps::run(step.id, ctx).await?;
        let ran = t.elapsed();
        println!("{}", indent(output.trim_end()));
        let t = Instant::now();
        let facts = steps::check(step.id, ctx).await?;
        let checked = t.elapsed();
        if !all_pass(&facts) {
            print!("{}", report::facts(step, &facts, None, color));
            return Ok(false);
        }
        let mark = report::paint("✓", "32", color);
        println!("{mark} step {} done: run {}, check {}\n", step.id, secs(ran), secs(checked));
    }
    println!(
        "All {} steps done in {}. Now do them yourself, one at a time: lesson 1",
        all.len(),
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
