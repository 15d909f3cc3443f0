//! The Kafka workshop: the `lesson` binary's library, shared with the tests.

pub mod compose;
pub mod config;
pub mod engine;
pub mod guidance;
pub mod kafka;
pub mod ports;
pub mod progress;
pub mod stack;
pub mod text;
pub mod zookeeper;
