//! Lessons 1–6: the assignment's six steps on one ZooKeeper and one Kafka broker.

pub mod common;
pub mod l01_compose_file;
pub mod l02_start;
pub mod l03_status;
pub mod l04_topic;
pub mod l05_produce_consume;
pub mod l06_teardown;
