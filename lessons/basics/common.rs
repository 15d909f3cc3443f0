//! What several steps share: the "is the stack up" precondition and running Kafka's tools in the container.

use anyhow::{bail, Result};

use crate::lesson::Fact;
use crate::lesson::{Context, Needs};
use crate::stack::engine::ExecOutput;
use crate::stack::track::Track;
use crate::stack::Stack;

/// Inside the compose network the broker is `kafka:29092` (the INTERNAL listener).
pub const IN_NETWORK_BOOTSTRAP: &str = "kafka:29092";

pub const EXPECTED_KAFKA_IMAGE: &str = "confluentinc/cp-kafka:7.9.x (Kafka 3.9)";
/// The KRaft track's image.
pub const EXPECTED_APACHE_IMAGE: &str = "apache/kafka:4.x (in /opt/kafka/bin)";

/// `docker compose ARGS` for a fix line, with its Compose v1 spelling.
pub fn compose_hint(args: &str) -> String {
    if args.len() <= 40 {
        format!("docker compose {args} (v1: docker-compose {args})")
    } else {
        t!("docker compose {args} (v1: docker-compose instead of docker compose)", args)
    }
}

/// The stack when both services run, or the failed fact that says why a service keeps restarting, or which
/// lesson starts it.
pub async fn stack_up(ctx: &Context) -> Result<Result<&Stack, Vec<Fact>>> {
    let stack = ctx.stack().await?;
    let services = stack.services_of_track();
    if let Err(err) = stack.services(&services).await {
        let what = t!("the stack of project `{project}` is up", project = stack.config.project);
        for service in services {
            if let Some(restarts) = stack.restart_loop(service).await {
                return Ok(Err(vec![Fact::fail(what, restarts.message)]));
            }
        }
        let first_line = err.to_string().lines().next().unwrap_or_default().to_string();
        let start = ctx.options.command("2 --run", Needs::NOTHING);
        return Ok(Err(vec![Fact::fail(
            what,
            t!("{first_line} Do lesson 2 first: {start}", first_line, start),
        )]));
    }
    Ok(Ok(stack))
}

/// Where Kafka answers for a step that needs only Kafka: the connection profile's, or the stack's when both
/// services run (else the failed fact, as `stack_up`).
pub async fn kafka_up(ctx: &Context) -> Result<Result<String, Vec<Fact>>> {
    if let Some(profile) = ctx.profile() {
        return Ok(Ok(profile.connection.bootstrap.clone()));
    }
    Ok(stack_up(ctx).await?.map(|stack| stack.bootstrap()))
}

/// `cmd` with its tool where the track's image has it (`kafka-topics`, or `/opt/kafka/bin/kafka-topics.sh`).
pub fn on_track(stack: &Stack, mut cmd: Vec<String>) -> Vec<String> {
    if let Some(tool) = cmd.first_mut() {
        *tool = stack.config.track.tool(tool);
    }
    cmd
}

/// Runs a Kafka tool in the kafka container; a tool missing from the image names the image expected.
pub async fn kafka_tool(stack: &Stack, cmd: &[&str], stdin: Option<&[u8]>) -> Result<ExecOutput> {
    let tool = cmd.first().map(|t| stack.config.track.tool(t));
    let cmd: Vec<&str> =
        tool.iter().map(String::as_str).chain(cmd.iter().skip(1).copied()).collect();
    let what = t!(
        "{tool} in the kafka container",
        tool = cmd.first().copied().unwrap_or_else(|| t!("a Kafka tool"))
    );
    let out = crate::ui::progress::while_running(&what, stack.exec("kafka", &cmd, stdin)).await?;
    let missing = out.exit_code == 126
        || out.exit_code == 127
        || out.stderr.contains("executable file not found")
        || out.stderr.contains("command not found");
    if missing {
        let image = stack.service("kafka").await.map(|c| c.image).unwrap_or_default();
        let (expected, var) = match stack.config.track {
            Track::ZooKeeper => (EXPECTED_KAFKA_IMAGE, "KAFKA_IMAGE"),
            Track::KRaft => (EXPECTED_APACHE_IMAGE, "APACHE_KAFKA_IMAGE"),
        };
        bail!(t!(
            "The kafka container has no `{tool}` on its PATH (image: {image}).\n\
             The lessons expect {expected}, which ships kafka-topics, kafka-console-producer and\n\
             kafka-console-consumer. Use the reference compose file (lesson 1 --run) or set {var} to it.",
            tool = cmd[0],
            image,
            expected,
            var
        ));
    }
    Ok(out)
}

/// Like `kafka_tool`, but a non-zero exit is an error carrying what the tool printed.
pub async fn kafka_tool_ok(stack: &Stack, cmd: &[String], stdin: Option<&[u8]>) -> Result<String> {
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let out = kafka_tool(stack, &cmd, stdin).await?;
    if out.exit_code != 0 {
        let said = if out.stderr.trim().is_empty() { out.stdout.trim() } else { out.stderr.trim() };
        bail!(t!(
            "`{command}` failed (exit {code}):\n{said}",
            command = cmd.join(" "),
            code = out.exit_code,
            said
        ));
    }
    Ok(out.stdout)
}

/// The controller quorum, asked through the broker on `bootstrap`; or why it cannot be read, as a fix: a
/// broker that runs with ZooKeeper has no quorum to describe.
pub async fn quorum_of(
    bootstrap: &str,
) -> std::result::Result<crate::kafka::quorum::Quorum, String> {
    match crate::kafka::quorum::describe(bootstrap, std::time::Duration::from_secs(10)).await {
        Ok(Some(quorum)) => Ok(quorum),
        Ok(None) => Err(t!(
            "The broker on {bootstrap} runs with ZooKeeper: this folder is on the KRaft track, its stack is not. \
             Run lesson 1 again, or go back: lesson --track zookeeper",
            bootstrap
        )
        .to_string()),
        Err(err) => Err(format!("{err:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_commands_name_the_v1_spelling() {
        assert_eq!(compose_hint("down"), "docker compose down (v1: docker-compose down)");
        let long = compose_hint(
            "exec kafka kafka-console-consumer --bootstrap-server kafka:29092 --topic t",
        );
        assert!(long.ends_with("(v1: docker-compose instead of docker compose)"), "{long}");
    }
}
