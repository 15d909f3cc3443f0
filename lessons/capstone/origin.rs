//! One storage, one source: which folder a storage holds the copies of. Two folders'
//! files of the same name would replace each other's copies there, and check 7 would find the other
//! folder's files missing. Kept in the sink's scratch folder (`origins.json`, storage → source), so
//! `lesson reset 7` forgets it with the rest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::storage::StorageUrl;

const ORIGINS: &str = "origins.json";

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Origin {
    source: PathBuf,
}

/// Records that `storage` holds the copies of `source`'s files, or refuses when it holds another's
/// (`reset`: the command that starts lesson 7 over, when it would empty this storage). Events need no such guard: one id names one event,
/// and an id stored with another line is refused wherever it comes from.
pub fn claim(
    scratch: &Path,
    storage: &StorageUrl,
    source: &Path,
    reset: Option<&str>,
) -> Result<()> {
    let key = match storage {
        StorageUrl::Local(folder) => super::resolved(folder).display().to_string(),
        cloud => cloud.to_string(),
    };
    let this = Origin { source: super::resolved(source) };
    let file = scratch.join(ORIGINS);
    let mut origins: BTreeMap<String, Origin> = std::fs::read_to_string(&file)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    match origins.get(&key) {
        Some(held) if *held == this => return Ok(()),
        Some(held) if reset.is_none() => bail!(t!(
            "{storage} holds the copies of {their_source}: the files of {source} would replace those of the same \
             name there. Store these elsewhere: --storage with another folder, or another prefix \
             (s3://BUCKET/OTHER).",
            storage,
            their_source = held.source.display(),
            source = source.display()
        )),
        Some(held) => bail!(t!(
            "{storage} holds the copies of {their_source}: the files of {source} would replace those of the same \
             name there. Store these elsewhere (--storage with another folder, or another \
             prefix: s3://BUCKET/OTHER), or start over with {reset} (it lists what it deletes and asks).",
            storage,
            reset = reset.unwrap_or_default(),
            their_source = held.source.display(),
            source = source.display()
        )),
        None => {}
    }
    origins.insert(key, this);
    std::fs::create_dir_all(scratch)
        .with_context(|| t!("Failed to create {path}", path = scratch.display()))?;
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&origins)?)
        .and_then(|()| std::fs::rename(&tmp, &file))
        .with_context(|| t!("Failed to write {path} (is the disk full?)", path = file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_storage_holds_one_source() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("workshop-origins-{}", std::process::id()));
        let (scratch, storage) = (dir.join(".sink"), StorageUrl::Local(dir.join("storage")));
        let (mine, theirs) = (dir.join("mine"), dir.join("theirs"));
        claim(&scratch, &storage, &mine, Some(""))?;
        claim(&scratch, &storage, &mine, Some(""))?;
        let refused = claim(&scratch, &storage, &theirs, Some("")).err().map(|e| e.to_string());
        assert!(refused.is_some_and(|e| e.contains("holds the copies of")));
        let elsewhere = StorageUrl::S3 { bucket: "b".into(), prefix: "p".into() };
        claim(&scratch, &elsewhere, &theirs, None)?;
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
