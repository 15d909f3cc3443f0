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
        .with_context(|| t!("ZooKeeper at {addr} did not answer srvr within 5s", addr))?
        .with_context(|| t!("Failed to ask ZooKeeper at {addr} for srvr", addr))?;
    let field = |name: &str| {
        reply.lines().find_map(|line| line.strip_prefix(name)).map(|v| v.trim().to_string())
    };
    Ok(Srvr {
        version: field("Zookeeper version:").with_context(|| {
            t!("ZooKeeper at {addr} answered: {reply}", addr, reply = format!("{reply:?}"))
        })?,
        mode: field("Mode:").unwrap_or_default(),
    })
}
// ANCHOR_END: srvr

/// Asks ZooKeeper directly (its own protocol, on the published port): the children of `path`, sorted.
pub async fn children(addr: &str, path: &str) -> Result<Vec<String>> {
    let client = connect(addr).await?;
    let mut children = client
        .list_children(path)
        .await
        .with_context(|| t!("ZooKeeper at {addr} did not list {path}", addr, path))?;
    children.sort();
    Ok(children)
}

/// The data of the znode at `path`, as text.
pub async fn data(addr: &str, path: &str) -> Result<String> {
    let client = connect(addr).await?;
    let (bytes, _) = client
        .get_data(path)
        .await
        .with_context(|| t!("ZooKeeper at {addr} did not read {path}", addr, path))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

async fn connect(addr: &str) -> Result<zookeeper_client::Client> {
    let connecting = zookeeper_client::Client::connector()
        .with_session_timeout(Duration::from_secs(6))
        .connect(addr);
    tokio::time::timeout(Duration::from_secs(5), connecting)
        .await
        .with_context(|| t!("ZooKeeper at {addr} did not answer within 5s", addr))?
        .with_context(|| t!("Failed to connect to ZooKeeper at {addr}", addr))
}

/// The broker ids registered under /brokers/ids: one ephemeral znode per live broker.
pub async fn broker_ids(addr: &str) -> Result<Vec<i32>> {
    let mut ids: Vec<i32> =
        children(addr, "/brokers/ids").await?.iter().filter_map(|id| id.parse().ok()).collect();
    ids.sort();
    Ok(ids)
}

/// The endpoints broker `id` registered in /brokers/ids/<id>, e.g. `EXTERNAL://localhost:9092`.
pub async fn broker_endpoints(addr: &str, id: i32) -> Result<Vec<String>> {
    let text = data(addr, &format!("/brokers/ids/{id}")).await?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| t!("Failed to read the registration {text}", text))?;
    let endpoints = value["endpoints"].as_array().cloned().unwrap_or_default();
    Ok(endpoints.iter().filter_map(|e| e.as_str().map(str::to_string)).collect())
}
