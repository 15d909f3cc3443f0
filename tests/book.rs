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
        ensure!(first <= text.lines().count(), "{}: {include} starts past the end", chapter.display());
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
                rest.trim_start().split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')).next()
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
    ensure!(count > 30, "only {count} includes found: the chapters should include code and outputs");
    Ok(())
}

#[test]
fn summary_names_existing_chapters_and_every_lesson_has_one() -> Result<()> {
    let summary = std::fs::read_to_string(root().join("book/src/SUMMARY.md"))?;
    for link in summary.split("](").skip(1).filter_map(|r| r.split_once(')').map(|(l, _)| l)) {
        ensure!(root().join("book/src").join(link).exists(), "SUMMARY.md names {link}, which does not exist");
    }
    for info in workshop::catalog::infos() {
        let chapter = info.chapter();
        let name = chapter.trim_start_matches("book/src/");
        ensure!(root().join(&chapter).exists(), "lesson {} has no chapter {chapter}", info.id);
        ensure!(summary.contains(&format!("]({name})")), "SUMMARY.md does not list {name}");
    }
    Ok(())
}

#[test]
fn local_links_resolve() -> Result<()> {
    for chapter in chapters()? {
        let text = std::fs::read_to_string(&chapter)?;
        for link in text.split("](").skip(1).filter_map(|r| r.split_once(')').map(|(l, _)| l)) {
            if link.starts_with("http") {
                continue;
            }
            let file = link.split('#').next().unwrap_or_default();
            if !file.is_empty() {
                let target = chapter.parent().unwrap_or(Path::new(".")).join(file);
                ensure!(target.exists(), "{}: link to {link}, which does not exist", chapter.display());
            }
        }
    }
    Ok(())
}

#[test]
fn every_lesson_and_error_snapshot_is_in_the_book() -> Result<()> {
    let book: String = chapters()?.iter().filter_map(|c| std::fs::read_to_string(c).ok()).collect();
    for entry in std::fs::read_dir(root().join("tests/snapshots"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let is_lesson = name.starts_with('l') && name.as_bytes().get(1).is_some_and(u8::is_ascii_digit);
        if is_lesson || name.starts_with("error_") {
            ensure!(book.contains(&name), "tests/snapshots/{name} is shown in no chapter");
        }
    }
    Ok(())
}
