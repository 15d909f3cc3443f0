//! The book in Brazilian Portuguese is whole: every message mdbook-xgettext extracts from the book today has
//! a translation in `book/po/pt-BR.po`, not fuzzy, with the same `code`, links and includes as its source.
//! A paragraph added or changed in English fails here until it is translated. A whole code block (a
//! program's real output) may stay untranslated: the Portuguese book then shows it as the program prints it.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One entry of a PO file: its msgid, msgstr and whether it is marked fuzzy.
struct Entry {
    id: String,
    text: String,
    fuzzy: bool,
}

fn unquote(line: &str) -> String {
    let line = line.trim();
    let inner = line.strip_prefix('"').and_then(|l| l.strip_suffix('"')).unwrap_or(line);
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => {}
            },
            (c, false) => out.push(c),
        }
    }
    out
}

fn parse_po(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    for block in text.split("\n\n") {
        let (mut id, mut text, mut fuzzy, mut field) = (String::new(), String::new(), false, "");
        for line in block.lines() {
            if line.starts_with("#,") && line.contains("fuzzy") {
                fuzzy = true;
            } else if let Some(rest) = line.strip_prefix("msgid ") {
                (field, id) = ("id", unquote(rest));
            } else if let Some(rest) = line.strip_prefix("msgstr ") {
                (field, text) = ("str", unquote(rest));
            } else if line.starts_with('"') {
                match field {
                    "id" => id.push_str(&unquote(line)),
                    "str" => text.push_str(&unquote(line)),
                    _ => {}
                }
            }
        }
        if !id.is_empty() {
            entries.push(Entry { id, text, fuzzy });
        }
    }
    entries
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
    Ok(parse_po(&pot).into_iter().map(|e| e.id).collect())
}

fn translated(translations: &HashMap<String, Entry>, id: &str) -> bool {
    translations.get(id).is_some_and(|e| !e.text.is_empty())
}

#[test]
fn every_message_of_the_book_is_translated_into_portuguese() -> Result<()> {
    let po = std::fs::read_to_string(root().join("book/po/pt-BR.po"))?;
    let translations: HashMap<String, Entry> =
        parse_po(&po).into_iter().map(|e| (e.id.clone(), e)).collect();
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
fn po_strings_keep_their_escaped_quotes() {
    let entries = parse_po("msgid \"\\\"Failed\\\"\"\nmsgstr \"\"\n\"a\\r\\n\"\n");
    assert_eq!(entries[0].id, "\"Failed\"");
    assert_eq!(entries[0].text, "a\r\n");
}

#[test]
fn kept_parts_are_code_links_and_includes() {
    let kept = kept("Run `lesson 1` as in [the glossary](glossary.md#topic) {{#include a.md}}");
    let expected = ["`lesson 1`", "(glossary.md#topic)", "{{#include a.md}}"];
    assert_eq!(kept, expected.iter().map(|s| s.to_string()).collect());
}
