//! `lesson check 7`: is every source file in storage with the same SHA-256, every event stored once?

use std::collections::BTreeMap;

use anyhow::Result;

use super::chunk::FileMeta;
use super::storage::{event_id, walk, LocalDir, Storage};
use super::{megabytes, Paths};
use crate::lesson::Fact;

pub fn facts(paths: &Paths) -> Result<Vec<Fact>> {
    let sources = walk(&paths.source).unwrap_or_default();
    if sources.is_empty() {
        return Ok(vec![Fact::fail(
            format!("{} holds files to collect", paths.source.display()),
            "Run lesson 7 --run to make a sample set and collect it, or put your own files there",
        )]);
    }
    let store = LocalDir::open(&paths.storage)?;
    let stored: BTreeMap<String, (u64, String)> = store.files()?.into_iter().map(|(n, s, h)| (n, (s, h))).collect();
    let (mut same, mut bytes, mut missing, mut different) = (0, 0u64, Vec::new(), Vec::new());
    for (name, path) in &sources {
        let meta = FileMeta::of(path, name)?;
        match stored.get(name) {
            Some((size, sha)) if *sha == meta.sha256 => {
                same += 1;
                bytes += size;
            }
            Some(_) => different.push(name.clone()),
            None => missing.push(name.clone()),
        }
    }
    let mut facts = vec![Fact::check(
        missing.is_empty(),
        format!("{same} of {} source files are in storage ({:.1} MB)", sources.len(), megabytes(bytes)),
        format!("Not stored yet: {}. Run the sink: lesson 7 --run", missing.join(", ")),
    )];
    facts.push(Fact::check(
        different.is_empty(),
        "every stored file has its source's SHA-256",
        format!("Different content: {}. Collect them again: lesson 7 --run", different.join(", ")),
    ));
    let incomplete = super::sink::incomplete(store.scratch())?;
    facts.push(Fact::check(
        incomplete.is_empty(),
        "no file is waiting for missing chunks",
        format!(
            "{}. The chunks that arrived are kept: start the sink again (lesson collect sink --until-caught-up) and it \
             reads the rest from Kafka; if the collector was stopped too, run it again (lesson collect ingest)",
            incomplete.join("; ")
        ),
    ));
    let wanted: Vec<String> =
        std::fs::read_to_string(&paths.events).map(|t| t.lines().filter_map(event_id).collect()).unwrap_or_default();
    let stored_lines = std::fs::read_to_string(paths.storage.join("events.jsonl")).unwrap_or_default();
    let stored_ids: Vec<String> = stored_lines.lines().filter_map(event_id).collect();
    let unique: std::collections::HashSet<&String> = stored_ids.iter().collect();
    let all_there = wanted.iter().all(|id| unique.contains(id));
    facts.push(Fact::check(
        all_there && unique.len() == stored_ids.len(),
        format!(
            "{} of {} events are stored, each once",
            wanted.iter().filter(|id| unique.contains(id)).count(),
            wanted.len()
        ),
        format!(
            "{} stored lines for {} distinct events. Run the sink again: lesson 7 --run",
            stored_ids.len(),
            unique.len()
        ),
    ));
    Ok(facts)
}
