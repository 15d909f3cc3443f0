//! `lesson doctor`: is this machine ready for the workshop? Each fact with its fix.

use anyhow::Result;

use crate::lesson::Fact;
use crate::stack::compose::{Compose, ComposeCli};
use crate::stack::config::StackConfig;
use crate::stack::engine::Engine;
use crate::stack::{compose_file, ports, reference};

const MIN_MEMORY: i64 = 2 << 30;

pub async fn facts(config: &StackConfig) -> Result<Vec<Fact>> {
    let mut facts = Vec::new();
    let engine = match Engine::connect().await {
        Ok(engine) => {
            facts.push(Fact::pass(t!(
                "a container engine answers: {version}",
                version = engine.version
            )));
            Some(engine)
        }
        Err(err) => {
            facts.push(Fact::fail(t!("a container engine answers"), err.to_string()));
            None
        }
    };
    let compose = match ComposeCli::detect().await {
        Ok(cli) => {
            let v =
                if cli == ComposeCli::V2 { "v2" } else { t!("v1 (v2 is recommended; both work)") };
            facts.push(Fact::pass(t!("Compose {v} is installed: {name}", v, name = cli.name())));
            Compose::for_config(config).await.ok()
        }
        Err(err) => {
            facts.push(Fact::fail(t!("Compose is installed"), err.to_string()));
            None
        }
    };
    let Some(engine) = engine else { return Ok(facts) };
    let ours = engine.containers(&config.project).await.unwrap_or_default();
    for (service, var, port) in ports::published(config) {
        let held_by_us = ours.iter().any(|c| c.service == service && c.running());
        let free = ports::free(port);
        facts.push(if held_by_us {
            Fact::pass(t!(
                "port {port} is held by this workshop's {service} container",
                port,
                service
            ))
        } else if free {
            Fact::pass(t!("port {port} is free for {service}", port, service))
        } else {
            Fact::fail(
                t!("port {port} is free for {service}", port, service),
                ports::in_use_message(service, var, port),
            )
        });
    }
    if ours.iter().any(|c| c.service == "kafka") {
        if let Ok(stack) = crate::stack::Stack::connect(config.clone()).await {
            if let Some(restarts) = stack.restart_loop("kafka").await {
                facts.push(Fact::fail(
                    t!("this directory's kafka container is not restarting over and over"),
                    restarts.message,
                ));
            }
        }
    }
    facts.push(match engine.memory_total().await {
        Some(bytes) if bytes >= MIN_MEMORY => {
            Fact::pass(t!("the engine has {gib} GiB of memory (2 needed)", gib = bytes >> 30))
        }
        Some(bytes) => Fact::fail(
            t!(
                "the engine has {gib} GiB of memory (2 needed)",
                gib = format!("{:.1}", bytes as f64 / f64::from(1 << 30))
            ),
            t!("Give Docker more memory (Docker Desktop: Settings → Resources), or close other containers"),
        ),
        None => Fact::info(t!("the engine did not say how much memory it has")),
    });
    for image in images(config, compose.as_ref()).await {
        facts.push(if engine.image_present(&image).await {
            Fact::pass(t!("image {image} is present", image))
        } else {
            match engine.image_pullable(&image).await {
                Ok(()) => Fact::pass(t!(
                    "image {image} is not pulled yet, and the registry has it",
                    image
                )),
                Err(err) => Fact::fail(
                    t!("image {image} is present or can be pulled", image),
                    t!(
                        "{error}. Check your network, or the image name in {vars}",
                        error = format!("{err:#}"),
                        vars = match config.track {
                            crate::stack::track::Track::ZooKeeper =>
                                "KAFKA_IMAGE / ZOOKEEPER_IMAGE",
                            crate::stack::track::Track::KRaft => "APACHE_KAFKA_IMAGE",
                        }
                    ),
                ),
            }
        });
    }
    Ok(facts)
}

/// The images of zookeeper and kafka in the learner's compose file, or the reference file's when there is none
/// yet. Lesson 7's storage servers (profile `cloud`) are optional, and pulled when started.
async fn images(config: &StackConfig, compose: Option<&Compose>) -> Vec<String> {
    let rendered = match compose {
        Some(compose) if compose.file.exists() => compose.config().await.ok().and_then(|r| r.ok()),
        _ => None,
    };
    let from_reference =
        || compose_file::parse_rendered(&reference::of_track_with_defaults(config.track)).ok();
    let services =
        rendered.and_then(|r| compose_file::parse_rendered(&r).ok()).or_else(from_reference);
    let core = |(name, service): (&String, &compose_file::Service)| {
        config.track.services().contains(&name.as_str()).then(|| service.image.clone())
    };
    services
        .map(|s| s.iter().filter_map(core).filter(|i| !i.is_empty()).collect())
        .unwrap_or_default()
}
