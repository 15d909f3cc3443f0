//! `lesson list`: every lesson, checked live now (all at once), and the next one to do.

use crate::ui::lang::tr;
use anyhow::Result;
use futures_util::future::join_all;
use serde::Serialize;

use crate::catalog::LESSONS;
use crate::lesson::{all_pass, Context};
use crate::runner::report::paint;
use crate::stack::track::Track;

#[derive(Debug, Serialize)]
pub struct Row {
    pub id: u8,
    pub slug: &'static str,
    pub title: &'static str,
    pub done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub async fn rows(ctx: &Context) -> Result<Vec<Row>> {
    let on_track = LESSONS.iter().filter(|lesson| lesson.on_track(ctx.config.track));
    let checks = on_track.map(|lesson| async move {
        let info = lesson.info();
        let (done, error) = match lesson.check(ctx).await {
            Ok(facts) => (all_pass(&facts), None),
            Err(err) => {
                (false, Some(err.to_string().lines().next().unwrap_or_default().to_string()))
            }
        };
        Row { id: info.id, slug: info.slug, title: info.title, done, error }
    });
    Ok(join_all(checks).await)
}

pub fn text(rows: &[Row], project: &str, track: Track, color: bool) -> String {
    let track = track.title();
    let mut out = format!(
        "{}\n",
        t!(
            "Lessons of the {track} track, checked now against project `{project}`:",
            track,
            project
        )
    );
    for row in rows {
        let mark = match (row.done, &row.error) {
            (true, _) => paint("✓", "32", color),
            (false, None) => paint("✗", "31", color),
            (false, Some(_)) => paint("?", "33", color),
        };
        out += &format!("  {mark} {:>2}  {:<16} {}\n", row.id, row.slug, tr(row.title));
        if let Some(error) = &row.error {
            out += &format!("        {}\n", t!("could not check: {error}", error));
        }
    }
    let done = rows.iter().filter(|r| r.done).count();
    out += &format!("\n{}", t!("{done} of {total} lessons done.", done, total = rows.len()));
    match rows.iter().find(|r| !r.done) {
        Some(next) => {
            let next = t!("Next: lesson {id} ({title})", id = next.id, title = tr(next.title));
            out += &format!(" {next}");
        }
        None => out += &format!(" {}", t!("All done!")),
    }
    out + "\n"
}

pub fn json(rows: &[Row], project: &str, track: Track) -> String {
    let next = rows.iter().find(|r| !r.done).map(|r| r.id);
    let done = rows.iter().filter(|r| r.done).count();
    let value = serde_json::json!({ "project": project, "track": track.name(), "lessons": rows, "done": done, "total": rows.len(), "next": next });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u8, done: bool, error: Option<&str>) -> Row {
        Row { id, slug: "s", title: "T", done, error: error.map(str::to_string) }
    }

    #[test]
    fn names_the_first_lesson_not_done() {
        let rows = [row(1, true, None), row(2, false, Some("no engine")), row(3, false, None)];
        let text = text(&rows, "p", Track::ZooKeeper, false);
        assert!(text.starts_with("Lessons of the ZooKeeper track, checked now"), "{text}");
        assert!(text.contains("  ✓  1  s"), "{text}");
        assert!(
            text.contains("  ?  2  s") && text.contains("could not check: no engine"),
            "{text}"
        );
        assert!(text.ends_with("1 of 3 lessons done. Next: lesson 2 (T)\n"), "{text}");
        let json: serde_json::Value =
            serde_json::from_str(&json(&rows, "p", Track::KRaft)).unwrap_or_default();
        assert_eq!((json["next"].as_u64(), json["done"].as_u64()), (Some(2), Some(1)));
        assert_eq!(json["track"], "kraft");
    }

    #[test]
    fn all_done() {
        assert!(text(&[row(1, true, None)], "p", Track::ZooKeeper, false).ends_with("All done!\n"));
    }
}
