//! The Docker API (Docker, or Podman's Docker-compatible service) through bollard, honoring DOCKER_HOST.

use std::collections::HashMap;

use anyhow::{anyhow, Context, Result};
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder, LogsOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::guidance;
use crate::ui::text::fill;

pub const PROJECT_LABEL: &str = "com.docker.compose.project";
pub const SERVICE_LABEL: &str = "com.docker.compose.service";

#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    pub version: String,
}

/// One container of a compose project, as the Docker API reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    pub service: String,
    pub name: String,
    pub image: String,
    pub state: State,
    pub exit_code: i64,
    /// How often the engine restarted it by its restart policy.
    pub restarts: i64,
    pub health: Health,
    /// Published ports as `127.0.0.1:9092->9092/tcp`.
    pub ports: Vec<String>,
    /// Its environment, the image's and the compose file's.
    pub env: Env,
}

/// A container's environment as `NAME=value`. Its Debug shows the names only: values may be secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env(pub Vec<String>);

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|e| e.split('=').next().unwrap_or_default()))
            .finish()
    }
}

impl Container {
    pub fn running(&self) -> bool {
        self.state == State::Running
    }

    /// The value of one variable of its environment.
    pub fn env(&self, name: &str) -> Option<&str> {
        self.env.0.iter().find_map(|e| e.strip_prefix(name)?.strip_prefix('='))
    }
}

/// A container's state, as the engine reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
    Unknown,
}

impl State {
    /// From the engine's `status` word; `running: true` wins over a word this program does not know.
    pub fn from_engine(status: Option<&str>, running: Option<bool>) -> State {
        match status.unwrap_or_default() {
            "created" | "configured" | "initialized" => State::Created,
            "running" => State::Running,
            "paused" => State::Paused,
            "restarting" => State::Restarting,
            "removing" => State::Removing,
            "exited" | "stopped" => State::Exited,
            "dead" => State::Dead,
            _ if running == Some(true) => State::Running,
            _ => State::Unknown,
        }
    }

    /// Stopped for good: it will not answer until started again.
    pub fn stopped(self) -> bool {
        matches!(self, State::Exited | State::Dead)
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = match self {
            State::Created => "created",
            State::Running => "running",
            State::Paused => "paused",
            State::Restarting => "restarting",
            State::Removing => "removing",
            State::Exited => "exited",
            State::Dead => "dead",
            State::Unknown => "unknown",
        };
        f.pad(word)
    }
}

/// A container's health check verdict; `None` when the service has no health check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Healthy,
    Starting,
    Unhealthy,
    None,
}

impl Health {
    pub fn from_engine(status: Option<&str>) -> Health {
        match status.unwrap_or_default() {
            "healthy" => Health::Healthy,
            "starting" => Health::Starting,
            "unhealthy" => Health::Unhealthy,
            _ => Health::None,
        }
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = match self {
            Health::Healthy => "healthy",
            Health::Starting => "starting",
            Health::Unhealthy => "unhealthy",
            Health::None => "none",
        };
        f.pad(word)
    }
}

#[derive(Debug)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl Engine {
    /// Connects and pings; no engine gives the one message that says how to start one.
    pub async fn connect() -> Result<Engine> {
        let docker_host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| t!("(unset)").into());
        let no_engine = || {
            let host = std::env::var("DOCKER_HOST")
                .unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
            if let Some(path) = denied_socket(&host) {
                return anyhow!(fill(guidance::ENGINE_DENIED, &[("host", &host), ("path", &path)]));
            }
            anyhow!(fill(guidance::NO_ENGINE, &[("host", &host), ("docker_host", &docker_host)]))
        };
        let docker = Docker::connect_with_defaults().map_err(|_| no_engine())?;
        let docker = docker.negotiate_version().await.map_err(|_| no_engine())?;
        let version = docker.version().await.map_err(|_| no_engine())?;
        let name = version
            .components
            .unwrap_or_default()
            .iter()
            .map(|c| c.name.clone())
            .next()
            .unwrap_or_else(|| "Docker Engine".into());
        let version = format!("{name} {}", version.version.unwrap_or_default());
        Ok(Engine { docker, version })
    }

    // ANCHOR: containers
    /// Every container of the project, running or not, found by compose's labels (not by names).
    pub async fn containers(&self, project: &str) -> Result<Vec<Container>> {
        let filters = HashMap::from([("label", vec![format!("{PROJECT_LABEL}={project}")])]);
        let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        let summaries = past_podman_stopped(|| self.docker.list_containers(Some(options.clone())))
            .await
            .context(t!("Failed to list containers"))?;
        let summaries: Vec<_> = summaries.into_iter().filter(|s| s.id.is_some()).collect();
        // Inspected all at once: a check waits for one round trip, not one per container.
        let inspected = futures_util::future::try_join_all(
            summaries.iter().map(|s| self.inspect(s.id.as_deref().unwrap_or_default())),
        )
        .await?;
        let mut containers = Vec::new();
        for (summary, inspect) in summaries.into_iter().zip(inspected) {
            let Some(id) = summary.id else { continue };
            let Some(inspect) = inspect else { continue };
            let state = inspect.state.clone().unwrap_or_default();
            let env = inspect.config.as_ref().and_then(|c| c.env.clone()).unwrap_or_default();
            let mut ports: Vec<String> = summary
                .ports
                .unwrap_or_default()
                .iter()
                .filter_map(|p| {
                    let public = p.public_port?;
                    let ip = p.ip.clone().unwrap_or_default();
                    let proto = p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into());
                    Some(format!("{ip}:{public}->{}/{proto}", p.private_port))
                })
                .collect();
            ports.sort();
            ports.dedup();
            let labels = summary.labels.unwrap_or_default();
            containers.push(Container {
                id,
                service: labels.get(SERVICE_LABEL).cloned().unwrap_or_default(),
                name: inspect.name.unwrap_or_default().trim_start_matches('/').to_string(),
                image: summary.image.unwrap_or_default(),
                state: State::from_engine(
                    state.status.map(|s| s.to_string()).as_deref(),
                    state.running,
                ),
                exit_code: state.exit_code.unwrap_or(0),
                restarts: inspect.restart_count.unwrap_or(0),
                health: Health::from_engine(
                    state.health.and_then(|h| h.status).map(|s| s.to_string()).as_deref(),
                ),
                ports,
                env: Env(env),
            });
        }
        containers.sort_by(|a, b| a.service.cmp(&b.service));
        Ok(containers)
    }
    // ANCHOR_END: containers

    /// Inspects a container; None when it is gone meanwhile.
    async fn inspect(&self, id: &str) -> Result<Option<bollard::models::ContainerInspectResponse>> {
        match past_podman_stopped(|| {
            self.docker.inspect_container(id, None::<InspectContainerOptions>)
        })
        .await
        {
            Ok(inspect) => Ok(Some(inspect)),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                Ok(None)
            }
            Err(err) => Err(err).with_context(|| t!("Failed to inspect container {id}", id)),
        }
    }

    pub async fn image_present(&self, image: &str) -> bool {
        self.docker.inspect_image(image).await.is_ok()
    }

    /// Asks the engine whether the registry serves `image` (without pulling it); Err says why not.
    pub async fn image_pullable(&self, image: &str) -> Result<()> {
        let ask = self.docker.inspect_registry_image(image, None);
        match tokio::time::timeout(std::time::Duration::from_secs(15), ask).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(anyhow!(t!("the engine cannot pull it: {err}", err))),
            Err(_) => Err(anyhow!(t!("the registry did not answer within 15s"))),
        }
    }

    /// Memory the engine can give containers (Docker Desktop's VM, or the host), in bytes.
    pub async fn memory_total(&self) -> Option<i64> {
        self.docker.info().await.ok().and_then(|info| info.mem_total)
    }

    /// Restarts a container, giving it `grace` seconds to stop by itself (a broker deregisters then).
    pub async fn restart(&self, id: &str, grace: i32) -> Result<()> {
        let options =
            bollard::query_parameters::RestartContainerOptionsBuilder::new().t(grace).build();
        self.docker
            .restart_container(id, Some(options))
            .await
            .with_context(|| t!("Failed to restart container {id}", id))
    }

    pub async fn stop(&self, id: &str) -> Result<()> {
        self.docker
            .stop_container(id, None::<bollard::query_parameters::StopContainerOptions>)
            .await
            .with_context(|| t!("Failed to stop container {id}", id))
    }

    pub async fn networks(&self, project: &str) -> Result<Vec<String>> {
        let filters = HashMap::from([("label", vec![format!("{PROJECT_LABEL}={project}")])]);
        let options = ListNetworksOptionsBuilder::default().filters(&filters).build();
        let networks = self
            .docker
            .list_networks(Some(options))
            .await
            .context(t!("Failed to list networks"))?;
        Ok(networks.into_iter().filter_map(|n| n.name).collect())
    }

    pub async fn volumes(&self, project: &str) -> Result<Vec<String>> {
        let filters = HashMap::from([("label", vec![format!("{PROJECT_LABEL}={project}")])]);
        let options = ListVolumesOptionsBuilder::default().filters(&filters).build();
        let volumes =
            self.docker.list_volumes(Some(options)).await.context(t!("Failed to list volumes"))?;
        Ok(volumes.volumes.unwrap_or_default().into_iter().map(|v| v.name).collect())
    }

    pub async fn remove_volume(&self, name: &str) -> Result<()> {
        self.docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
            .with_context(|| t!("Failed to remove volume {name}", name))
    }

    /// The last `lines` lines a container logged.
    pub async fn logs_tail(&self, id: &str, lines: usize) -> Result<String> {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let mut stream = self.docker.logs(id, Some(options));
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            text.push_str(&chunk.context(t!("Failed to read container logs"))?.to_string());
        }
        Ok(text)
    }

    // ANCHOR: exec
    /// `docker exec` through the API: runs `cmd` in the container, feeding `stdin` if given.
    pub async fn exec(&self, id: &str, cmd: &[&str], stdin: Option<&[u8]>) -> Result<ExecOutput> {
        let options = CreateExecOptions {
            cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
            attach_stdin: Some(stdin.is_some()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let created =
            self.docker.create_exec(id, options).await.context(t!("Failed to create exec"))?;
        let started =
            self.docker.start_exec(&created.id, None).await.context(t!("Failed to start exec"))?;
        let (mut stdout, mut stderr) = (String::new(), String::new());
        if let StartExecResults::Attached { mut output, mut input } = started {
            if let Some(bytes) = stdin {
                input.write_all(bytes).await.context(t!("Failed to write to exec stdin"))?;
                input.shutdown().await.context(t!("Failed to close exec stdin"))?;
            }
            drop(input);
            while let Some(chunk) = output.next().await {
                match chunk.context(t!("Failed to read exec output"))? {
                    bollard::container::LogOutput::StdErr { message } => {
                        stderr.push_str(&String::from_utf8_lossy(&message))
                    }
                    other => stdout.push_str(&String::from_utf8_lossy(&other.into_bytes())),
                }
            }
        }
        let inspect =
            self.docker.inspect_exec(&created.id).await.context(t!("Failed to inspect exec"))?;
        Ok(ExecOutput { exit_code: inspect.exit_code.unwrap_or(-1), stdout, stderr })
    }
    // ANCHOR_END: exec
}

/// The socket path of a `unix://` host whose socket exists but refuses this user.
fn denied_socket(host: &str) -> Option<String> {
    let path = host.strip_prefix("unix://")?;
    #[cfg(unix)]
    {
        let err = std::os::unix::net::UnixStream::connect(path).err()?;
        (err.kind() == std::io::ErrorKind::PermissionDenied).then(|| path.to_string())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Podman reports a container between two restarts of its restart policy as `stopped`, a state Docker's API
/// (and so bollard) does not know: asked again a moment later, it answers with one it does.
async fn past_podman_stopped<T, Ask, Answer>(mut ask: Ask) -> Result<T, bollard::errors::Error>
where
    Ask: FnMut() -> Answer,
    Answer: std::future::Future<Output = Result<T, bollard::errors::Error>>,
{
    for _ in 0..50 {
        match ask().await {
            Err(err) if err.to_string().contains("unknown variant `stopped`") => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await
            }
            answer => return answer,
        }
    }
    ask().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_from_docker_and_podman_words() {
        assert_eq!(State::from_engine(Some("running"), Some(true)), State::Running);
        assert_eq!(State::from_engine(Some("exited"), Some(false)), State::Exited);
        assert_eq!(State::from_engine(Some("stopped"), Some(false)), State::Exited);
        assert_eq!(State::from_engine(Some("configured"), Some(false)), State::Created);
        assert_eq!(State::from_engine(Some("new-word"), Some(true)), State::Running);
        assert_eq!(State::from_engine(None, None), State::Unknown);
        assert!(State::Dead.stopped() && State::Exited.stopped() && !State::Restarting.stopped());
        assert_eq!(State::Restarting.to_string(), "restarting");
    }

    #[test]
    fn health_without_a_check_is_none() {
        assert_eq!(Health::from_engine(Some("healthy")), Health::Healthy);
        assert_eq!(Health::from_engine(Some("")), Health::None);
        assert_eq!(Health::from_engine(None), Health::None);
        assert_eq!(Health::Starting.to_string(), "starting");
    }

    #[test]
    fn an_environment_shows_its_names_never_its_values() {
        let env =
            Env(vec!["S3PROXY_CREDENTIAL=workshop-secret".into(), "EMPTY=".into(), "A=b=c".into()]);
        assert_eq!(format!("{env:?}"), r#"["S3PROXY_CREDENTIAL", "EMPTY", "A"]"#);
    }
}
