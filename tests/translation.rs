//! The workshop in Brazilian Portuguese is whole.
//! - The book: every message mdbook-xgettext extracts from it today has a translation in `book/po/pt-BR.po`,
//!   not fuzzy, with the same `code`, links and includes as its source. A whole code block (a program's real
//!   output) may stay untranslated: the Portuguese book then shows it as the program prints it.
//! - The program: every `t!`/`n!` message in `lessons/` and every `--help` text has one in
//!   `lessons/po/pt-BR.po`, with the same `code` and `{placeholders}`, and the catalog holds no message the
//!   program no longer has.
//!
//! A paragraph or message added or changed in English fails here until it is translated.

#[path = "translation/program.rs"]
mod program;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};
use workshop::ui::lang::po::{self, Entry};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What a translation must keep as it is: `code` spans, link targets and includes.
fn kept(text: &str) -> BTreeSet<String> {
    let mut kept = BTreeSet::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            kept.insert(format!("`{part}`"));
        }
    }
    for rest in text.split("](").skip(1) {
        if let Some((target, _)) = rest.split_once(')') {
            // A diagram may be drawn again in Portuguese: `x.pt-BR.svg` beside `x.svg`.
            let target = match target.strip_suffix(".pt-BR.svg") {
                Some(name) if root().join("book/src").join(target).is_file() => {
                    format!("{name}.svg")
                }
                _ => target.to_string(),
            };
            kept.insert(format!("({target})"));
        }
    }
    for rest in text.split("{{#").skip(1) {
        if let Some((include, _)) = rest.split_once("}}") {
            kept.insert(format!("{{{{#{include}}}}}"));
        }
    }
    kept
}

/// `cargo install mdbook-i18n-helpers --version … --locked`, as README.md pins it.
fn install_helpers() -> String {
    include_str!("../README.md")
        .lines()
        .find_map(|l| l.strip_prefix("$ ").filter(|c| c.starts_with("cargo install mdbook-i18n")))
        .and_then(|c| c.split(" && ").next())
        .unwrap_or("cargo install mdbook-i18n-helpers --locked")
        .to_string()
}

/// The messages of the book as it is now, extracted by mdbook-xgettext.
fn messages() -> Result<Vec<String>> {
    let out = root().join("target/book-messages");
    let status = Command::new("mdbook")
        .args(["build", "book", "-d"])
        .arg(&out)
        .current_dir(root())
        .env("MDBOOK_OUTPUT", r#"{"xgettext": {}}"#)
        .status()
        .with_context(|| {
            format!(
                "Failed to run mdbook. Install it (README.md says how), then: {}",
                install_helpers()
            )
        })?;
    ensure!(
        status.success(),
        "mdbook could not extract the book's messages: is mdbook-xgettext installed? {}",
        install_helpers()
    );
    let pot = std::fs::read_to_string(out.join("messages.pot"))?;
    Ok(po::parse(&pot).into_iter().map(|e| e.id).collect())
}

fn translated(translations: &HashMap<String, Entry>, id: &str) -> bool {
    translations.get(id).is_some_and(|e| !e.text.is_empty())
}

#[test]
fn every_message_of_the_book_is_translated_into_portuguese() -> Result<()> {
    let po = std::fs::read_to_string(root().join("book/po/pt-BR.po"))?;
    let translations: HashMap<String, Entry> =
        po::parse(&po).into_iter().map(|e| (e.id.clone(), e)).collect();
    let messages = messages()?;
    ensure!(messages.len() > 300, "only {} messages extracted from the book", messages.len());
    let mut problems = Vec::new();
    for id in &messages {
        let first_line = id.lines().next().unwrap_or_default();
        let output = id.starts_with("```");
        match translations.get(id) {
            None | Some(Entry { text: _, fuzzy: false, .. })
                if output && !translated(&translations, id) => {}
            None => problems.push(format!("not in pt-BR.po: {first_line}")),
            Some(e) if e.text.is_empty() => problems.push(format!("not translated: {first_line}")),
            Some(e) if e.fuzzy => problems.push(format!("fuzzy (check it): {first_line}")),
            Some(e) if kept(&e.id) != kept(&e.text) => problems.push(format!(
                "code, links or includes differ: {first_line}\n    source keeps {:?}\n    \
                 translation keeps {:?}",
                kept(&e.id),
                kept(&e.text)
            )),
            Some(_) => {}
        }
    }
    if !problems.is_empty() {
        bail!(
            "{} of {} messages of the book need work in book/po/pt-BR.po (update it first: \
             msgmerge --update book/po/pt-BR.po target/book-messages/messages.pot):\n{}",
            problems.len(),
            messages.len(),
            problems.join("\n")
        );
    }
    Ok(())
}

#[test]
fn kept_parts_are_code_links_and_includes() {
    let kept = kept("Run `lesson 1` as in [the glossary](glossary.md#topic) {{#include a.md}}");
    let expected = ["`lesson 1`", "(glossary.md#topic)", "{{#include a.md}}"];
    assert_eq!(kept, expected.iter().map(|s| s.to_string()).collect());
}

#[test]
fn every_message_of_the_program_is_translated_into_portuguese() -> Result<()> {
    let mut messages = program::messages(&root())?;
    messages.extend(workshop::runner::cli::help_texts().into_iter().map(|id| program::Message {
        id,
        names: None,
        place: "lessons/runner/cli.rs:help".into(),
    }));
    let out = root().join("target/program-messages");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("messages.pot"), program::template(&messages))?;
    let po = std::fs::read_to_string(root().join("lessons/po/pt-BR.po"))?;
    let translations: HashMap<String, Entry> =
        po::parse(&po).into_iter().map(|e| (e.id.clone(), e)).collect();
    let mut problems = Vec::new();
    for m in &messages {
        let first_line = m.id.lines().next().unwrap_or_default();
        let wanted = program::placeholders(&m.id);
        if let Some(names) = &m.names {
            let mut given = names.clone();
            given.sort();
            if given != wanted {
                problems.push(format!(
                    "{}: t!(\"{first_line}\") names {given:?}, its text has {wanted:?}",
                    m.place
                ));
            }
        }
        match translations.get(&m.id) {
            None => problems.push(format!("{}: not in pt-BR.po: {first_line}", m.place)),
            Some(e) if e.text.is_empty() => {
                problems.push(format!("{}: not translated: {first_line}", m.place))
            }
            Some(e) if e.fuzzy => problems.push(format!("{}: fuzzy (check it): {first_line}", m.place)),
            Some(e) if program::placeholders(&e.text) != wanted || kept(&e.id) != kept(&e.text) => {
                problems.push(format!(
                    "{}: placeholders or code differ: {first_line}\n    source: {wanted:?} {:?}\n    \
                     translation: {:?} {:?}",
                    m.place,
                    kept(&e.id),
                    program::placeholders(&e.text),
                    kept(&e.text)
                ))
            }
            Some(_) => {}
        }
    }
    for id in translations.keys() {
        if !messages.iter().any(|m| &m.id == id) {
            problems.push(format!(
                "in pt-BR.po but no longer in the program: {}",
                id.lines().next().unwrap_or_default()
            ));
        }
    }
    ensure!(messages.len() > 10, "only {} messages found in lessons/", messages.len());
    if !problems.is_empty() {
        bail!(
            "{} problems with the program's {} messages in lessons/po/pt-BR.po. Update it first:\n  \
             msgmerge --no-fuzzy-matching -U lessons/po/pt-BR.po target/program-messages/messages.pot \
             && msgattrib --no-obsolete -o lessons/po/pt-BR.po lessons/po/pt-BR.po\n{}",
            problems.len(),
            messages.len(),
            problems.join("\n")
        );
    }
    Ok(())
}

/// `lesson N` in Portuguese translates its text block by block from the book's catalog: every block of every
/// lesson text, segmented as the program segments it, must be a message the catalog translates (else the
/// program would print that paragraph in English while the book shows it translated).
#[test]
fn every_lesson_text_is_found_in_the_books_catalog() -> Result<()> {
    let po = std::fs::read_to_string(root().join("book/po/pt-BR.po"))?;
    let translations = po::translations(&po);
    let mut texts = Vec::new();
    // Every family's folder: `lessons/basics/l04_topic.md`, `lessons/cluster/l08_replication.md`, …
    for family in std::fs::read_dir(root().join("lessons"))? {
        let family = family?.path();
        if !family.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&family)? {
            let path = entry?.path();
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let numbered =
                name.starts_with('l') && name.as_bytes().get(1).is_some_and(u8::is_ascii_digit);
            if numbered && name.ends_with(".md") {
                texts.push(path);
            }
        }
    }
    // One text per lesson, and for some a KRaft track's twin (`l01_compose_file.kraft.md`).
    let lessons = workshop::catalog::LESSONS.len();
    let main = texts.iter().filter(|p| !p.to_string_lossy().ends_with(".kraft.md")).count();
    ensure!(main == lessons, "{main} lesson texts found for {lessons} lessons");
    let mut missing = Vec::new();
    for path in texts {
        let text = std::fs::read_to_string(&path)?;
        let messages = mdbook_i18n_helpers::extract_messages(&text)
            .map_err(|e| anyhow::anyhow!("{e:?}"))
            .with_context(|| path.display().to_string())?;
        for (line, message) in messages {
            let output = message.message.starts_with("```");
            if !output && !translations.contains_key(&message.message) {
                missing.push(format!("{}:{line}: {}", path.display(), message.message));
            }
        }
    }
    ensure!(missing.is_empty(), "not translated in book/po/pt-BR.po:\n{}", missing.join("\n"));
    Ok(())
}
