//! How lessons print: facts as ✓/✗ lines (colored only on a terminal, never with NO_COLOR) or JSON.

use std::io::IsTerminal;

use crate::lesson::{all_pass, Fact, Info, Status};
use crate::ui::lang::tr;

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
            let label = t!("fix:");
            let indent = format!("\n{}", " ".repeat(4 + label.chars().count() + 1));
            out += &format!("    {label} {}\n", fix.replace('\n', &indent));
        }
    }
    out
}

pub fn facts(lesson: &Info, facts: &[Fact], next: Option<&Info>, color: bool) -> String {
    let (id, title) = (lesson.id, tr(lesson.title));
    let mut out = format!("{}\n", t!("Checking lesson {id} · {title}", id, title));
    out += &fact_lines(facts, color);
    out += "\n";
    if all_pass(facts) {
        out += &match next {
            Some(next) => t!(
                "Lesson {id} is done. Next: lesson {next} ({title})",
                id,
                next = next.id,
                title = tr(next.title)
            ),
            None => t!("Lesson {id} is done: that was the last lesson. Well done!", id),
        };
    } else {
        let failed = facts.iter().filter(|f| f.status == Status::Fail).count();
        out += &t!(
            "Lesson {id} is not done yet: {failed} of {total} facts failed. Stuck? lesson hint {id}",
            id,
            failed,
            total = facts.len()
        );
    }
    out + "\n"
}

pub fn json(lesson: &Info, facts: &[Fact]) -> String {
    let value = serde_json::json!({ "lesson": lesson.id, "slug": lesson.slug, "done": all_pass(facts), "facts": facts });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

pub fn explanation(lesson: &Info, body: &str, total: usize) -> String {
    let (id, title) = (lesson.id, tr(lesson.title));
    let rows = [
        (t!("yourself as above, or let the lesson do it:"), format!("lesson {id} --run")),
        (t!("then check your work:"), format!("lesson check {id}")),
        (t!("stuck?"), format!("lesson hint {id}")),
        (t!("the chapter in the manual:"), format!("lesson book {id}")),
    ];
    let width = rows.iter().map(|(what, _)| what.chars().count()).max().unwrap_or(0) + 3;
    let mut out = format!(
        "{}\n\n{body}\n\n{}\n",
        t!("Lesson {id} of {total} · {title}", id, total, title),
        t!("DO IT")
    );
    for (what, command) in rows {
        out += &format!("  {what}{}{command}\n", " ".repeat(width - what.chars().count()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lesson::Needs;

    const INFO: Info = Info {
        id: 4,
        slug: "topic",
        title: "Create a topic",
        hint: "h",
        needs: Needs::NOTHING,
        requires: &[],
    };

    #[test]
    fn facts_show_their_fix_and_the_verdict() {
        let list = [Fact::pass("a"), Fact::fail("b", "do this\nthen that"), Fact::info("c")];
        let text = facts(&INFO, &list, None, false);
        assert_eq!(
            text,
            "Checking lesson 4 · Create a topic\n✓ a\n✗ b\n    fix: do this\n         then that\nℹ c\n\n\
             Lesson 4 is not done yet: 1 of 3 facts failed. Stuck? lesson hint 4\n"
        );
        assert!(
            facts_done_text().ends_with("Lesson 4 is done: that was the last lesson. Well done!\n")
        );
        assert_eq!(paint("✓", "32", true), "\u{1b}[32m✓\u{1b}[0m");
    }

    fn facts_done_text() -> String {
        facts(&INFO, &[Fact::pass("a")], None, false)
    }
}
