//! `lesson list`: every lesson, checked live now, and the next one to do.

use anyhow::Result;
use serde::Serialize;

use crate::catalog;
use crate::facts::all_pass;
use crate::step::Context;
use crate::steps;

#[derive(Debug, Serialize)]
pub struct Row {
    pub id: u8,
    pub slug: String,
    pub title: String,
    pub done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub async fn rows(ctx: &Context) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for step in catalog::steps()? {
        let (done, error) = match steps::check(step.id, ctx).await {
            Ok(facts) => (all_pass(&facts), None),
            Err(err) => (false, Some(err.to_string().lines().next().unwrap_or_default().to_string())),
        };
        rows.push(Row { id: step.id, slug: step.slug, title: step.title, done, error });
    }
    Ok(rows)
}

pub fn text(rows: &[Row], project: &str, color: bool) -> String {
    let mut out = format!("Lessons, checked now against project `{project}`:\n");
    for row in rows {
        let mark = match (row.done, &row.error) {
            (true, _) => crate::report::paint("✓", "32", color),
            (false, None) => crate::report::paint("✗", "31", color),
            (false, Some(_)) => crate::report::paint("?", "33", color),
        };
        out += &format!("  {mark} {}  {:<16} {}\n", row.id, row.slug, row.title);
        if let Some(error) = &row.error {
            out += &format!("        could not check: {error}\n");
        }
    }
    let done = rows.iter().filter(|r| r.done).count();
    out += &format!("\n{done} of {} steps done.", rows.len());
    match rows.iter().find(|r| !r.done) {
        Some(next) => out += &format!(" Next: lesson {} ({})\n", next.id, next.title),
        None => out += " All done!\n",
    }
    out
}

pub fn json(rows: &[Row], project: &str) -> String {
    let next = rows.iter().find(|r| !r.done).map(|r| r.id);
    let done = rows.iter().filter(|r| r.done).count();
    let value =
        serde_json::json!({ "project": project, "steps": rows, "done": done, "total": rows.len(), "next": next });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}
