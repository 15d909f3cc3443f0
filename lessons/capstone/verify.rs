//! `lesson check 7`: storage against the source (every file with the same SHA-256, every event once,
//! nothing left half-rebuilt), and Kafka's own word (the sink has read everything, what it set aside).

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Result;

use super::assembly::partials;
use super::chunk::FileMeta;
use super::dead_letter;
use super::storage::Storage;
use super::{megabytes, Capstone};
use crate::basics::common::{compose_hint, IN_NETWORK_BOOTSTRAP};
use crate::lesson::{Context, Fact};
use crate::stack::track::Track;
use crate::ui::text::fill;

/// How many names a fix lists before "and N more".
const SHOWN: usize = 5;

pub async fn facts(ctx: &Context, capstone: &Capstone) -> Result<Vec<Fact>> {
    let owned = capstone.clone();
    // Hashing every source and stored file is blocking work: off the async runtime.
    let mut facts = tokio::task::spawn_blocking(move || storage_facts(&owned)).await??;
    facts.extend(kafka_facts(ctx, capstone).await?);
    Ok(facts)
}

fn listed(items: &[String]) -> String {
    let out = items.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > SHOWN {
        return t!("{list} and {n} more", list = out, n = items.len() - SHOWN);
    }
    out
}

pub fn storage_facts(capstone: &Capstone) -> Result<Vec<Fact>> {
    let (paths, storage) = (&capstone.paths, &capstone.storage);
    let collect = capstone.command("7 --run");
    let scan = super::source::scan(&paths.source);
    let events = super::events::read(&paths.events);
    if scan.files.is_empty()
        && scan.refused.is_empty()
        && events.events.is_empty()
        && events.refused.is_empty()
    {
        return Ok(vec![Fact::fail(
            t!("{folder} holds files to collect", folder = paths.source.display()),
            capstone.when_empty(),
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
        let what = if cannot.len() == 1 {
            n!("{n} thing in {folder} cannot be collected")
        } else {
            n!("{n} things in {folder} cannot be collected")
        };
        facts.push(Fact::fail(
            fill(what, &[("n", &cannot.len()), ("folder", &paths.source.display())]),
            cannot.join("\n"),
        ));
    }
    for (what, why) in &scan.ignored {
        facts.push(Fact::info(t!("left out: {what}, {why}", what, why)));
    }
    let total = scan.files.len() - unreadable.len();
    if !scan.files.is_empty() {
        let what = if total == 1 {
            n!("{same} of {n} source file are in storage ({mb} MB)")
        } else {
            n!("{same} of {n} source files are in storage ({mb} MB)")
        };
        facts.push(Fact::check(
            missing.is_empty() && total > 0,
            fill(
                what,
                &[("same", &same), ("n", &total), ("mb", &format!("{:.1}", megabytes(bytes)))],
            ),
            t!(
                "Not stored yet: {names}. Collect them: {collect}",
                names = listed(&missing),
                collect
            ),
        ));
        facts.push(Fact::check(
            different.is_empty(),
            t!("every stored file has its source's SHA-256"),
            t!(
                "Stored with other content: {names}. Collect them again: {collect}",
                names = listed(&different),
                collect
            ),
        ));
    }
    let waiting: Vec<String> = partials(&paths.scratch)?
        .into_iter()
        .filter(|p| wanted.contains(&p.meta.id))
        .map(|p| {
            t!(
                "{name} ({arrived} of {size} MB)",
                name = p.meta.name,
                arrived = format!("{:.1}", megabytes(p.bytes)),
                size = format!("{:.1}", megabytes(p.meta.size))
            )
        })
        .collect();
    facts.push(Fact::check(
        waiting.is_empty(),
        t!("no source file is half-rebuilt by the sink"),
        t!(
            "Waiting for the rest of {names}. Start the sink again ({sink}); if the collector was stopped too, run \
             it again ({ingest})",
            names = listed(&waiting),
            sink = capstone.command("collect sink --until-caught-up"),
            ingest = capstone.command("collect ingest")
        ),
    ));
    facts.extend(event_facts(capstone, &events, store.as_ref())?);
    Ok(facts)
}

fn event_facts(
    capstone: &Capstone,
    events: &super::events::Events,
    store: &dyn Storage,
) -> Result<Vec<Fact>> {
    let (paths, collect) = (&capstone.paths, capstone.command("7 --run"));
    let mut facts = Vec::new();
    if let Some((what, why)) =
        events.refused.iter().find(|(what, _)| *what == paths.events.display().to_string())
    {
        // The whole file could not be read.
        // `why` is events::read's "it cannot be read (…)": its English "it " is said here as "It ".
        facts.push(Fact::fail(
            t!("{what} can be read", what),
            t!("It {why}: make it readable (chmod u+r)", why = why.trim_start_matches("it ")),
        ));
        return Ok(facts);
    }
    if !events.refused.is_empty() {
        let mut lines: Vec<String> =
            events.refused.iter().take(SHOWN).map(|(what, why)| format!("{what}: {why}")).collect();
        if events.refused.len() > SHOWN {
            lines.push(t!(
                "and {n} more ({ingest} lists them all)",
                n = events.refused.len() - SHOWN,
                ingest = capstone.command("collect ingest")
            ));
        }
        lines.push(t!("Repair or remove those lines, then collect again: {collect}", collect));
        let what = if events.refused.len() == 1 {
            n!("{n} line of {file} cannot be collected")
        } else {
            n!("{n} lines of {file} cannot be collected")
        };
        facts.push(Fact::fail(
            fill(what, &[("n", &events.refused.len()), ("file", &paths.events.display())]),
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
    let what = if events.events.len() == 1 {
        n!("{present} of {n} event are stored")
    } else {
        n!("{present} of {n} events are stored")
    };
    facts.push(Fact::check(
        present == events.events.len(),
        fill(what, &[("present", &present), ("n", &events.events.len())]),
        if other.is_empty() {
            t!("Collect them: {collect}", collect)
        } else {
            t!(
                "Storage holds other content for the ids {ids}: one id names one event; give the new ones ids of \
                 their own",
                ids = listed(&other)
            )
        },
    ));
    facts.push(Fact::check(
        by_id.len() == stored.len(),
        t!("every stored event is stored once"),
        t!(
            "{store} holds {lines} lines for {ids} ids: the sink writes each id once, so another program wrote there",
            store = store.location(),
            lines = stored.len(),
            ids = by_id.len()
        ),
    ));
    Ok(facts)
}

/// The command that reads every message of `topic` with the console consumer of the track's image.
fn read_all(track: Track, topic: &str) -> String {
    let consumer = track.tool("kafka-console-consumer");
    compose_hint(&format!(
        "exec kafka {consumer} --bootstrap-server {IN_NETWORK_BOOTSTRAP} --topic {topic} --from-beginning"
    ))
}

async fn kafka_facts(ctx: &Context, capstone: &Capstone) -> Result<Vec<Fact>> {
    let names = &capstone.names;
    let bootstrap = match crate::basics::common::kafka_up(ctx).await? {
        Ok(bootstrap) => bootstrap,
        Err(facts) => return Ok(facts),
    };
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
    let sink = capstone.command("collect sink --until-caught-up");
    let waits = if behind == 1 {
        n!("{n} message waits for it: {sink}")
    } else {
        n!("{n} messages wait for it: {sink}")
    };
    let mut facts = vec![Fact::check(
        behind == 0,
        t!("the sink ({group}) has read everything sent to Kafka", group = names.group),
        fill(waits, &[("n", &(behind as u64)), ("sink", &sink)]),
    )];
    if letters.is_empty() {
        facts.push(Fact::pass(t!("no message was set aside as a dead letter")));
    } else {
        let set_aside = if letters.len() == 1 {
            n!("{n} message was set aside in {topic} (dead letters). Read them all: {command}")
        } else {
            n!("{n} messages were set aside in {topic} (dead letters). Read them all: {command}")
        };
        let command = match ctx.profile() {
            Some(profile) => profile.kcat(&format!("-C -t {} -o beginning -e", names.dead_letters)),
            None => read_all(ctx.config.track, &names.dead_letters),
        };
        facts.push(Fact::info(fill(
            set_aside,
            &[("n", &letters.len()), ("topic", &names.dead_letters), ("command", &command)],
        )));
        // Sorted: the sink sets messages of different partitions aside in no fixed order.
        let mut reasons: Vec<String> =
            letters.iter().map(|l| format!("{}: {}", l.from, l.reason)).collect();
        reasons.sort();
        for reason in reasons.iter().take(SHOWN) {
            facts.push(Fact::info(format!("  {}", t!("set aside {reason}", reason))));
        }
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letters_are_read_with_the_tracks_own_tool() {
        let zookeeper = read_all(Track::ZooKeeper, "dl");
        assert!(
            zookeeper.contains("exec kafka kafka-console-consumer --bootstrap-server"),
            "{zookeeper}"
        );
        let kraft = read_all(Track::KRaft, "dl");
        assert!(
            kraft.contains("exec kafka /opt/kafka/bin/kafka-console-consumer.sh --bootstrap"),
            "{kraft}"
        );
        assert!(kraft.contains("--topic dl --from-beginning"), "{kraft}");
    }
}
