//! What the cluster holds before the migration, saved in `cluster/migration-baseline.json`, and held against
//! what it holds after: the cluster id, every topic with its partition count and its own settings, and each
//! partition's first and next offsets (records written during the migration only add to them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::kafka::{admin, inspect};
use crate::lesson::Fact;

pub const FILE: &str = "migration-baseline.json";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub cluster_id: String,
    pub topics: BTreeMap<String, Topic>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    pub partitions: usize,
    /// The settings given to the topic itself.
    pub configs: BTreeMap<String, String>,
    /// Each partition's first offset and the offset its next record gets.
    pub offsets: BTreeMap<i32, (i64, i64)>,
}

impl Baseline {
    /// Records in every partition of every topic.
    pub fn records(&self) -> i64 {
        self.topics.values().flat_map(|t| t.offsets.values()).map(|(low, high)| high - low).sum()
    }
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// The cluster as it is now, Kafka's own topics (`__consumer_offsets`) aside.
pub async fn take(bootstrap: &str) -> Result<Baseline> {
    let cluster_id = admin::cluster_id(bootstrap).await?;
    let listed = inspect::inspect(bootstrap, |k| {
        let mut topics = BTreeMap::new();
        for (name, partitions) in k.topics()? {
            if name.starts_with("__") {
                continue;
            }
            let ids: Vec<i32> = partitions.iter().map(|p| p.id).collect();
            let offsets = k.watermarks(&name, &ids)?;
            topics.insert(name, Topic { partitions: ids.len(), configs: BTreeMap::new(), offsets });
        }
        Ok(topics)
    });
    let mut topics = listed.await?;
    let names: Vec<&str> = topics.keys().map(String::as_str).collect();
    let mut configs = admin::topic_configs(bootstrap, &names).await?;
    for (name, topic) in topics.iter_mut() {
        topic.configs = configs.remove(name).unwrap_or_default();
    }
    Ok(Baseline { cluster_id, topics })
}

/// As `take`, asked again while a partition's leader moves (brokers restarted a moment ago hand leadership
/// back): the answer that counts is the settled one.
pub async fn take_settled(bootstrap: &str) -> Result<Baseline> {
    let start = std::time::Instant::now();
    let what = t!("every partition's leader to answer");
    crate::ui::progress::while_running(what, async {
        loop {
            match take(bootstrap).await {
                Err(err)
                    if crate::kafka::transient(&err)
                        && start.elapsed() < crate::stack::ready_timeout() =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await
                }
                taken => return taken,
            }
        }
    })
    .await
}

/// Saved whole or not at all: written beside, then renamed over the old one.
pub fn save(dir: &Path, baseline: &Baseline) -> Result<()> {
    let target = path(dir);
    let partial = dir.join(format!("{FILE}.partial"));
    let text = serde_json::to_string_pretty(baseline)?;
    std::fs::write(&partial, text + "\n")
        .and_then(|_| std::fs::rename(&partial, &target))
        .with_context(|| t!("Failed to write {path}", path = target.display()))
}

/// None when no baseline was saved.
pub fn load(dir: &Path) -> Result<Option<Baseline>> {
    let path = path(dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(err).with_context(|| t!("Failed to read {path}", path = path.display()))
        }
    };
    serde_json::from_str(&text).map(Some).with_context(|| {
        t!(
            "{path} is not the record the lesson saved (edited?). Delete it; check 10 can then compare nothing, \
             and the migration itself is not affected",
            path = path.display()
        )
    })
}

/// The facts of `after` held against `before`.
pub fn compare(before: &Baseline, after: &Baseline) -> Vec<Fact> {
    let mut facts = vec![Fact::check(
        before.cluster_id == after.cluster_id,
        t!("the cluster kept its id, {id}", id = before.cluster_id),
        t!(
            "The cluster answers with id {now}: another cluster, not the one migrated. Its brokers were formatted \
             with a CLUSTER_ID other than ZooKeeper's (cluster/.env)",
            now = after.cluster_id
        ),
    )];
    let mut changed = Vec::new();
    let mut lost = Vec::new();
    for (name, was) in &before.topics {
        let Some(now) = after.topics.get(name) else {
            changed.push(t!("{topic}: gone", topic = name));
            continue;
        };
        if now.partitions != was.partitions {
            changed.push(t!(
                "{topic}: {now} partitions, {was} before",
                topic = name,
                now = now.partitions,
                was = was.partitions
            ));
        }
        if now.configs != was.configs {
            let show = |c: &BTreeMap<String, String>| {
                c.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
            };
            changed.push(t!(
                "{topic}: settings {now}, {was} before",
                topic = name,
                now = show(&now.configs),
                was = show(&was.configs)
            ));
        }
        for (p, &(low, high)) in &was.offsets {
            match now.offsets.get(p) {
                Some(&(now_low, now_high)) if now_low <= low && now_high >= high => {}
                Some(&(now_low, now_high)) => lost.push(format!(
                    "{name}-{p}: {now_low}..{now_high}, {}",
                    t!("{low}..{high} before", low, high)
                )),
                None => lost.push(format!("{name}-{p}")),
            }
        }
    }
    facts.push(Fact::check(
        changed.is_empty(),
        t!(
            "every topic of before is there, with its partitions and settings: {count} topics",
            count = before.topics.len()
        ),
        t!("Changed: {changed}", changed = changed.join("; ")),
    ));
    facts.push(Fact::check(
        lost.is_empty(),
        t!(
            "every record of before is still there: {records} records, each partition's offsets as they were or \
             further",
            records = before.records()
        ),
        t!(
            "Records are missing where a partition's offsets went back: {lost}. The brokers' volumes were replaced: \
             were they removed (down -v) or the project renamed?",
            lost = lost.join(", ")
        ),
    ));
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lesson::Status;

    fn cluster(offsets: (i64, i64), configs: &[(&str, &str)]) -> Baseline {
        let topic = Topic {
            partitions: 1,
            configs: configs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            offsets: [(0, offsets)].into(),
        };
        Baseline { cluster_id: "id".into(), topics: [("events".to_string(), topic)].into() }
    }

    #[test]
    fn records_added_pass_and_records_gone_fail() {
        let before = cluster((0, 10), &[("retention.ms", "1")]);
        let statuses = |after: &Baseline| -> Vec<Status> {
            compare(&before, after).iter().map(|f| f.status).collect()
        };
        assert_eq!(statuses(&cluster((0, 12), &[("retention.ms", "1")])), [Status::Pass; 3]);
        assert_eq!(
            statuses(&cluster((0, 4), &[("retention.ms", "1")])),
            [Status::Pass, Status::Pass, Status::Fail]
        );
        assert_eq!(statuses(&cluster((0, 10), &[])), [Status::Pass, Status::Fail, Status::Pass]);
        assert_eq!(before.records(), 10);
    }

    #[test]
    fn it_is_saved_whole_and_read_back() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        assert_eq!(load(&dir)?, None);
        let before = cluster((3, 10), &[]);
        save(&dir, &before)?;
        assert_eq!(load(&dir)?, Some(before));
        assert!(!dir.join(format!("{FILE}.partial")).exists());
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
