//! A lesson's text is markdown, written once: the book includes the file, and the terminal gets it through
//! `terminal`: headings in capitals, paragraphs wrapped and indented, commands after `$ `, links as their text.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// Paragraphs wrap at this many columns, as the book's code blocks fit them.
pub const WIDTH: usize = 100;

/// Stands for a space inside `code` while paragraphs wrap: a line never breaks inside it.
const UNBROKEN: &str = "\u{1f}";

const COMPOSE_V1: &str = n!("(Compose v1: docker-compose instead of docker compose)");

enum Block {
    Heading(HeadingLevel),
    Paragraph,
    Code { shell: bool },
    Item { marker: String },
}

/// `md` for a terminal: `## Goal` becomes `GOAL`, a `sh` block's commands start with `$ `.
pub fn terminal(md: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut inline = String::new();
    let mut block: Option<Block> = None;
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut told_v1 = md.contains("`docker-compose`");
    let indent = |lists: &Vec<Option<u64>>| 2 + 2 * lists.len().saturating_sub(1);
    // `## Title {#id}`: the id names the heading for links in the book (in every language).
    for event in Parser::new_ext(md, Options::ENABLE_HEADING_ATTRIBUTES) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => block = Some(Block::Heading(level)),
            Event::Start(Tag::Paragraph) if !matches!(block, Some(Block::Item { .. })) => {
                block = Some(Block::Paragraph)
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                // A list item's text before its code block is a line of its own.
                flush_item(&mut out, &mut inline, &mut block, indent(&lists));
                let lang = match &kind {
                    CodeBlockKind::Fenced(lang) => lang.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                block = Some(Block::Code {
                    shell: matches!(lang.as_str(), "sh" | "console" | "shell"),
                });
            }
            Event::Start(Tag::List(start)) => {
                flush_item(&mut out, &mut inline, &mut block, indent(&lists));
                if lists.is_empty() {
                    blank_line_after_heading(&mut out);
                }
                lists.push(start);
            }
            Event::Start(Tag::Item) => {
                let marker = match lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{}. ", *n - 1)
                    }
                    _ => "- ".to_string(),
                };
                block = Some(Block::Item { marker });
            }
            Event::End(TagEnd::Heading(_)) => {
                let text = std::mem::take(&mut inline);
                blank_line(&mut out);
                out.push(match block.take() {
                    Some(Block::Heading(HeadingLevel::H1 | HeadingLevel::H2)) => {
                        text.to_uppercase()
                    }
                    _ => format!("  {text}"),
                });
            }
            Event::End(TagEnd::Paragraph) => {
                if matches!(block, Some(Block::Paragraph)) {
                    let text = std::mem::take(&mut inline);
                    blank_line_after_heading(&mut out);
                    out.extend(wrap(&text, indent(&lists), indent(&lists)));
                    block = None;
                } else {
                    inline.push(' ');
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                let text = std::mem::take(&mut inline);
                let shell = matches!(block.take(), Some(Block::Code { shell: true }));
                blank_line_after_heading(&mut out);
                let pad = " ".repeat(indent(&lists) + 2);
                let mut continued = false;
                for line in text.lines() {
                    let prompt =
                        if shell && !continued && !line.starts_with('#') { "$ " } else { "" };
                    out.push(format!("{pad}{prompt}{line}").trim_end().to_string());
                    continued = shell && line.ends_with('\\');
                }
                if shell && !told_v1 && text.contains("docker compose ") {
                    out.push(format!("{pad}{}", super::lang::tr(COMPOSE_V1)));
                    told_v1 = true;
                }
            }
            Event::End(TagEnd::Item) => {
                flush_item(&mut out, &mut inline, &mut block, indent(&lists))
            }
            Event::End(TagEnd::List(_)) => {
                lists.pop();
            }
            Event::Text(text) => inline.push_str(&text),
            Event::Code(code) => {
                inline.push('`');
                inline.push_str(&code.replace(' ', UNBROKEN));
                inline.push('`');
            }
            Event::SoftBreak => inline.push(' '),
            Event::HardBreak => inline.push('\n'),
            _ => {}
        }
    }
    out.join("\n").trim_matches('\n').replace(UNBROKEN, " ")
}

fn flush_item(
    out: &mut Vec<String>,
    inline: &mut String,
    block: &mut Option<Block>,
    indent: usize,
) {
    if let Some(Block::Item { marker }) = block.take() {
        let text = std::mem::take(inline);
        let lines = wrap(text.trim(), indent + marker.len(), indent + marker.len());
        for (i, line) in lines.into_iter().enumerate() {
            out.push(if i == 0 {
                format!("{}{marker}{}", " ".repeat(indent), line.trim_start())
            } else {
                line
            });
        }
    }
}

fn blank_line(out: &mut Vec<String>) {
    if out.last().is_some_and(|l| !l.is_empty()) {
        out.push(String::new());
    }
}

/// Text right under a heading follows it; every other block is set off by a blank line.
fn blank_line_after_heading(out: &mut Vec<String>) {
    let under_heading = out.last().is_some_and(|l| !l.starts_with(' ') && !l.is_empty());
    if !under_heading {
        blank_line(out);
    }
}

/// Words to lines of at most `WIDTH` columns (a longer word gets a line of its own); hard breaks kept.
fn wrap(text: &str, first: usize, rest: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for part in text.split('\n') {
        let mut line = " ".repeat(if lines.is_empty() { first } else { rest });
        let mut empty = true;
        for word in part.split_whitespace() {
            if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
                lines.push(std::mem::replace(&mut line, " ".repeat(rest)));
                empty = true;
            }
            if !empty {
                line.push(' ');
            }
            line.push_str(word);
            empty = false;
        }
        lines.push(line);
    }
    lines
}

/// What `lesson N` prints: the lesson's text in the chosen language, personalised, for the terminal.
pub fn lesson(md: &str, values: &[(String, String)]) -> String {
    terminal(&personal(&super::lang::markdown(md), values))
}

/// The text as the learner's options make it: each `(as written, as it is for them)` pair replaced.
pub fn personal(md: &str, values: &[(String, String)]) -> String {
    values
        .iter()
        .filter(|(from, to)| from != to)
        .fold(md.to_string(), |text, (from, to)| text.replace(from, to))
}

/// Every command of the text's `sh` blocks, a command broken over lines with ` \\` joined into one line.
pub fn commands(md: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut shell = false;
    for event in Parser::new(md) {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang))) => shell = &*lang == "sh",
            Event::Text(text) if shell => {
                let joined = text.replace(" \\\n", " ");
                commands.extend(
                    joined.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")),
                );
            }
            Event::End(TagEnd::CodeBlock) => shell = false,
            _ => {}
        }
    }
    commands
}

#[cfg(test)]
mod tests {
    use super::terminal;

    #[test]
    fn commands_are_joined_across_their_lines() {
        let md = "```sh\na --x \\\n    --y\nb\n```\n\n```text\nnot a command\n```\n";
        assert_eq!(super::commands(md), ["a --x --y", "b"]);
    }

    #[test]
    fn headings_paragraphs_commands_and_lists() {
        let md = "## Goal {#goal}\n\nStart *the* stack, see [the glossary](glossary.md#broker).\n\n## Type\n\n```sh\n\
                  docker compose up -d\ndocker compose exec kafka kafka-topics \\\n    --list\n```\n\n\
                  - `down` keeps the volumes\n- `down -v` removes\n  them too\n";
        assert_eq!(
            terminal(md),
            "GOAL\n  Start the stack, see the glossary.\n\nTYPE\n    $ docker compose up -d\n    \
             $ docker compose exec kafka kafka-topics \\\n        --list\n    (Compose v1: docker-compose instead of \
             docker compose)\n\n  - `down` keeps the volumes\n  - `down -v` removes them too"
        );
    }

    #[test]
    fn long_paragraphs_wrap_at_the_width() {
        let text = terminal(&"word ".repeat(60));
        assert!(text.lines().all(|l| l.chars().count() <= super::WIDTH), "{text}");
        assert_eq!(text.lines().count(), 4);
    }

    #[test]
    fn lines_never_break_inside_code() {
        let text = terminal(&format!("{} `a  b`", "word ".repeat(19)));
        assert!(text.ends_with("\n  `a  b`"), "{text}");
    }

    #[test]
    fn list_items_fit_the_width_and_keep_their_code_blocks_apart() {
        let text = terminal(&format!("- {}\n", "word ".repeat(40)));
        assert!(text.lines().all(|l| l.chars().count() <= super::WIDTH), "{text}");
        let text = terminal("1. Run:\n\n   ```sh\n   lesson 1\n   ```\n");
        assert_eq!(text, "  1. Run:\n\n    $ lesson 1");
    }

    #[test]
    fn numbered_lists_count() {
        assert_eq!(terminal("1. one\n2. two\n"), "  1. one\n  2. two");
    }
}
