//! Where collected data ends up. `Storage` is what the sink needs; `LocalDir` is the default, and an
//! S3-compatible store can implement the same trait.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use super::chunk::hex;

// ANCHOR: storage_trait
pub trait Storage: Send + Sync {
    /// A local directory on the same filesystem as the store, for spooling chunks and assembling files.
    fn scratch(&self) -> &Path;
    /// Is `name` stored with exactly this content?
    fn contains(&self, name: &str, sha256: &str) -> Result<bool>;
    /// Moves a complete, verified file into the store under `name`, atomically.
    fn put(&self, name: &str, verified: &Path) -> Result<()>;
    /// Appends whole event lines; a line is never stored half.
    fn append_events(&self, lines: &[String]) -> Result<()>;
    /// The ids of the events stored so far.
    fn event_ids(&self) -> Result<HashSet<String>>;
    /// Every stored file: (name, size, sha256).
    fn files(&self) -> Result<Vec<(String, u64, String)>>;
}
// ANCHOR_END: storage_trait

/// `root/files/<name>`, `root/events.jsonl`, and `root/.work/` for what is not complete yet.
pub struct LocalDir {
    root: PathBuf,
    scratch: PathBuf,
}

impl LocalDir {
    pub fn open(root: &Path) -> Result<LocalDir> {
        let scratch = root.join(".work");
        for dir in [root.join("files"), scratch.clone()] {
            std::fs::create_dir_all(&dir).with_context(|| {
                format!("Failed to create {}: the storage directory must be writable", dir.display())
            })?;
        }
        let store = LocalDir { root: root.to_path_buf(), scratch };
        store.repair_events()?;
        Ok(store)
    }

    fn events_path(&self) -> PathBuf {
        self.root.join("events.jsonl")
    }

    /// A process killed mid-append can leave a last line without its newline: cut it off.
    fn repair_events(&self) -> Result<()> {
        let path = self.events_path();
        let Ok(text) = std::fs::read(&path) else { return Ok(()) };
        if !text.is_empty() && !text.ends_with(b"\n") {
            let keep = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            let file = std::fs::OpenOptions::new().write(true).open(&path)?;
            file.set_len(keep as u64).with_context(|| format!("Failed to repair {}", path.display()))?;
        }
        Ok(())
    }

    fn file_path(&self, name: &str) -> Result<PathBuf> {
        let relative = Path::new(name);
        if relative.components().any(|c| !matches!(c, Component::Normal(_))) {
            bail!("`{name}` is not a relative path inside the collected directory");
        }
        Ok(self.root.join("files").join(relative))
    }
}

impl Storage for LocalDir {
    fn scratch(&self) -> &Path {
        &self.scratch
    }

    fn contains(&self, name: &str, sha256: &str) -> Result<bool> {
        let path = self.file_path(name)?;
        Ok(path.exists() && sha256_of(&path)? == sha256)
    }

    fn put(&self, name: &str, verified: &Path) -> Result<()> {
        let path = self.file_path(name)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("Failed to create {}", parent.display()))?;
        }
        std::fs::rename(verified, &path).with_context(|| format!("Failed to move {name} into storage"))
    }

    fn append_events(&self, lines: &[String]) -> Result<()> {
        let mut text = String::new();
        for line in lines {
            text.push_str(line.trim_end());
            text.push('\n');
        }
        let path = self.events_path();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("Failed to open {}", path.display()))?;
        file.write_all(text.as_bytes()).with_context(|| format!("Failed to append to {}", path.display()))?;
        file.sync_data().with_context(|| format!("Failed to flush {}", path.display()))
    }

    fn event_ids(&self) -> Result<HashSet<String>> {
        let Ok(text) = std::fs::read_to_string(self.events_path()) else { return Ok(HashSet::new()) };
        Ok(text.lines().filter_map(event_id).collect())
    }

    fn files(&self) -> Result<Vec<(String, u64, String)>> {
        let base = self.root.join("files");
        let mut out = Vec::new();
        for (name, path) in walk(&base)? {
            let size = std::fs::metadata(&path)?.len();
            out.push((name, size, sha256_of(&path)?));
        }
        Ok(out)
    }
}

pub fn event_id(line: &str) -> Option<String> {
    parse_event(line).ok()
}

/// The contract of an event: one JSON object per line, with an `id` (a string or a number) that names it.
/// Returns the id, or what is wrong with the line.
pub fn parse_event(line: &str) -> Result<String, String> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|err| format!("not valid JSON ({err})"))?;
    let object = value.as_object().ok_or("valid JSON, but not an object {…}")?;
    match object.get("id") {
        Some(serde_json::Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        Some(serde_json::Value::Number(id)) => Ok(id.to_string()),
        Some(_) => Err("an object whose `id` is not a string or a number".into()),
        None => Err("an object without an `id`".into()),
    }
}

pub fn sha256_of(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).with_context(|| format!("Failed to open {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("Failed to read {}", path.display()))?;
    Ok(hex(&hasher.finalize()))
}

/// Every regular file below `base`, as (relative name with `/`, path), sorted by name.
pub fn walk(base: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut pending = vec![base.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).with_context(|| format!("Failed to read {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.is_file() {
                let relative = path.strip_prefix(base).unwrap_or(&path);
                let name = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                out.push((name, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_follow_the_contract() {
        assert_eq!(parse_event(r#"{"id":"a-1","kind":"click"}"#), Ok("a-1".to_string()));
        assert_eq!(parse_event(r#"{"id":42}"#), Ok("42".to_string()));
        assert_eq!(parse_event(r#"{"kind":"click"}"#), Err("an object without an `id`".to_string()));
        assert_eq!(parse_event(r#"[1,2]"#), Err("valid JSON, but not an object {…}".to_string()));
        assert_eq!(parse_event(r#"{"id":null}"#), Err("an object whose `id` is not a string or a number".to_string()));
        assert!(parse_event("{not json").is_err_and(|e| e.starts_with("not valid JSON")));
    }

    #[test]
    fn names_stay_inside_the_store() -> Result<()> {
        let root = std::env::temp_dir().join(format!("workshop-store-{}", std::process::id()));
        let store = LocalDir::open(&root)?;
        assert!(store.file_path("office/notes.docx").is_ok());
        for bad in ["../escape", "/etc/passwd", "a/../../b"] {
            assert!(store.file_path(bad).is_err(), "{bad}");
        }
        std::fs::remove_dir_all(&root)?;
        Ok(())
    }
}
