//! The stack's host ports: which service publishes which, whether they are free, and what to say when not.

use anyhow::{bail, Result};

use super::config::StackConfig;
use super::engine::Container;
use super::guidance;
use crate::ui::text::fill;

/// (service, the variable that moves its port, the port now).
pub fn published(config: &StackConfig) -> Vec<(&'static str, &'static str, u16)> {
    let all = [
        ("kafka", "KAFKA_PORT", config.kafka_port),
        ("zookeeper", "ZOOKEEPER_PORT", config.zookeeper_port),
    ];
    // The KRaft track's controller publishes no port: only clients need one.
    all.into_iter().filter(|(service, _, _)| config.track.services().contains(service)).collect()
}

/// Port in use: who cannot have it, how to find the holder, and the variable (with a value) that moves it.
pub fn in_use_message(service: &str, var: &str, port: u16) -> String {
    let suggested: u16 = if service == "kafka" { 19092 } else { 12181 };
    let alternative = if suggested == port { suggested + 1 } else { suggested };
    fill(
        guidance::PORT_IN_USE,
        &[("port", &port), ("service", &service), ("var", &var), ("alternative", &alternative)],
    )
}

pub fn free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Before `compose up`: each port is free, or already held by this project's own container.
pub fn ensure_free(config: &StackConfig, containers: &[Container]) -> Result<()> {
    for (service, var, port) in published(config) {
        let ours = containers.iter().any(|c| c.service == service && c.running());
        if !ours && !free(port) {
            bail!(in_use_message(service, var, port));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::in_use_message;

    #[test]
    fn the_port_message_suggests_another_port_than_the_one_taken() {
        assert!(in_use_message("kafka", "KAFKA_PORT", 9092).contains("export KAFKA_PORT=19092"));
        assert!(in_use_message("kafka", "KAFKA_PORT", 19092).contains("export KAFKA_PORT=19093"));
        assert!(in_use_message("zookeeper", "ZOOKEEPER_PORT", 2181)
            .contains("export ZOOKEEPER_PORT=12181"));
    }
}
