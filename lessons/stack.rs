//! The learner's stack: the Docker API, the compose CLI and file, host ports, ZooKeeper, and the one
//! handle that waits until the services answer.

pub mod compose;
pub mod compose_file;
pub mod config;
pub mod engine;
pub mod guidance;
mod handle;
pub mod ports;
pub mod reference;
pub mod track;
pub mod zookeeper;

pub use handle::{ready_timeout, Keeper, Leftovers, Ready, RestartLoop, Stack};
