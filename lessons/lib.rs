//! The Kafka workshop: the `lesson` binary's library, shared with the tests.

pub mod app;
pub mod catalog;
pub mod cli;
pub mod collect;
pub mod compose;
pub mod compose_model;
pub mod config;
pub mod doctor;
pub mod engine;
pub mod facts;
pub mod guidance;
pub mod kafka;
pub mod kafka_inspect;
pub mod list;
pub mod ports;
pub mod progress;
pub mod report;
pub mod stack;
pub mod step;
pub mod steps;
pub mod text;
pub mod tour;
pub mod zookeeper;
