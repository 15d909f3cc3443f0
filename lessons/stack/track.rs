//! The two tracks of the lessons: Kafka 3.9 with ZooKeeper, as the assignment asks, or Kafka 4 in KRaft mode,
//! as Kafka runs today. A learner's folder remembers its track in `.lesson/track`.

use std::path::Path;

use anyhow::{Context, Result};

/// Where the learner's folder keeps its track.
const MEMORY: &str = ".lesson/track";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Track {
    /// Kafka 3.9 (Confluent 7.9 images) with ZooKeeper keeping the cluster's metadata.
    #[default]
    #[value(name = "zookeeper")]
    ZooKeeper,
    /// Kafka 4 (the apache/kafka image) with a KRaft controller keeping it.
    #[value(name = "kraft")]
    KRaft,
}

impl Track {
    /// The word the learner types after `--track`.
    pub fn name(self) -> &'static str {
        match self {
            Track::ZooKeeper => "zookeeper",
            Track::KRaft => "kraft",
        }
    }

    /// The track's name in a sentence: "the {title} track".
    pub fn title(self) -> &'static str {
        match self {
            Track::ZooKeeper => "ZooKeeper",
            Track::KRaft => "KRaft",
        }
    }

    /// The two services of lessons 1–6: the keeper of the metadata, then the broker.
    pub fn services(self) -> [&'static str; 2] {
        match self {
            Track::ZooKeeper => ["zookeeper", "kafka"],
            Track::KRaft => ["controller", "kafka"],
        }
    }

    /// A lesson's text on this track: `zookeeper`'s, or `kraft`'s.
    pub fn text(self, zookeeper: &'static str, kraft: &'static str) -> &'static str {
        match self {
            Track::ZooKeeper => zookeeper,
            Track::KRaft => kraft,
        }
    }

    /// The reference compose file `lesson 1 --run` writes.
    pub fn reference(self) -> &'static str {
        match self {
            Track::ZooKeeper => super::reference::REFERENCE,
            Track::KRaft => super::reference::KRAFT,
        }
    }

    /// A Kafka tool as the track's image names it: `kafka-topics` in Confluent's image (on the PATH),
    /// `/opt/kafka/bin/kafka-topics.sh` in Apache's.
    pub fn tool(self, name: &str) -> String {
        match self {
            Track::KRaft if !name.starts_with('/') => format!("/opt/kafka/bin/{name}.sh"),
            _ => name.to_string(),
        }
    }

    /// `(as lesson 5's text writes a tool, as the track's image has it)`, for `markdown::personal`; the lessons
    /// with a KRaft text of their own (1–4, 6) spell the tools there.
    pub fn text_values(self) -> Vec<(String, String)> {
        let tools = ["kafka-console-producer", "kafka-console-consumer"];
        match self {
            Track::ZooKeeper => Vec::new(),
            Track::KRaft => {
                let mut values = self.exec_values("kafka", &tools);
                values.extend(self.tools_after("<container>", &tools));
                values
            }
        }
    }

    /// `(docker compose exec {container} tool, the same with the tool as the track's image names it)` for
    /// each of `tools`, for `markdown::personal`: the cluster lessons' texts, written once for both tracks.
    pub fn exec_values(self, container: &str, tools: &[&str]) -> Vec<(String, String)> {
        self.tools_after(&format!("exec {container}"), tools)
    }

    /// `("{before} tool ", "{before} tool as the track's image names it ")` for each of `tools`.
    fn tools_after(self, before: &str, tools: &[&str]) -> Vec<(String, String)> {
        let value =
            |tool: &str| (format!("{before} {tool} "), format!("{before} {} ", self.tool(tool)));
        tools.iter().map(|tool| value(tool)).collect()
    }

    /// The track `dir` remembers, the ZooKeeper track when it remembers none.
    pub fn remembered(dir: &Path) -> Result<Track> {
        let path = home(dir).join(MEMORY);
        match std::fs::read_to_string(&path) {
            Ok(text) => Track::parse(text.trim()).with_context(|| {
                t!(
                    "{path} says `{text}`, which is no track. Choose one again: lesson --track kraft (or zookeeper)",
                    path = path.display(),
                    text = text.trim()
                )
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Track::default()),
            Err(err) => Err(err).with_context(|| t!("Failed to read {path}", path = path.display())),
        }
    }

    /// Makes `dir` remember this track.
    pub fn remember(self, dir: &Path) -> Result<()> {
        let path = home(dir).join(MEMORY);
        path.parent()
            .map(std::fs::create_dir_all)
            .transpose()
            .and_then(|_| std::fs::write(&path, format!("{}\n", self.name())))
            .with_context(|| t!("Failed to write {path}", path = path.display()))
    }

    fn parse(text: &str) -> Option<Track> {
        [Track::ZooKeeper, Track::KRaft].into_iter().find(|t| t.name() == text)
    }

    /// The track a compose file was written for, when its services say: a `zookeeper` service, or a
    /// `controller` one (or a node with KRaft roles) and no ZooKeeper.
    pub fn of_file(text: &str) -> Option<Track> {
        let yaml: serde_norway::Value = serde_norway::from_str(text).ok()?;
        let services = yaml.get("services")?.as_mapping()?;
        let named = |name: &str| services.contains_key(name);
        if named("zookeeper") {
            Some(Track::ZooKeeper)
        } else if named("controller") || text.contains("KAFKA_PROCESS_ROLES") {
            Some(Track::KRaft)
        } else {
            None
        }
    }

    /// What to tell a learner whose folder moves to this track from `before`: where the choice is kept,
    /// and what to do when the compose file there is the other track's.
    pub fn switched(self, before: Option<Track>, dir: &Path) -> String {
        let dir = home(dir);
        let before = before.unwrap_or(match self {
            Track::ZooKeeper => Track::KRaft,
            Track::KRaft => Track::ZooKeeper,
        });
        let now = match self {
            Track::ZooKeeper => {
                t!("This folder is on the ZooKeeper track now (Kafka 3.9 with ZooKeeper).")
            }
            Track::KRaft => t!("This folder is on the KRaft track now (Kafka 4, no ZooKeeper)."),
        };
        let mut said = t!(
            "{now} Every lesson remembers it ({memory}); back with: lesson --track {before}",
            now,
            memory = MEMORY,
            before = before.name()
        );
        let cluster = dir.join("cluster").join(super::config::COMPOSE_FILE);
        if Track::of_file(&std::fs::read_to_string(cluster).unwrap_or_default()) == Some(before) {
            said += "\n";
            said += &t!(
                "Your cluster/ holds the {before} track's cluster (lessons 8 and 9): lesson 8 will say how to set it \
                 aside, keeping its data.",
                before = before.name()
            );
        }
        let file = dir.join(super::config::COMPOSE_FILE);
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if Track::of_file(&text) == Some(before) {
            said += "\n";
            said += &t!(
                "Your docker-compose.yml is the {before} track's. To move over, keeping it and its data:\n  \
                 docker compose down                             (stops that stack; its volumes stay)\n  \
                 mv docker-compose.yml docker-compose.{before}.yml",
                before = before.name()
            );
            said += "\n  ";
            let kept = format!("docker-compose.{}.yml", self.name());
            said += &if dir.join(&kept).exists() {
                t!(
                    "mv {kept} docker-compose.yml    (your {now} track's file, as you left it)",
                    kept,
                    now = self.name()
                )
            } else {
                t!(
                    "lesson 1 --run                                  (writes the {now} track's file)",
                    now = self.name()
                )
            };
        }
        said
    }
}

/// The folder that keeps the track: the learner's, also when a command is typed in its `cluster/`.
fn home(dir: &Path) -> &Path {
    match dir.parent() {
        Some(parent) if crate::cluster::stack::is_cluster_folder(dir) => parent,
        _ => dir,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_remembers_its_track() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("workshop-track-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        assert_eq!(Track::remembered(&dir)?, Track::ZooKeeper);
        Track::KRaft.remember(&dir)?;
        assert_eq!(Track::remembered(&dir)?, Track::KRaft);
        std::fs::write(dir.join(MEMORY), "craft\n")?;
        let err = Track::remembered(&dir).err().map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(err.contains("`craft`, which is no track"), "{err}");
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn each_reference_file_is_its_tracks() {
        for track in [Track::ZooKeeper, Track::KRaft] {
            assert_eq!(Track::of_file(track.reference()), Some(track));
        }
        assert_eq!(Track::of_file("services:\n  kafka:\n    image: x\n"), None);
        assert_eq!(Track::of_file("not: [yaml"), None);
    }

    /// Every tool lesson 5's text types in the container is one whose path the KRaft track rewrites.
    #[test]
    fn the_kraft_track_rewrites_every_tool_the_texts_type() {
        let texts = [crate::basics::l05_produce_consume::TEXT];
        let values = Track::KRaft.text_values();
        for text in texts {
            let kraft = crate::ui::markdown::personal(text, &values);
            for command in crate::ui::markdown::commands(&kraft) {
                if let Some(rest) = command.strip_prefix("docker compose exec kafka ") {
                    assert!(rest.starts_with("/opt/kafka/bin/"), "{command}");
                }
            }
        }
    }

    #[test]
    fn tools_are_where_each_image_has_them() {
        assert_eq!(Track::ZooKeeper.tool("kafka-topics"), "kafka-topics");
        assert_eq!(Track::KRaft.tool("kafka-topics"), "/opt/kafka/bin/kafka-topics.sh");
        assert_eq!(
            Track::KRaft.tool("/opt/kafka/bin/kafka-topics.sh"),
            "/opt/kafka/bin/kafka-topics.sh"
        );
    }
}
