//! The lessons on a cluster of three brokers, a compose project of its own in the learner's `cluster/` folder.

pub mod group;
pub mod l08_replication;
pub mod l09_groups;
pub mod l10_migrate;
pub mod ledger;
pub mod migration;
pub mod produce;
pub mod stack;

pub use stack::Cluster;

use crate::kafka::inspect::PartitionInfo;

/// Lesson 8's topic: three partitions, each on all three brokers.
pub const TOPIC: &str = "replicated-events";
/// Its `min.insync.replicas`: an `acks=all` record is acknowledged once this many replicas have it.
pub const MIN_IN_SYNC: i32 = 2;

/// `  partition 0: leader 2, replicas 1, 2, 3, in sync 2, 3`, one line per partition, as `kafka-topics
/// --describe` says it.
pub fn describe(partitions: &[PartitionInfo]) -> String {
    partitions
        .iter()
        .map(|p| {
            let mut isr = p.isr.clone();
            isr.sort();
            let leader = if p.leader >= 0 { p.leader.to_string() } else { t!("none").to_string() };
            format!(
                "  {}",
                t!(
                    "partition {id}: leader {leader}, replicas {replicas}, in sync {isr}",
                    id = p.id,
                    leader,
                    replicas = list(&p.replicas),
                    isr = list(&isr)
                )
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn list(ids: &[i32]) -> String {
    if ids.is_empty() {
        return t!("none").to_string();
    }
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")
}
