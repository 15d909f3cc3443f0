//! ZooKeeper's `srvr` four-letter word: the one it answers by default, over plain TCP.

use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Srvr {
    /// e.g. `3.8.4-9316c2a7a97e1666d8f4593f34dd6fc36ecc436c, built on 2024-02-12 22:16 UTC`
    pub version: String,
    /// `standalone`, `leader` or `follower`
    pub mode: String,
}

// ANCHOR: srvr
pub async fn srvr(addr: &str) -> Result<Srvr> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(b"srvr").await?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await?;
        Ok::<_, std::io::Error>(reply)
    };
    let reply = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .with_context(|| format!("ZooKeeper at {addr} did not answer srvr within 5s"))?
        .with_context(|| format!("Failed to ask ZooKeeper at {addr} for srvr"))?;
    let field = |name: &str| reply.lines().find_map(|line| line.strip_prefix(name)).map(|v| v.trim().to_string());
    Ok(Srvr {
        version: field("Zookeeper version:").with_context(|| format!("ZooKeeper at {addr} answered: {reply:?}"))?,
        mode: field("Mode:").unwrap_or_default(),
    })
}
// ANCHOR_END: srvr

/// `zookeeper-shell zookeeper:2181 <command...>` run in the kafka container; returns the answer's last line.
pub async fn shell(stack: &crate::stack::Stack, command: &[&str]) -> Result<String> {
    let mut cmd = vec!["zookeeper-shell", "zookeeper:2181"];
    cmd.extend_from_slice(command);
    let out = stack.exec("kafka", &cmd, None).await?;
    if out.exit_code != 0 {
        anyhow::bail!("`{}` exited with {}: {}", cmd.join(" "), out.exit_code, out.stderr.trim());
    }
    out.stdout
        .lines()
        .rev()
        .find(|line| line.starts_with('[') || line.starts_with('{'))
        .map(str::to_string)
        .with_context(|| format!("`{}` printed no answer: {}", cmd.join(" "), out.stdout.trim()))
}

/// The broker ids registered under /brokers/ids.
pub async fn broker_ids(stack: &crate::stack::Stack) -> Result<Vec<i32>> {
    let line = shell(stack, &["ls", "/brokers/ids"]).await?;
    serde_json::from_str(&line).with_context(|| format!("Failed to read broker ids from {line}"))
}

/// The endpoints broker `id` registered in /brokers/ids/<id>, e.g. `EXTERNAL://localhost:9092`.
pub async fn broker_endpoints(stack: &crate::stack::Stack, id: i32) -> Result<Vec<String>> {
    let line = shell(stack, &["get", &format!("/brokers/ids/{id}")]).await?;
    let value: serde_json::Value =
        serde_json::from_str(&line).with_context(|| format!("Failed to read the registration {line}"))?;
    let endpoints = value["endpoints"].as_array().cloned().unwrap_or_default();
    Ok(endpoints.iter().filter_map(|e| e.as_str().map(str::to_string)).collect())
}
