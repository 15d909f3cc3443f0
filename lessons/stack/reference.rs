//! The reference compose file: what `lesson 1 --run` writes, what `lesson doctor` reads images from.

/// The same file as the repository's compose/docker-compose.yml.
pub const REFERENCE: &str = include_str!("../../compose/docker-compose.yml");

/// The KRaft track's file, the same as the repository's compose/kraft/docker-compose.yml.
pub const KRAFT: &str = include_str!("../../compose/kraft/docker-compose.yml");

/// The reference file with every `${NAME:-default}` filled in from the environment, as compose would.
pub fn with_defaults() -> String {
    interpolate_defaults(REFERENCE, |name| std::env::var(name).ok())
}

/// A track's reference file, filled in from the environment like `with_defaults`.
pub fn of_track_with_defaults(track: super::track::Track) -> String {
    interpolate_defaults(track.reference(), |name| std::env::var(name).ok())
}

/// The reference file as it reads with no variable set.
pub fn as_published() -> String {
    interpolate_defaults(REFERENCE, |_| None)
}

/// The `healthcheck:` block of `service` in the reference file `text`, unindented to the service's level.
pub fn healthcheck_in(text: &str, service: &str) -> String {
    let mut lines = text.lines().skip_while(|l| *l != format!("  {service}:")).skip(1);
    let block: Vec<&str> = lines
        .by_ref()
        .take_while(|l| l.starts_with("    ") || l.is_empty())
        .skip_while(|l| l.trim() != "healthcheck:")
        .enumerate()
        .take_while(|(i, l)| *i == 0 || l.starts_with("      "))
        .map(|(_, l)| &l[4..])
        .collect();
    block.join("\n")
}

/// `${NAME:-default}` → the variable's value, else its default (enough for the reference file's images).
pub fn interpolate_defaults(text: &str, var: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(end) = rest[start..].find('}') else { break };
        out.push_str(&rest[..start]);
        let inner = &rest[start + 2..start + end];
        let (name, default) = inner.split_once(":-").unwrap_or((inner, ""));
        out.push_str(&var(name).unwrap_or_else(|| default.to_string()));
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_variables_and_defaults() {
        let var = |name: &str| (name == "SET").then(|| "value".to_string());
        assert_eq!(interpolate_defaults("a ${SET:-x} b ${UNSET:-y} ${UNSET}", var), "a value b y ");
        assert_eq!(interpolate_defaults("no variables", var), "no variables");
        assert_eq!(interpolate_defaults("kept ${OPEN", var), "kept ${OPEN");
    }

    #[test]
    fn health_checks_of_both_services() {
        let kafka = healthcheck_in(REFERENCE, "kafka");
        assert!(
            kafka.starts_with("healthcheck:\n  test: [\"CMD-SHELL\", \"kafka-broker-api-versions"),
            "{kafka}"
        );
        assert!(kafka.ends_with("start_period: 20s"), "{kafka}");
        let zookeeper = healthcheck_in(REFERENCE, "zookeeper");
        assert!(zookeeper.contains("srvr") && !zookeeper.contains("kafka"), "{zookeeper}");
        assert_eq!(healthcheck_in(REFERENCE, "nothing"), "");
    }

    #[test]
    fn the_reference_names_its_pinned_images() {
        let services = crate::stack::compose_file::parse_rendered(&as_published());
        let images: Vec<String> =
            services.map(|s| s.values().map(|s| s.image.clone()).collect()).unwrap_or_default();
        assert_eq!(
            images,
            [
                "mcr.microsoft.com/azure-storage/azurite:3.35.0",
                "confluentinc/cp-kafka:7.9.5",
                "andrewgaul/s3proxy:s3proxy-3.3.0",
                "confluentinc/cp-zookeeper:7.9.5"
            ]
        );
    }
}

#[cfg(test)]
mod cloud_tests {
    use super::*;

    /// Lesson 7's storage servers, as a track's file declares them (services and volumes of profile `cloud`).
    fn cloud_of(text: &str) -> Vec<serde_norway::Value> {
        let file: serde_norway::Value = serde_norway::from_str(text).unwrap_or_default();
        let (services, volumes) = (&file["services"], &file["volumes"]);
        ["s3", "azurite"]
            .into_iter()
            .flat_map(|name| {
                let volume = volumes.get(format!("{name}-data")).is_some();
                [services[name].clone(), serde_norway::Value::Bool(volume)]
            })
            .collect()
    }

    #[test]
    fn both_tracks_have_the_same_storage_servers() {
        let cloud = cloud_of(REFERENCE);
        assert!(cloud[0]["profiles"][0] == "cloud" && cloud[1] == true, "{cloud:?}");
        assert_eq!(cloud, cloud_of(KRAFT));
    }
}

/// Writes the workshop's compose `file` to `path`, unless the learner's file is there and differs: then theirs
/// is kept, the workshop's written beside it as `docker-compose.reference.yml`, and what to say returned.
pub fn write_unless_theirs(path: &std::path::Path, file: &str) -> anyhow::Result<Option<String>> {
    use anyhow::Context as _;
    let write = |path: &std::path::Path, text: &str| {
        std::fs::write(path, text)
            .with_context(|| t!("Failed to write {path}", path = path.display()))
    };
    match std::fs::read_to_string(path) {
        Ok(existing) if existing == file => Ok(None),
        Ok(_) => {
            let reference = path.with_file_name("docker-compose.reference.yml");
            write(&reference, file)?;
            Ok(Some(t!(
                "{path} is yours and differs from the workshop's, so it was left as it is. The workshop's is beside \
                 it: {reference}",
                path = path.display(),
                reference = reference.display()
            )))
        }
        Err(_) => write(path, file).map(|_| None),
    }
}
