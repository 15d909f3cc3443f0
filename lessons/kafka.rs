//! The Rust-native Kafka side (rdkafka). Every client starts from `config`, the one configuration.

pub mod admin;
pub mod assignment;
pub mod config;
pub mod inspect;
pub mod quorum;
pub mod records;

pub use config::config;
