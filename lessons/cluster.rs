//! The lessons on a cluster of three brokers, a compose project of its own in the learner's `cluster/` folder.

pub mod l08_replication;
pub mod ledger;
pub mod produce;
pub mod stack;

pub use stack::Cluster;

/// Lesson 8's topic: three partitions, each on all three brokers.
pub const TOPIC: &str = "replicated-events";
/// Its `min.insync.replicas`: an `acks=all` record is acknowledged once this many replicas have it.
pub const MIN_IN_SYNC: i32 = 2;
