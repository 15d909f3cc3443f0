//! The producer's ledger: one line per record Kafka acknowledged, kept in the learner's `cluster/` folder
//! so that `lesson check 8` can prove each one is still there.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub const FILE: &str = "acknowledged.jsonl";

/// One acknowledged record: where Kafka said it wrote it, in which cluster (a cluster removed with
/// `down -v` and started again has another id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub cluster: String,
    pub partition: i32,
    pub offset: i64,
    pub value: String,
}

pub fn path(cluster_dir: &Path) -> PathBuf {
    cluster_dir.join(FILE)
}

pub struct Ledger {
    file: std::fs::File,
    path: PathBuf,
}

impl Ledger {
    pub fn open(path: &Path) -> Result<Ledger> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| t!("Failed to open {path}", path = path.display()))?;
        Ok(Ledger { file, path: path.to_path_buf() })
    }

    /// Appends the entry as one line, in one write: a line cut short by a crash is no entry.
    pub fn record(&mut self, entry: &Entry) -> Result<()> {
        let mut line = serde_json::to_string(entry)?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .with_context(|| t!("Failed to write {path}", path = self.path.display()))
    }
}

/// Every entry; none when there is no ledger. A last line without its newline was cut short and is skipped;
/// any other line that is not an entry is an error naming it.
pub fn read(path: &Path) -> Result<Vec<Entry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => {
            return Err(err).with_context(|| t!("Failed to read {path}", path = path.display()))
        }
    };
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    complete
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).with_context(|| {
                t!(
                    "Line {line} of {path} is not a record of the lesson's producer. The ledger is the program's: \
                     move it aside and produce again (lesson cluster produce).",
                    line = i + 1,
                    path = path.display()
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_cut_short_is_skipped_and_a_foreign_line_is_named() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("ledger-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = path(&dir);
        let _ = std::fs::remove_file(&path);
        assert!(read(&path)?.is_empty());
        let entry = Entry { cluster: "c".into(), partition: 1, offset: 7, value: "v".into() };
        Ledger::open(&path)?.record(&entry)?;
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)?
            .write_all(b"{\"cluster\":\"c\",\"parti")?;
        assert_eq!(read(&path)?, vec![entry]);
        std::fs::write(&path, "hello\n")?;
        let err = read(&path).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.starts_with("Line 1 of "), "{err}");
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
