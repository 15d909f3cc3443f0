//! `lesson check 7`: storage against the source (every file with the same SHA-256, every event once,
//! nothing left half-rebuilt), and Kafka's own word (the sink has read everything, what it set aside).

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Result;

use super::assembly::partials;
use super::chunk::FileMeta;
use super::dead_letter;
use super::storage::{Storage, StorageUrl};
use super::{count, megabytes, Capstone, Names, Paths};
use crate::basics::common::{compose_hint, IN_NETWORK_BOOTSTRAP};
use crate::lesson::{Context, Fact, Needs};

/// How many names a fix lists before "and N more".
const SHOWN: usize = 5;

pub async fn facts(ctx: &Context, capstone: &Capstone) -> Result<Vec<Fact>> {
    let (paths, storage) = (capstone.paths.clone(), capstone.storage.clone());
    // Hashing every source and stored file is blocking work: off the async runtime.
    let mut facts = tokio::task::spawn_blocking(move || storage_facts(&paths, &storage)).await??;
    facts.extend(kafka_facts(ctx, &capstone.names).await?);
    Ok(facts)
}

fn listed(items: &[String]) -> String {
    let mut out = items.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > SHOWN {
        out += &format!(" and {} more", items.len() - SHOWN);
    }
    out
}

pub fn storage_facts(paths: &Paths, storage: &StorageUrl) -> Result<Vec<Fact>> {
    let scan = super::source::scan(&paths.source);
    let events = super::events::read(&paths.events);
    if scan.files.is_empty()
        && scan.refused.is_empty()
        && events.events.is_empty()
        && events.refused.is_empty()
    {
        return Ok(vec![Fact::fail(
            format!("{} holds files to collect", paths.source.display()),
            "Run lesson 7 --run to make a sample set and collect it, or put your own files there",
        )]);
    }
    let store = super::storage::open(storage, false)?;
    let stored: BTreeMap<String, String> =
        store.files()?.into_iter().map(|(n, s)| (n, s.sha256)).collect();
    let mut facts = Vec::new();
    let (mut same, mut bytes, mut missing, mut different, mut unreadable) =
        (0, 0u64, vec![], vec![], vec![]);
    let mut wanted = HashSet::new();
    for (name, path) in &scan.files {
        let meta = match FileMeta::of(path, name) {
            Ok(meta) => meta,
            Err(err) => {
                unreadable.push(format!("{name}: {}", super::source::unreadable(&err)));
                continue;
            }
        };
        wanted.insert(meta.id.clone());
        match stored.get(name) {
            Some(sha) if *sha == meta.sha256 => {
                same += 1;
                bytes += meta.size;
            }
            Some(_) => different.push(name.clone()),
            None => missing.push(name.clone()),
        }
    }
    let mut cannot: Vec<String> =
        scan.refused.iter().map(|(what, why)| format!("{what}: {why}")).collect();
    cannot.extend(unreadable.iter().cloned());
    if !cannot.is_empty() {
        facts.push(Fact::fail(
            format!(
                "{} in {} cannot be collected",
                count(cannot.len() as u64, "thing", "things"),
                paths.source.display()
            ),
            cannot.join("\n"),
        ));
    }
    for (what, why) in &scan.ignored {
        facts.push(Fact::info(format!("left out: {what}, {why}")));
    }
    let total = scan.files.len() - unreadable.len();
    if !scan.files.is_empty() {
        facts.push(Fact::check(
            missing.is_empty() && total > 0,
            format!(
                "{same} of {} are in storage ({:.1} MB)",
                count(total as u64, "source file", "source files"),
                megabytes(bytes)
            ),
            format!("Not stored yet: {}. Collect them: lesson 7 --run", listed(&missing)),
        ));
        facts.push(Fact::check(
            different.is_empty(),
            "every stored file has its source's SHA-256",
            format!(
                "Stored with other content: {}. Collect them again: lesson 7 --run",
                listed(&different)
            ),
        ));
    }
    let waiting: Vec<String> = partials(&paths.scratch)?
        .into_iter()
        .filter(|p| wanted.contains(&p.meta.id))
        .map(|p| {
            format!(
                "{} ({:.1} of {:.1} MB)",
                p.meta.name,
                megabytes(p.bytes),
                megabytes(p.meta.size)
            )
        })
        .collect();
    facts.push(Fact::check(
        waiting.is_empty(),
        "no source file is half-rebuilt by the sink",
        format!(
            "Waiting for the rest of {}. Start the sink again (lesson collect sink --until-caught-up); if the \
             collector was stopped too, run it again (lesson collect ingest)",
            listed(&waiting)
        ),
    ));
    facts.extend(event_facts(paths, &events, store.as_ref())?);
    Ok(facts)
}

fn event_facts(
    paths: &Paths,
    events: &super::events::Events,
    store: &dyn Storage,
) -> Result<Vec<Fact>> {
    let mut facts = Vec::new();
    if let Some((what, why)) =
        events.refused.iter().find(|(what, _)| *what == paths.events.display().to_string())
    {
        // The whole file could not be read.
        facts.push(Fact::fail(
            format!("{what} can be read"),
            format!("It {}: make it readable (chmod u+r)", why.trim_start_matches("it ")),
        ));
        return Ok(facts);
    }
    if !events.refused.is_empty() {
        let mut lines: Vec<String> =
            events.refused.iter().take(SHOWN).map(|(what, why)| format!("{what}: {why}")).collect();
        if events.refused.len() > SHOWN {
            lines.push(format!(
                "and {} more (lesson collect ingest lists them all)",
                events.refused.len() - SHOWN
            ));
        }
        lines.push("Repair or remove those lines, then collect again: lesson 7 --run".to_string());
        facts.push(Fact::fail(
            format!(
                "{} of {} cannot be collected",
                count(events.refused.len() as u64, "line", "lines"),
                paths.events.display()
            ),
            lines.join("\n"),
        ));
    }
    let stored = store.events()?;
    let by_id: HashMap<&str, &str> =
        stored.iter().map(|e| (e.id.as_str(), e.line.as_str())).collect();
    let present =
        events.events.iter().filter(|e| by_id.get(e.id.as_str()) == Some(&e.line.as_str())).count();
    let other: Vec<String> = events
        .events
        .iter()
        .filter(|e| by_id.get(e.id.as_str()).is_some_and(|line| *line != e.line))
        .map(|e| e.id.clone())
        .collect();
    facts.push(Fact::check(
        present == events.events.len(),
        format!("{present} of {} are stored", count(events.events.len() as u64, "event", "events")),
        if other.is_empty() {
            "Collect them: lesson 7 --run".to_string()
        } else {
            format!(
                "Storage holds other content for the ids {}: one id names one event; give the new ones ids of their own",
                listed(&other)
            )
        },
    ));
    facts.push(Fact::check(
        by_id.len() == stored.len(),
        "every stored event is stored once",
        format!(
            "{} holds {} lines for {} ids: the sink writes each id once, so another program wrote there",
            store.location(),
            stored.len(),
            by_id.len()
        ),
    ));
    Ok(facts)
}

async fn kafka_facts(ctx: &Context, names: &Names) -> Result<Vec<Fact>> {
    let stack = match crate::basics::common::stack_up(ctx).await? {
        Ok(stack) => stack,
        Err(facts) => return Ok(facts),
    };
    let bootstrap = stack.bootstrap();
    // Offsets, the sink's committed offsets and the dead letters, over one inspector.
    let (topics, dead_letters) =
        (vec![names.files.clone(), names.events.clone()], names.dead_letters.clone());
    let (behind, letters) =
        crate::kafka::inspect::inspect_group(&bootstrap, Some(&names.group), move |k| {
            let mut behind = 0i64;
            for topic in topics {
                let Some(ids) = k.partition_ids(&topic)? else { continue };
                behind += k.lag(&topic, &ids)?.values().sum::<i64>();
            }
            let letters = match k.partition_ids(&dead_letters)? {
                Some(ids) => dead_letter::parse(&dead_letters, &k.read_all(&dead_letters, &ids)?),
                None => Vec::new(),
            };
            Ok((behind, letters))
        })
        .await?;
    let sink = ctx.options.command("collect sink --until-caught-up", Needs::NOTHING);
    let mut facts = vec![Fact::check(
        behind == 0,
        format!("the sink ({}) has read everything sent to Kafka", names.group),
        format!("{} for it: {sink}", count(behind as u64, "message waits", "messages wait")),
    )];
    if letters.is_empty() {
        facts.push(Fact::pass("no message was set aside as a dead letter"));
    } else {
        let read =
            ["kafka-console-consumer", "--bootstrap-server", IN_NETWORK_BOOTSTRAP, "--topic"];
        facts.push(Fact::info(format!(
            "{} set aside in {} (dead letters). Read them all: {}",
            count(letters.len() as u64, "message was", "messages were"),
            names.dead_letters,
            compose_hint(&format!(
                "exec kafka {} {} --from-beginning",
                read.join(" "),
                names.dead_letters
            ))
        )));
        // Sorted: the sink sets messages of different partitions aside in no fixed order.
        let mut reasons: Vec<String> =
            letters.iter().map(|l| format!("{}: {}", l.from, l.reason)).collect();
        reasons.sort();
        for reason in reasons.iter().take(SHOWN) {
            facts.push(Fact::info(format!("  set aside {reason}")));
        }
    }
    Ok(facts)
}
