//! The learner's compose file as compose itself renders it (`compose config`: variables filled in),
//! reduced to what the lessons check: services, images, environment, published ports and volumes.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde_norway::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    pub host_ip: String,
    pub published: u16,
    pub target: u16,
}

#[derive(Clone, Debug, Default)]
pub struct Service {
    pub image: String,
    pub environment: BTreeMap<String, String>,
    pub ports: Vec<Port>,
    pub volumes: Vec<String>,
    /// A health check that runs: defined, not `disable: true`, not `test: [NONE]`.
    pub healthcheck: bool,
}

impl Service {
    pub fn env(&self, name: &str) -> Option<&str> {
        self.environment.get(name).map(String::as_str)
    }

    pub fn published(&self, target: u16) -> Option<&Port> {
        self.ports.iter().find(|p| p.target == target)
    }
}

/// Checks only the YAML syntax, with the line and column of the first error.
pub fn check_yaml(text: &str) -> Result<(), String> {
    serde_norway::from_str::<Value>(text).map(|_| ()).map_err(|err| err.to_string())
}

/// Parses `compose config` output, v1 (short port strings, env maps) and v2 (long port maps) alike.
pub fn parse_rendered(text: &str) -> Result<BTreeMap<String, Service>> {
    let mut root: Value =
        serde_norway::from_str(text).context(t!("Failed to parse the rendered compose file"))?;
    // `compose config` renders merge keys (`<<: *kraft`) already; a file read as it is written has them.
    root.apply_merge().context(t!("Failed to parse the rendered compose file"))?;
    let mut services = BTreeMap::new();
    let Some(map) = root.get("services").and_then(Value::as_mapping) else { return Ok(services) };
    for (name, body) in map {
        let name = scalar(name);
        let service = Service {
            image: body.get("image").map(scalar).unwrap_or_default(),
            environment: environment(body.get("environment")),
            ports: body
                .get("ports")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(port)
                .collect(),
            volumes: body
                .get("volumes")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .map(|v| match v.get("source") {
                    Some(source) => format!(
                        "{}:{}",
                        scalar(source),
                        v.get("target").map(scalar).unwrap_or_default()
                    ),
                    None => scalar(v),
                })
                .collect(),
            healthcheck: body.get("healthcheck").is_some_and(healthcheck_runs),
        };
        services.insert(name, service);
    }
    Ok(services)
}

fn healthcheck_runs(check: &Value) -> bool {
    let disabled = check.get("disable").is_some_and(|d| scalar(d) == "true");
    let test = check.get("test").map(|t| match t.as_sequence() {
        Some(items) => items.first().map(scalar).unwrap_or_default(),
        None => scalar(t),
    });
    !disabled && test.is_some_and(|t| !t.is_empty() && t != "NONE")
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => serde_norway::to_string(other).unwrap_or_default().trim().to_string(),
    }
}

fn environment(value: Option<&Value>) -> BTreeMap<String, String> {
    match value {
        Some(Value::Mapping(map)) => map.iter().map(|(k, v)| (scalar(k), scalar(v))).collect(),
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|item| {
                scalar(item).split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// `127.0.0.1:9092:9092/tcp`, `9092:9092`, or `{host_ip, published, target}`.
fn port(value: &Value) -> Option<Port> {
    if value.is_mapping() {
        return Some(Port {
            host_ip: value.get("host_ip").map(scalar).unwrap_or_default(),
            published: value.get("published").map(scalar)?.parse().ok()?,
            target: value.get("target").map(scalar)?.parse().ok()?,
        });
    }
    let text = scalar(value);
    let text = text.split('/').next()?;
    let parts: Vec<&str> = text.rsplitn(3, ':').collect();
    match parts.as_slice() {
        [target, published, host_ip] => Some(Port {
            host_ip: host_ip.to_string(),
            published: published.parse().ok()?,
            target: target.parse().ok()?,
        }),
        [target, published] => Some(Port {
            host_ip: String::new(),
            published: published.parse().ok()?,
            target: target.parse().ok()?,
        }),
        _ => None,
    }
}

/// `EXTERNAL://localhost:9092,INTERNAL://kafka:29092` → [("EXTERNAL", "localhost", 9092), ...]
pub fn listeners(value: &str) -> Vec<(String, String, u16)> {
    value
        .split(',')
        .filter_map(|l| {
            let (name, rest) = l.trim().split_once("://")?;
            let (host, port) = rest.rsplit_once(':')?;
            Some((name.to_string(), host.to_string(), port.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_in_short_and_long_form() {
        let rendered =
            "services:\n  s:\n    image: i\n    ports:\n      - \"127.0.0.1:9092:9092/tcp\"\n      - 2181:2181\n      \
                        - {host_ip: 127.0.0.1, published: \"19092\", target: 9092}\n      - \"not a port\"\n";
        let services = parse_rendered(rendered).unwrap_or_default();
        let ports = &services["s"].ports;
        assert_eq!(ports.len(), 3);
        assert_eq!(ports[0], Port { host_ip: "127.0.0.1".into(), published: 9092, target: 9092 });
        assert_eq!(ports[1], Port { host_ip: String::new(), published: 2181, target: 2181 });
        assert_eq!(services["s"].published(9092).map(|p| p.published), Some(9092));
    }

    #[test]
    fn environment_as_map_or_list_and_volumes_in_both_forms() {
        let rendered = "services:\n  a:\n    environment: {X: 1, Y: \"two\"}\n    volumes: [\"d:/data\"]\n  \
                        b:\n    environment: [\"X=1\", \"Y=a=b\"]\n    volumes: [{source: d, target: /data}]\n";
        let services = parse_rendered(rendered).unwrap_or_default();
        assert_eq!(services["a"].env("X"), Some("1"));
        assert_eq!(services["a"].env("Y"), Some("two"));
        assert_eq!(services["b"].env("Y"), Some("a=b"));
        assert_eq!(services["a"].volumes, services["b"].volumes);
        assert!(parse_rendered("no services here: 1").is_ok_and(|s| s.is_empty()));
    }

    #[test]
    fn a_health_check_counts_only_when_it_runs() {
        let rendered = "services:\n  a:\n    healthcheck: {test: [CMD-SHELL, \"true\"]}\n  b:\n    image: i\n  \
                        c:\n    healthcheck: {disable: true}\n  d:\n    healthcheck: {test: [NONE]}\n  \
                        e:\n    healthcheck: {test: \"exit 0\", interval: 5s}\n";
        let services = parse_rendered(rendered).unwrap_or_default();
        let runs: Vec<bool> = services.values().map(|s| s.healthcheck).collect();
        assert_eq!(runs, [true, false, false, false, true]);
    }

    #[test]
    fn listeners_and_yaml_errors() {
        assert_eq!(
            listeners("INTERNAL://kafka:29092, EXTERNAL://localhost:9092,broken,X://h:notaport"),
            [
                ("INTERNAL".into(), "kafka".into(), 29092),
                ("EXTERNAL".into(), "localhost".into(), 9092)
            ]
        );
        let err =
            check_yaml("services:\n  kafka:\n    image: [unclosed\n").err().unwrap_or_default();
        assert!(err.contains("line"), "{err}");
    }

    /// What learners run, every file of compose/ (not the stand-ins CI builds): every published port on
    /// 127.0.0.1 only, every image pinned to a version, never the engine's socket.
    #[test]
    fn every_compose_file_a_learner_runs_keeps_the_rules() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("compose");
        let mut files = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() && path != root.join("standin") {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "yml") {
                    files.push(path);
                }
            }
        }
        assert!(files.len() >= 9, "compose/ has {} files", files.len());
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let name = file.display();
            assert!(check_yaml(&text).is_ok(), "{name}: {:?}", check_yaml(&text));
            assert!(!text.contains("docker.sock"), "{name} mounts the engine's socket");
            let mut in_ports = false;
            for line in text.lines() {
                let item = line.trim_start();
                if item.starts_with("ports:") {
                    in_ports = true;
                } else if in_ports && item.starts_with("- ") {
                    assert!(
                        item.starts_with("- \"127.0.0.1:"),
                        "{name}: {line} is not on 127.0.0.1"
                    );
                } else {
                    in_ports = false;
                }
                if let Some(image) = item.strip_prefix("image: ") {
                    let public = image.rsplit(":-").next().unwrap_or(image).trim_end_matches('}');
                    let tag = public.rsplit_once(':').map(|(_, tag)| tag).unwrap_or_default();
                    let pinned =
                        tag.contains(|c: char| c.is_ascii_digit()) && !tag.contains("latest");
                    assert!(pinned, "{name}: {image} is not pinned to a version");
                }
            }
        }
    }
}
