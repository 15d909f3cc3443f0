//! The live tests: each module is a learner's scenario against real Kafka, ZooKeeper, the Docker API and the
//! compose CLI, on a stack of its own (a random project name, free host ports). They are one test binary so that
//! the harness runs scenarios side by side, as many as the machine has cores (two on CI), within a memory budget
//! (tests/common/memory.rs): most of a scenario is waiting on containers, and `cargo test` runs test binaries one
//! after another. `cargo test --test live -- lessons::` runs one module.
//! tests/cloud.rs is a binary of its own: it sets the storage clients' variables in its process.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod cluster;
mod collect;
mod corpus;
mod errors;
mod kraft;
mod kraft_cluster;
mod lessons;
mod live_stack;
mod migration;
mod reliability;
mod secure;
mod sequence;
