//! How lessons print: facts as ✓/✗ lines (colored only on a terminal, never with NO_COLOR) or JSON.

use std::io::IsTerminal;

use crate::catalog::StepInfo;
use crate::facts::{all_pass, Fact, Status};

pub fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// One line per fact; a failed one is followed by its fix.
pub fn fact_lines(facts: &[Fact], color: bool) -> String {
    let mut out = String::new();
    for fact in facts {
        let mark = match fact.status {
            Status::Pass => paint("✓", "32", color),
            Status::Fail => paint("✗", "31", color),
            Status::Info => paint("ℹ", "34", color),
        };
        out += &format!("{mark} {}\n", fact.what);
        if let Some(fix) = &fact.fix {
            out += &format!("    fix: {}\n", fix.replace('\n', "\n         "));
        }
    }
    out
}

pub fn facts(step: &StepInfo, facts: &[Fact], next: Option<&StepInfo>, color: bool) -> String {
    let mut out = format!("Check {} · {}\n", step.id, step.title);
    out += &fact_lines(facts, color);
    out += "\n";
    if all_pass(facts) {
        out += &match next {
            Some(next) => format!("Step {} is done. Next: lesson {} ({})\n", step.id, next.id, next.title),
            None => format!("Step {} is done: that was the last step. Well done!\n", step.id),
        };
    } else {
        let failed = facts.iter().filter(|f| f.status == Status::Fail).count();
        out += &format!(
            "Step {} is not done yet: {failed} of {} checks failed. Stuck? lesson hint {}\n",
            step.id,
            facts.len(),
            step.id
        );
    }
    out
}

pub fn json(step: &StepInfo, facts: &[Fact]) -> String {
    let value = serde_json::json!({ "step": step.id, "slug": step.slug, "done": all_pass(facts), "facts": facts });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

pub fn explanation(step: &StepInfo, body: &str, total: usize) -> String {
    format!(
        "Lesson {} of {total} · {}\n\n{body}\n\nDO IT\n  yourself as above, or let the lesson do it:   lesson {} --run\n  \
         then check your work:                        lesson check {}\n  \
         stuck?                                       lesson hint {}\n  \
         read more:                                   {}\n",
        step.id,
        step.title,
        step.id,
        step.id,
        step.id,
        step.chapter()
    )
}
