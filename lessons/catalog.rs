//! The lessons as data, read from steps.toml (compiled in).

use anyhow::{bail, Context, Result};
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct StepInfo {
    pub id: u8,
    pub slug: String,
    pub title: String,
    pub requires: Vec<u8>,
    pub hint: String,
}

impl StepInfo {
    /// `book/src/04-topic.md`, the step's chapter.
    pub fn chapter(&self) -> String {
        format!("book/src/{:02}-{}.md", self.id, self.slug)
    }
}

#[derive(Deserialize)]
struct Catalog {
    step: Vec<StepInfo>,
}

pub fn steps() -> Result<Vec<StepInfo>> {
    let catalog: Catalog = toml::from_str(include_str!("steps.toml")).context("Failed to read lessons/steps.toml")?;
    Ok(catalog.step)
}

/// A step by number (`4`) or slug (`topic`); anything else lists the steps there are.
pub fn find(name: &str) -> Result<StepInfo> {
    let steps = steps()?;
    let found = steps.iter().find(|s| s.slug == name || name.trim().parse::<u8>().is_ok_and(|id| id == s.id));
    match found {
        Some(step) => Ok(step.clone()),
        None => {
            let list: Vec<String> = steps.iter().map(|s| format!("  {}  {:<16} {}", s.id, s.slug, s.title)).collect();
            bail!("There is no lesson `{name}`. The lessons are:\n{}\n\nFor example: lesson 1", list.join("\n"))
        }
    }
}
