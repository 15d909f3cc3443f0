//! The real stack from compose/docker-compose.yml: up with the compose CLI, ready, registered, one message
//! through, then down with nothing left. Runs against real ZooKeeper and Kafka; never skips.

use crate::common;

use std::fmt::Write;

use anyhow::{ensure, Context, Result};
use workshop::kafka::{admin, records};
use workshop::stack::engine::Health;
use workshop::stack::zookeeper;
use workshop::stack::{Keeper, Stack};

#[tokio::test(flavor = "multi_thread")]
async fn stack_up_registered_roundtrip_down() -> Result<()> {
    let _memory = common::memory::reserve(1_300); // a stack
    let config = common::learner_config("stack")?;
    std::fs::copy(common::repo_compose_file(), config.compose_file())
        .context("Failed to copy the compose file")?;
    let stack = Stack::connect(config).await?;
    let _down = common::DownOnDrop::new(&stack);
    let mut facts = String::new();

    let (_, ready) = stack.up().await?;
    let Keeper::ZooKeeper(srvr) = &ready.keeper else {
        anyhow::bail!("the ZooKeeper track's stack answered as {}", ready.keeper)
    };
    eprintln!("engine: {}; zookeeper version: {}", stack.engine.version, srvr.version);
    for c in &ready.containers {
        writeln!(facts, "service {}: running={} health={}", c.service, c.running(), c.health)?;
        ensure!(
            c.running() && c.health == Health::Healthy,
            "{} is not running and healthy: {c:?}",
            c.service
        );
    }
    writeln!(facts, "zookeeper srvr: version {} mode {}", srvr.version, srvr.mode)?;
    for b in &ready.brokers {
        writeln!(facts, "kafka metadata: broker {} at {}:{}", b.id, b.host, b.port)?;
    }
    ensure!(ready.brokers.len() == 1, "expected one broker, got {:?}", ready.brokers);
    ensure!(
        ready.brokers[0].port == i32::from(stack.config.kafka_port),
        "advertised port differs from published port"
    );

    let ids = zookeeper::broker_ids(&stack.zookeeper_addr()).await?;
    writeln!(facts, "zookeeper /brokers/ids: {ids:?}")?;
    ensure!(ids == vec![ready.brokers[0].id], "ZooKeeper holds {ids:?}");
    let endpoints = zookeeper::broker_endpoints(&stack.zookeeper_addr(), ids[0]).await?;
    writeln!(facts, "zookeeper /brokers/ids/{}: {}", ids[0], endpoints.join(" "))?;

    let version = stack.exec("kafka", &["kafka-topics", "--version"], None).await?;
    eprintln!("kafka-topics --version in the kafka container: {}", version.stdout.trim());

    let topic = common::random_name("topic");
    admin::create_topic(&stack.bootstrap(), &topic, 1, 1).await?;
    let placed =
        records::produce(&stack.bootstrap(), &topic, &[(Some("greeting"), "hello, kafka")]).await?;
    let records =
        records::consume(&stack.bootstrap(), &topic, &common::random_name("group"), 1).await?;
    writeln!(facts, "round trip on {topic}: produced at {placed:?}, consumed {:?}", records[0])?;
    ensure!(records[0].value == "hello, kafka" && records[0].key.as_deref() == Some("greeting"));

    stack.down(true).await?;
    let left = stack.leftovers().await?;
    writeln!(facts, "after down -v: {left:?}")?;
    ensure!(left == Default::default(), "the project left {left:?}");

    snapshot!("stack_facts", facts);
    Ok(())
}
