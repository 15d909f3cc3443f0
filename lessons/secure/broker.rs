//! Lesson 11's compose project in the learner's `secure/` folder: ZooKeeper and one broker whose only published
//! port speaks SASL_SSL. Users, topics and ACLs are made through the broker's loopback listener, by
//! `docker compose exec`, as its administrator would.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use super::secrets::Secrets;
use super::{User, GROUP, MECHANISM, OTHER_TOPIC, TOPIC};
use crate::stack::compose::{Compose, ComposeCli};
use crate::stack::config::{port_from_env, StackConfig};
use crate::stack::engine::{Container, Engine, Health};

/// The repository's compose/secure/docker-compose.yml, which lesson 11 writes into the learner's `secure/`.
pub const FILE: &str = include_str!("../../compose/secure/docker-compose.yml");
pub const FOLDER: &str = "secure";
pub const SERVICE: &str = "kafka";
pub const PORT_VARIABLE: &str = "KAFKA_SECURE_PORT";
const DEFAULT_PORT: u16 = 9093;
/// The broker's loopback listener, inside its container: plaintext, for `docker compose exec` alone.
const INSIDE: &str = "127.0.0.1:29092";

pub struct SecureBroker {
    /// The learner's `secure/` folder: the compose file, its `.env`, `tls/` and `secrets.env`.
    pub dir: PathBuf,
    pub port: u16,
    pub engine: Engine,
    pub compose: Compose,
}

impl SecureBroker {
    pub async fn connect(config: &StackConfig) -> Result<SecureBroker> {
        let dir = config.dir.join(FOLDER);
        // The environment first, then the folder's `.env` (what compose typed there would use), then the default.
        let saved = std::fs::read_to_string(dir.join(".env")).unwrap_or_default();
        let port = if std::env::var_os(PORT_VARIABLE).is_some() {
            port_from_env(PORT_VARIABLE, DEFAULT_PORT)?
        } else {
            let line =
                saved.lines().find_map(|l| l.trim().strip_prefix(&format!("{PORT_VARIABLE}=")));
            line.and_then(|v| v.trim().parse().ok()).unwrap_or(DEFAULT_PORT)
        };
        let project = if config.project_given {
            format!("{}-secure", config.project)
        } else {
            crate::stack::config::project_name(FOLDER)
        };
        let compose = Compose {
            cli: ComposeCli::detect().await?,
            project,
            file: dir.join(crate::stack::config::COMPOSE_FILE),
            env: vec![(PORT_VARIABLE.into(), port.to_string())],
        };
        Ok(SecureBroker { dir, port, engine: Engine::connect().await?, compose })
    }

    /// `localhost:9093`: the name the broker's certificate holds.
    pub fn bootstrap(&self) -> String {
        format!("localhost:{}", self.port)
    }

    pub async fn containers(&self) -> Result<Vec<Container>> {
        self.engine.containers(&self.compose.project).await
    }

    /// Writes the compose file and `.env`. A compose file of the learner's that differs is kept, and the
    /// workshop's written beside it: what to say.
    pub fn write_files(&self) -> Result<Option<String>> {
        let write = |path: &std::path::Path, text: &str| {
            std::fs::write(path, text)
                .with_context(|| t!("Failed to write {path}", path = path.display()))
        };
        std::fs::create_dir_all(&self.dir)
            .with_context(|| t!("Failed to create {path}", path = self.dir.display()))?;
        let env = format!(
            "COMPOSE_PROJECT_NAME={}\n{PORT_VARIABLE}={}\n",
            self.compose.project, self.port
        );
        write(&self.dir.join(".env"), &env)?;
        crate::stack::reference::write_unless_theirs(&self.compose.file, FILE)
    }

    /// The broker's container once it is healthy; fails at once when a container stopped.
    pub async fn healthy(&self) -> Result<Container> {
        let start = Instant::now();
        crate::ui::progress::while_running(t!("the secure broker to be healthy"), async {
            loop {
                let containers = self.containers().await?;
                if let Some(c) = containers.iter().find(|c| c.state.stopped() || c.restarts >= 3) {
                    let logs = self.engine.logs_tail(&c.id, 20).await.unwrap_or_default();
                    bail!(t!(
                        "{service} stopped (exit {code}, restarted {restarts} times). Its last lines:\n{logs}",
                        service = c.service,
                        code = c.exit_code,
                        restarts = c.restarts,
                        logs = logs.trim_end()
                    ));
                }
                if let Some(kafka) = containers.iter().find(|c| c.service == SERVICE) {
                    if kafka.running() && kafka.health == Health::Healthy {
                        return Ok(kafka.clone());
                    }
                }
                if start.elapsed() > crate::stack::ready_timeout() {
                    bail!(t!(
                        "Gave up waiting for {what} after {seconds} s. Last seen:\n{last}",
                        what = t!("the secure broker to be healthy"),
                        seconds = start.elapsed().as_secs(),
                        last = format!("{} {} logs kafka", t!("In secure/:"), self.compose.cli.name())
                    ));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
        .await
    }

    /// Creates the lesson's two topics, sets each user's SCRAM password and grants the ACLs: all through the
    /// loopback listener, as `docker compose exec kafka …` would. Each step may be repeated.
    pub async fn administer(&self, kafka: &Container, secrets: &Secrets) -> Result<()> {
        let passwords: String =
            User::ALL.iter().map(|u| format!("{} {}\n", u.name(), secrets.password(*u))).collect();
        // Each password reaches the tool in a file only it reads, never on a command line (`ps` shows those).
        let script = format!(
            "set -e
export KAFKA_HEAP_OPTS=-Xmx64m
for topic in {TOPIC} {OTHER_TOPIC}; do
  kafka-topics --bootstrap-server {INSIDE} --create --if-not-exists --topic $topic --partitions 1 \
    --replication-factor 1 </dev/null
done
while read -r user password; do
  f=$(mktemp)
  printf '{MECHANISM}=password=%s\\n' \"$password\" >\"$f\"
  kafka-configs --bootstrap-server {INSIDE} --alter --entity-type users --entity-name \"$user\" \
    --add-config-file \"$f\" </dev/null || {{ rm -f \"$f\"; exit 1; }}
  rm -f \"$f\"
done
kafka-acls --bootstrap-server {INSIDE} --add --allow-principal User:{writer} --producer --topic {TOPIC} </dev/null
kafka-acls --bootstrap-server {INSIDE} --add --allow-principal User:{reader} --consumer --topic {TOPIC} \
  --group {GROUP} </dev/null
",
            writer = User::Writer.name(),
            reader = User::Reader.name()
        );
        let out = crate::ui::progress::while_running(
            t!("the broker to create the topics, the users and their ACLs"),
            self.engine.exec(&kafka.id, &["bash", "-c", &script], Some(passwords.as_bytes())),
        )
        .await?;
        if out.exit_code != 0 {
            let mut said = format!("{}{}", out.stdout, out.stderr);
            secrets.all().for_each(|p| said = said.replace(p, "[PASSWORD]"));
            bail!(t!(
                "The broker refused to create the lesson's topics, users or ACLs:\n{output}",
                output = said.trim_end()
            ));
        }
        Ok(())
    }

    /// `compose down -v --remove-orphans`: the containers and the volumes (users, ACLs and records with them).
    pub async fn down(&self) -> Result<()> {
        self.compose.down_everything().await
    }
}
