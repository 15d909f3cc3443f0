//! Before `compose up`: is each host port free, or already held by this project's own container?

use anyhow::{bail, Result};

use crate::guidance;
use crate::stack::Stack;
use crate::text::fill;

pub async fn ensure_free(stack: &Stack) -> Result<()> {
    let containers = stack.containers().await?;
    let ports = [
        ("kafka", "KAFKA_PORT", stack.config.kafka_port),
        ("zookeeper", "ZOOKEEPER_PORT", stack.config.zookeeper_port),
    ];
    for (service, var, port) in ports {
        let ours = containers.iter().any(|c| c.service == service && c.running);
        if !ours && std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            bail!(fill(
                guidance::PORT_IN_USE,
                &[("port", &port), ("service", &service), ("var", &var), ("alternative", &(port + 10000))],
            ));
        }
    }
    Ok(())
}
