//! Storage in a local folder: `root/files/<name>` and `root/events.jsonl`, written with renames and a file lock.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::super::chunk::FileMeta;
use super::super::events::{parse_event, Event};
use super::{sha256_of, Appended, Conflict, Known, Storage, Stored};

/// `root/files/<name>` and `root/events.jsonl`.
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    /// The store at `root`, to read: nothing is created.
    pub fn at(root: &Path) -> LocalDir {
        LocalDir { root: root.to_path_buf() }
    }

    /// The store at `root`, to write: its folders are created, and a line half-appended by a killed
    /// sink is cut off.
    pub fn open(root: &Path) -> Result<LocalDir> {
        let store = LocalDir::at(root);
        let files = store.root.join("files");
        std::fs::create_dir_all(&files).with_context(|| {
            t!(
                "Failed to create {path}: the storage folder must be a writable folder",
                path = files.display()
            )
        })?;
        store.repair_events()?;
        Ok(store)
    }

    fn events_path(&self) -> PathBuf {
        self.root.join("events.jsonl")
    }

    fn repair_events(&self) -> Result<()> {
        let path = self.events_path();
        let Ok(text) = std::fs::read(&path) else { return Ok(()) };
        if !text.is_empty() && !text.ends_with(b"\n") {
            let keep = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            let file = std::fs::OpenOptions::new().write(true).open(&path)?;
            file.set_len(keep as u64)
                .with_context(|| t!("Failed to repair {path}", path = path.display()))?;
        }
        Ok(())
    }

    fn file_path(&self, name: &str) -> Result<PathBuf> {
        if !super::super::source::is_clean_name(name) {
            bail!(t!("`{name}` is not a relative path inside the collected folder", name));
        }
        Ok(self.root.join("files").join(name))
    }

    /// Fails with a `Conflict` when a file of storage stands where `name` needs a folder, or a folder where
    /// it needs a file.
    fn conflict(&self, name: &str) -> Result<()> {
        let mut at = self.root.join("files");
        let parts: Vec<&str> = name.split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            at.push(part);
            let Ok(found) = std::fs::symlink_metadata(&at) else { return Ok(()) };
            let shown = format!("{}/files/{}", self.location(), parts[..=i].join("/"));
            if i + 1 < parts.len() && !found.is_dir() {
                bail!(Conflict(t!(
                    "storage holds the file {shown}, where {name} needs a folder: move that file away (or rename \
                     the source folder), then run the collector again",
                    shown,
                    name
                )));
            }
            if i + 1 == parts.len() && found.is_dir() {
                bail!(Conflict(t!(
                    "storage holds a folder {shown}, where the file {name} goes: move that folder away (or rename \
                     the source file), then run the collector again",
                    shown,
                    name
                )));
            }
        }
        Ok(())
    }

    /// A copy for when `verified` is on another filesystem: written beside storage, then renamed.
    fn copy_in(&self, meta: &FileMeta, verified: &Path, path: &Path) -> Result<()> {
        let incoming = self.root.join(".incoming");
        std::fs::create_dir_all(&incoming)
            .with_context(|| t!("Failed to create {path}", path = incoming.display()))?;
        let tmp = incoming.join(&meta.id);
        let copied = std::fs::copy(verified, &tmp)
            .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(err) = copied {
            std::fs::remove_file(&tmp).ok();
            return Err(err).with_context(|| {
                t!(
                    "Failed to copy {name} into {storage} (is the disk full?)",
                    name = meta.name,
                    storage = self.location()
                )
            });
        }
        Ok(())
    }
}

impl Storage for LocalDir {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn stored(&self, name: &str) -> Result<Option<Stored>> {
        let path = self.file_path(name)?;
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => {
                Ok(Some(Stored { size: meta.len(), sha256: sha256_of(&path)? }))
            }
            Ok(_) => Ok(None),
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(None)
            }
            Err(err) => {
                Err(err).with_context(|| t!("Failed to look at {path}", path = path.display()))
            }
        }
    }

    fn stamp(&self, name: &str) -> Result<Option<String>> {
        let path = self.file_path(name)?;
        match std::fs::symlink_metadata(&path) {
            Ok(found) if found.is_file() => {
                let modified = found
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
                Ok(Some(format!("{} {}", found.len(), modified.map_or(0, |d| d.as_nanos()))))
            }
            _ => Ok(None),
        }
    }

    fn put(&self, meta: &FileMeta, verified: &Path) -> Result<()> {
        let path = self.file_path(&meta.name)?;
        self.conflict(&meta.name)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| t!("Failed to create {path}", path = parent.display()))?;
        }
        if std::fs::rename(verified, &path).is_err() {
            self.copy_in(meta, verified, &path)?;
            std::fs::remove_file(verified).ok();
        }
        Ok(())
    }

    fn append_events(&self, events: &[Event], known: &mut Known) -> Result<Appended> {
        use std::io::{Read, Seek};
        // Storage may have been removed while the sink ran: it is made again, and read from the start.
        std::fs::create_dir_all(&self.root)
            .with_context(|| t!("Failed to create {path}", path = self.location()))?;
        let path = self.events_path();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .with_context(|| t!("Failed to open {path}", path = path.display()))?;
        // Held until `file` is dropped: another sink appending meanwhile waits.
        file.lock().with_context(|| t!("Failed to lock {path}", path = path.display()))?;
        let len = file.metadata()?.len();
        if len < known.cursor {
            // Cut or removed by someone: read it again from the start.
            *known = Known::default();
        }
        if len > known.cursor {
            file.seek(std::io::SeekFrom::Start(known.cursor))?;
            let mut bytes = Vec::new();
            Read::by_ref(&mut file).take(len - known.cursor).read_to_end(&mut bytes)?;
            let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            for line in String::from_utf8_lossy(&bytes[..whole]).lines() {
                if let Ok(id) = parse_event(line) {
                    known.events.entry(id).or_insert_with(|| line.trim_end().to_string());
                }
            }
            known.cursor += whole as u64;
        }
        let mut appended = Appended::default();
        let mut text = String::new();
        for event in events {
            match known.events.get(&event.id) {
                Some(line) if *line == event.line => {}
                Some(_) => appended.conflicts.push(event.clone()),
                None => {
                    text.push_str(&event.line);
                    text.push('\n');
                    known.events.insert(event.id.clone(), event.line.clone());
                    appended.stored += 1;
                }
            }
        }
        if text.is_empty() {
            return Ok(appended);
        }
        let written = file.write_all(text.as_bytes()).and_then(|()| file.sync_data());
        if let Err(err) = written {
            drop(file);
            // Whatever part of the batch reached the disk is cut off again: no half line stays.
            self.repair_events()?;
            *known = Known::default();
            return Err(err).with_context(|| {
                t!("Failed to append to {path} (is the disk full?)", path = path.display())
            });
        }
        known.cursor = len + text.len() as u64;
        Ok(appended)
    }

    fn events(&self) -> Result<Vec<Event>> {
        let path = self.events_path();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => {
                return Err(err).with_context(|| t!("Failed to read {path}", path = path.display()))
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        Ok(text
            .lines()
            .filter_map(|line| {
                Some(Event { id: parse_event(line).ok()?, line: line.trim_end().to_string() })
            })
            .collect())
    }

    fn files(&self) -> Result<Vec<(String, Stored)>> {
        let scan = super::super::source::scan(&self.root.join("files"));
        if let Some((what, why)) = scan.refused.first() {
            bail!(t!(
                "{storage} holds {what}, which the sink never writes: {why}",
                storage = self.location(),
                what,
                why
            ));
        }
        scan.files
            .into_iter()
            .map(|(name, path)| {
                let size = std::fs::metadata(&path)
                    .with_context(|| t!("Failed to read {path}", path = path.display()))?
                    .len();
                Ok((name, Stored { size, sha256: sha256_of(&path)? }))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
