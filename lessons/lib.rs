//! The Kafka workshop: the `lesson` program's library, shared with the tests and the benchmarks.
//!
//! Layers, each using only those above it in this list:
//! - `ui`: the language it speaks (`t!`, `n!`), text filling, lesson texts for the terminal, and the one status
//!   line shown while something is awaited.
//! - `kafka`: the Rust clients (rdkafka): one configuration, admin, records, reading the cluster back.
//! - `stack`: the learner's stack: Docker API, compose CLI, ports, ZooKeeper, readiness.
//! - `lesson`: what a lesson is (the trait, its facts, the context it runs in).
//! - `basics`, `capstone`, `cluster`, `secure`: the lessons themselves, one folder per family.
//! - `catalog`: the registry of every lesson, in order.
//! - `runner`: the command line and what each command does.

// `t!` and `n!` (ui::lang) are in scope in every module below.
#[macro_use]
pub mod ui;

pub mod basics;
pub mod capstone;
pub mod catalog;
pub mod cluster;
pub mod kafka;
pub mod lesson;
pub mod runner;
pub mod secure;
pub mod stack;
