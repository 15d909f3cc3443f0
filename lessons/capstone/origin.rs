//! One storage, one source: which folder a storage holds the copies of. Two folders' files of the same
//! name would replace each other's copies there, and check 7 would find the other folder's files missing.
//! Kept beside the lesson's folders (`collect/origins.json`, storage → source); `lesson reset 7` forgets
//! the entry of the storage it empties, and only that one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::storage::StorageUrl;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Origin {
    source: PathBuf,
}

/// How a storage is named here and in the capstone's topic names: a folder as the file system finds it.
pub fn key(storage: &StorageUrl) -> String {
    match storage {
        StorageUrl::Local(folder) => super::resolved(folder).display().to_string(),
        cloud => cloud.to_string(),
    }
}

/// Records that `storage` holds the copies of `source`'s files, or refuses when it holds another's files
/// (`holds_files` asks it; a storage left empty is claimed anew). `reset` is the command that starts
/// lesson 7 over, when it would empty this storage. Events need no such guard: one id names one event, and
/// an id stored with another line is refused wherever it comes from.
pub fn claim(
    file: &Path,
    storage: &StorageUrl,
    source: &Path,
    reset: Option<&str>,
    holds_files: impl FnOnce() -> Result<bool>,
) -> Result<()> {
    let this = Origin { source: super::resolved(source) };
    let _lock = lock(file)?;
    let mut origins = read(file);
    match origins.get(&key(storage)) {
        Some(held) if *held == this => return Ok(()),
        Some(held) if holds_files()? => {
            let (their_source, source) = (held.source.display(), source.display());
            match reset {
                None => bail!(t!(
                    "{storage} holds the copies of {their_source}: the files of {source} would replace those of \
                     the same name there. Store these elsewhere: --storage with another folder, or another prefix \
                     (s3://BUCKET/OTHER).",
                    storage,
                    their_source,
                    source
                )),
                Some(reset) => bail!(t!(
                    "{storage} holds the copies of {their_source}: the files of {source} would replace those of \
                     the same name there. Store these elsewhere (--storage with another folder, or another prefix: \
                     s3://BUCKET/OTHER), or start over with {reset} (it lists what it deletes and asks).",
                    storage,
                    reset,
                    their_source,
                    source
                )),
            }
        }
        _ => {}
    }
    origins.insert(key(storage), this);
    write(file, &origins)
}

/// Forgets which source `storage` held: it was emptied.
pub fn forget(file: &Path, storage: &StorageUrl) -> Result<()> {
    if !file.exists() {
        return Ok(());
    }
    let _lock = lock(file)?;
    let mut origins = read(file);
    if origins.remove(&key(storage)).is_some() {
        write(file, &origins)?;
    }
    Ok(())
}

/// A collector and a sink may start at once: one at a time reads and writes the record.
fn lock(file: &Path) -> Result<std::fs::File> {
    if let Some(folder) = file.parent() {
        std::fs::create_dir_all(folder)
            .with_context(|| t!("Failed to create {path}", path = folder.display()))?;
    }
    // Not truncated: a watching collector would see every claim as a change in the folder it watches.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(file.with_extension("lock"))
        .with_context(|| t!("Failed to create {path}", path = file.display()))?;
    lock.lock().with_context(|| t!("Failed to lock {path}", path = file.display()))?;
    Ok(lock)
}

fn read(file: &Path) -> BTreeMap<String, Origin> {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

fn write(file: &Path, origins: &BTreeMap<String, Origin>) -> Result<()> {
    let tmp = file.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&tmp, serde_json::to_string_pretty(origins)?)
        .and_then(|()| std::fs::rename(&tmp, file))
        .with_context(|| t!("Failed to write {path} (is the disk full?)", path = file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_storage_holds_one_source() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("workshop-origins-{}", std::process::id()));
        let (file, storage) = (dir.join("origins.json"), StorageUrl::Local(dir.join("storage")));
        let (mine, theirs) = (dir.join("mine"), dir.join("theirs"));
        let holds = || Ok(true);
        claim(&file, &storage, &mine, Some(""), holds)?;
        claim(&file, &storage, &mine, Some(""), holds)?;
        let refused = claim(&file, &storage, &theirs, Some(""), holds).err().map(|e| e.to_string());
        assert!(refused.is_some_and(|e| e.contains("holds the copies of")));
        // Left empty, it takes another source; emptied (reset), it is forgotten.
        claim(&file, &storage, &theirs, Some(""), || Ok(false))?;
        forget(&file, &storage)?;
        claim(&file, &storage, &mine, Some(""), holds)?;
        let elsewhere = StorageUrl::S3 { bucket: "b".into(), prefix: "p".into() };
        claim(&file, &elsewhere, &theirs, None, holds)?;
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
