//! The manual and the code must not drift: every include of the book exists (file, anchor, snapshot
//! lines), every chapter the summary names exists, every lesson has its chapter, every local link resolves.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chapters() -> Result<Vec<PathBuf>> {
    let dir = root().join("book/src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("Failed to read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    Ok(files)
}

/// `{{#include path}}`, `{{#include path:anchor}}`, `{{#include path:N:}}` / `path:N:M`.
fn includes(text: &str) -> Vec<String> {
    text.split("{{#include ")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}").map(|(inc, _)| inc.trim().to_string()))
        .collect()
}

fn check_include(chapter: &Path, include: &str) -> Result<()> {
    let (path, selector) = include.split_once(':').unwrap_or((include, ""));
    let file = chapter.parent().unwrap_or(Path::new(".")).join(path);
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("{}: includes {path}, which does not exist", chapter.display()))?;
    if selector.is_empty() {
        return Ok(());
    }
    if let Some(first) = selector.split(':').next().and_then(|n| n.parse::<usize>().ok()) {
        ensure!(
            first <= text.lines().count(),
            "{}: {include} starts past the end",
            chapter.display()
        );
        if path.ends_with(".snap") {
            let header: Vec<&str> = text.lines().take(first - 1).collect();
            ensure!(
                header.first() == Some(&"---") && header.last() == Some(&"---"),
                "{}: {include} must start right after the snapshot's header, which is {:?}",
                chapter.display(),
                header
            );
        }
        return Ok(());
    }
    // As mdBook reads them: `ANCHOR: name` anywhere in a line, the name ending at the first non-word character.
    let marks = |marker: &str| {
        text.lines().any(|l| {
            l.split(marker).nth(1).is_some_and(|rest| {
                rest.trim_start()
                    .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
                    .next()
                    == Some(selector)
            })
        })
    };
    if !marks("ANCHOR:") || !marks("ANCHOR_END:") {
        bail!("{}: {path} has no anchor `{selector}`", chapter.display());
    }
    Ok(())
}

#[test]
fn every_include_exists() -> Result<()> {
    let mut count = 0;
    for chapter in chapters()? {
        let text = std::fs::read_to_string(&chapter)?;
        for include in includes(&text) {
            check_include(&chapter, &include)?;
            count += 1;
        }
    }
    ensure!(
        count > 30,
        "only {count} includes found: the chapters should include code and outputs"
    );
    Ok(())
}

#[test]
fn summary_names_existing_chapters_and_every_lesson_has_one() -> Result<()> {
    let summary = std::fs::read_to_string(root().join("book/src/SUMMARY.md"))?;
    for link in summary.split("](").skip(1).filter_map(|r| r.split_once(')').map(|(l, _)| l)) {
        ensure!(
            root().join("book/src").join(link).exists(),
            "SUMMARY.md names {link}, which does not exist"
        );
    }
    for info in workshop::catalog::infos() {
        let chapter = info.chapter();
        let name = chapter.trim_start_matches("book/src/");
        ensure!(root().join(&chapter).exists(), "lesson {} has no chapter {chapter}", info.id);
        ensure!(summary.contains(&format!("]({name})")), "SUMMARY.md does not list {name}");
    }
    Ok(())
}

/// The lessons' own texts, which the chapters include: `lessons/basics/l04_topic.md`.
fn lesson_texts() -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for info in workshop::catalog::infos() {
        let name = format!("l{:02}_{}.md", info.id, info.slug.replace('-', "_"));
        let mut hits: Vec<PathBuf> = std::fs::read_dir(root().join("lessons"))?
            .filter_map(|e| e.ok().map(|e| e.path().join(&name)))
            .filter(|p| p.is_file())
            .collect();
        ensure!(
            hits.len() == 1,
            "lesson {} should have one text {name} under lessons/, found {hits:?}",
            info.id
        );
        found.append(&mut hits);
    }
    Ok(found)
}

/// mdBook's id of a heading: `{#id}` if it gives one, else its words in lower case joined by `-`.
fn heading_ids(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| {
            let title = l.trim_start_matches('#').trim();
            match title.rsplit_once("{#") {
                Some((_, id)) => id.trim_end_matches('}').to_string(),
                None => title
                    .to_lowercase()
                    .chars()
                    .filter_map(|c| match c {
                        c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c),
                        c if c.is_whitespace() => Some('-'),
                        _ => None,
                    })
                    .collect(),
            }
        })
        .collect()
}

#[test]
fn local_links_and_their_anchors_resolve() -> Result<()> {
    let src = root().join("book/src");
    let mut count = 0;
    for file in chapters()?.into_iter().chain(lesson_texts()?) {
        let text = std::fs::read_to_string(&file)?;
        for link in text.split("](").skip(1).filter_map(|r| r.split_once(')').map(|(l, _)| l)) {
            if link.starts_with("http") {
                continue;
            }
            let (target, anchor) = link.split_once('#').unwrap_or((link, ""));
            // A lesson's text is read where the chapter that includes it is: in book/src.
            let target = if target.is_empty() { file.clone() } else { src.join(target) };
            let Ok(target_text) = std::fs::read_to_string(&target) else {
                bail!("{}: link to {link}, which does not exist", file.display());
            };
            if !anchor.is_empty() {
                let mut ids = heading_ids(&target_text);
                // A chapter's headings include those of the lesson text it includes.
                for include in includes(&target_text).iter().filter(|i| i.ends_with(".md")) {
                    ids.extend(heading_ids(
                        &std::fs::read_to_string(src.join(include)).unwrap_or_default(),
                    ));
                }
                ensure!(
                    ids.iter().any(|id| id == anchor),
                    "{}: link to {link}: no heading #{anchor} there",
                    file.display()
                );
            }
            count += 1;
        }
    }
    ensure!(count > 20, "only {count} local links found");
    Ok(())
}

#[test]
fn every_chapter_includes_its_lessons_text() -> Result<()> {
    for (info, text) in workshop::catalog::infos().zip(lesson_texts()?) {
        let chapter = std::fs::read_to_string(root().join(info.chapter()))?;
        let relative = text.strip_prefix(root())?.display().to_string();
        ensure!(
            chapter.contains(&format!("{{{{#include ../../{relative}}}}}")),
            "{} does not include {relative}, the text `lesson {}` prints",
            info.chapter(),
            info.id
        );
    }
    Ok(())
}

#[test]
fn every_lesson_and_error_snapshot_is_in_the_book() -> Result<()> {
    let book: String = chapters()?.iter().filter_map(|c| std::fs::read_to_string(c).ok()).collect();
    for entry in std::fs::read_dir(root().join("tests/snapshots"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        // `lesson N` prints the lesson's text, which the chapter includes as markdown instead.
        let is_lesson = name.starts_with('l')
            && name.as_bytes().get(1).is_some_and(u8::is_ascii_digit)
            && !name.ends_with("_explain.snap")
            && !name.ends_with("_explain_pt_br.snap");
        if is_lesson || name.starts_with("error_") {
            ensure!(book.contains(&name), "tests/snapshots/{name} is shown in no chapter");
        }
    }
    Ok(())
}
