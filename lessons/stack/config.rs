//! Where the learner works and which ports their stack publishes, from flags and the environment.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::track::Track;

pub const COMPOSE_FILE: &str = "docker-compose.yml";

#[derive(Clone, Debug)]
pub struct StackConfig {
    /// The learner's directory: their compose file lives here, never in the repo's compose/.
    pub dir: PathBuf,
    pub project: String,
    /// The learner named the project (`--project`); otherwise it is the directory's, as compose derives it.
    pub project_given: bool,
    pub kafka_port: u16,
    pub zookeeper_port: u16,
    /// ZooKeeper or KRaft, as the learner's folder remembers it (`lesson --track`).
    pub track: Track,
}

/// The host ports the lessons connect to, which the learner's compose file must publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostPorts {
    pub kafka: u16,
    pub zookeeper: u16,
}

impl Default for HostPorts {
    fn default() -> Self {
        HostPorts { kafka: 9092, zookeeper: 2181 }
    }
}

impl StackConfig {
    /// `dir` defaults to the current directory, `project` to its name as compose derives it; the track is the
    /// one the folder remembers.
    pub fn new(dir: Option<&Path>, project: Option<&str>) -> Result<Self> {
        Self::on_track(dir, project, None)
    }

    /// As `new`, on `track` when given (whatever the folder remembers, even what it cannot read).
    pub fn on_track(
        dir: Option<&Path>,
        project: Option<&str>,
        track: Option<Track>,
    ) -> Result<Self> {
        let dir = match dir {
            Some(dir) => dir.to_path_buf(),
            None => std::env::current_dir().context(t!("Failed to read the current directory"))?,
        };
        let dir = std::path::absolute(&dir)
            .with_context(|| t!("Failed to resolve {path}", path = dir.display()))?;
        let project_given = project.is_some();
        let project = match project {
            Some(name) => project_name(name),
            None => project_name(&dir.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()),
        };
        Ok(StackConfig {
            track: match track {
                Some(track) => track,
                None => Track::remembered(&dir)?,
            },
            dir,
            project: if project.is_empty() { "workshop".into() } else { project },
            project_given,
            kafka_port: port_from_env("KAFKA_PORT", 9092)?,
            zookeeper_port: port_from_env("ZOOKEEPER_PORT", 2181)?,
        })
    }

    pub fn host_ports(&self) -> HostPorts {
        HostPorts { kafka: self.kafka_port, zookeeper: self.zookeeper_port }
    }

    pub fn compose_file(&self) -> PathBuf {
        self.dir.join(COMPOSE_FILE)
    }

    /// Bootstrap servers for programs on this machine: the connection profile's, else KAFKA_BOOTSTRAP_SERVERS,
    /// else the published port.
    pub fn bootstrap(&self) -> String {
        if let Some(profile) = crate::kafka::profile::current() {
            return profile.connection.bootstrap.clone();
        }
        std::env::var("KAFKA_BOOTSTRAP_SERVERS")
            .unwrap_or_else(|_| format!("localhost:{}", self.kafka_port))
    }

    /// The variables the compose file reads for its ports, passed explicitly to every compose command.
    pub fn compose_env(&self) -> Vec<(String, String)> {
        vec![
            ("KAFKA_PORT".into(), self.kafka_port.to_string()),
            ("ZOOKEEPER_PORT".into(), self.zookeeper_port.to_string()),
        ]
    }
}

/// Compose's own rule: lowercase, keeping only letters, digits, `-` and `_`.
pub fn project_name(raw: &str) -> String {
    raw.to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect::<String>()
        .trim_start_matches(['-', '_'])
        .to_string()
}

pub fn port_from_env(var: &str, default: u16) -> Result<u16> {
    match std::env::var(var) {
        Ok(value) => value.trim().parse::<u16>().ok().filter(|p| *p > 0).with_context(|| {
            t!(
                "{var}={value} is not a port number (1-65535); unset it or pick a free port",
                var,
                value
            )
        }),
        Err(_) => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_as_compose_derives_them() {
        assert_eq!(project_name("My Kafka_Lab-2"), "mykafka_lab-2");
        assert_eq!(project_name("--workshop"), "workshop");
        assert_eq!(project_name("café"), "caf");
    }

    #[test]
    fn ports_from_the_environment() {
        std::env::set_var("WORKSHOP_TEST_PORT_OK", " 19092 ");
        std::env::set_var("WORKSHOP_TEST_PORT_BAD", "ninety");
        assert_eq!(port_from_env("WORKSHOP_TEST_PORT_OK", 9092).ok(), Some(19092));
        assert_eq!(port_from_env("WORKSHOP_TEST_PORT_UNSET", 9092).ok(), Some(9092));
        let err = port_from_env("WORKSHOP_TEST_PORT_BAD", 9092)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(err, "WORKSHOP_TEST_PORT_BAD=ninety is not a port number (1-65535); unset it or pick a free port");
    }
}
