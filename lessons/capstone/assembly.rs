//! Files being rebuilt in the sink's scratch folder. The chunks of a file arrive in order (one key, one
//! partition), so each is appended to `<id>.partial` as it comes, beside `<id>.json`, the file's
//! description: one copy of the file on disk, and its hash computed on the way. A chunk seen before is
//! recognised by the partial's length, so a sink killed at any moment goes on where it stopped.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use super::chunk::{hex, FileMeta};
use super::storage::sha256_of;
use super::CHUNK_SIZE;

/// Where the sink keeps `stored_at`.
const STORED_AT: &str = "stored-at.json";

/// Where a chunk was in its topic, and when it was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
    pub millis: i64,
}

fn read_stored_at(dir: &Path) -> HashMap<String, Position> {
    std::fs::read_to_string(dir.join(STORED_AT))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Appended; more chunks to come.
    Appended,
    /// Seen before (Kafka delivers at least once): nothing to do.
    Replayed,
    /// Every chunk is there, and size and SHA-256 are the collector's: the verified file, ready to store.
    Complete(PathBuf),
    /// A chunk came before the one it follows: `expected` is missing from the topic.
    Gap { expected: u32 },
    /// The chunk's length is not the one its index has in a file of that size.
    WrongLength { got: u64, expected: u64 },
    /// All chunks arrived, but they do not make the file: what was rebuilt is removed.
    Mismatch { size: u64, sha256: String },
}

/// A file whose chunks have not all arrived.
#[derive(Debug)]
pub struct Partial {
    pub meta: FileMeta,
    pub bytes: u64,
}

pub struct Scratch {
    dir: PathBuf,
    /// The running hash of a partial begun by this process, with how many bytes it has seen.
    hashing: HashMap<String, (Sha256, u64)>,
    /// name → where the last chunk of the version last stored was: a chunk of that name at or before it
    /// is a replay of something already handled, or of an older version, and is skipped.
    stored_at: HashMap<String, Position>,
}

impl Scratch {
    pub fn open(dir: &Path) -> Result<Scratch> {
        std::fs::create_dir_all(dir).with_context(|| {
            t!(
                "Failed to create {path}: the sink's scratch folder must be writable",
                path = dir.display()
            )
        })?;
        Ok(Scratch {
            dir: dir.to_path_buf(),
            hashing: HashMap::new(),
            stored_at: read_stored_at(dir),
        })
    }

    /// Is this chunk of `name` at or before the last chunk of the version stored last? Both its offset and
    /// its time must say so: a topic made again (its volume removed) starts its offsets over, not its time.
    pub fn superseded(&self, name: &str, at: Position) -> bool {
        self.stored_at.get(name).is_some_and(|last| {
            last.partition == at.partition && at.offset <= last.offset && at.millis <= last.millis
        })
    }

    /// Remembers where the version of `name` just stored ended. Another sink of the same folder may have
    /// stored other files meanwhile: the file is read again and merged, under a lock.
    pub fn stored(&mut self, name: &str, at: Position) -> Result<()> {
        let lock = std::fs::File::create(self.dir.join(format!("{STORED_AT}.lock")))?;
        lock.lock().context(t!("Failed to lock the sink's record of stored files"))?;
        let mut merged = read_stored_at(&self.dir);
        for (other, position) in &self.stored_at {
            merged.entry(other.clone()).or_insert(*position);
        }
        merged.insert(name.to_string(), at);
        write_atomically(&self.dir.join(STORED_AT), serde_json::to_string(&merged)?.as_bytes())?;
        self.stored_at = merged;
        Ok(())
    }

    fn partial(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.partial"))
    }

    fn description(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    // ANCHOR: add
    pub fn add(&mut self, meta: &FileMeta, index: u32, payload: &[u8]) -> Result<Step> {
        let partial = self.partial(&meta.id);
        let have = match std::fs::metadata(&partial) {
            Ok(found) => Some(found.len()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => {
                return Err(err)
                    .with_context(|| t!("Failed to look at {path}", path = partial.display()))
            }
        };
        let Some(mut have) = have else {
            if index != 0 {
                return Ok(Step::Gap { expected: 0 });
            }
            write_atomically(&self.description(&meta.id), serde_json::to_string(meta)?.as_bytes())?;
            std::fs::File::create(&partial)
                .with_context(|| t!("Failed to create {path}", path = partial.display()))?;
            self.hashing.insert(meta.id.clone(), (Sha256::new(), 0));
            return self.append(meta, index, payload, 0);
        };
        if have == meta.size {
            // Complete before, but not stored: the sink stopped in between.
            return self.finish(meta);
        }
        let appended = have / CHUNK_SIZE as u64;
        if have % CHUNK_SIZE as u64 != 0 {
            // A chunk cut off by a kill: its offset was never stored, so it comes again.
            have = appended * CHUNK_SIZE as u64;
            let file = std::fs::OpenOptions::new().write(true).open(&partial)?;
            file.set_len(have)
                .with_context(|| t!("Failed to repair {path}", path = partial.display()))?;
        }
        match u64::from(index).cmp(&appended) {
            std::cmp::Ordering::Less => Ok(Step::Replayed),
            std::cmp::Ordering::Greater => Ok(Step::Gap { expected: appended as u32 }),
            std::cmp::Ordering::Equal => self.append(meta, index, payload, have),
        }
    }
    // ANCHOR_END: add

    fn append(&mut self, meta: &FileMeta, index: u32, payload: &[u8], have: u64) -> Result<Step> {
        let expected = meta.chunk_len(index);
        if payload.len() as u64 != expected {
            return Ok(Step::WrongLength { got: payload.len() as u64, expected });
        }
        let partial = self.partial(&meta.id);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&partial)
            .with_context(|| t!("Failed to open {path}", path = partial.display()))?;
        file.write_all(payload).with_context(|| {
            t!("Failed to write {path} (is the disk full?)", path = partial.display())
        })?;
        match self.hashing.get_mut(&meta.id) {
            Some((hasher, seen)) if *seen == have => {
                hasher.update(payload);
                *seen += payload.len() as u64;
            }
            _ => {
                self.hashing.remove(&meta.id);
            }
        }
        if have + expected == meta.size {
            file.sync_all().with_context(|| {
                t!("Failed to write {path} (is the disk full?)", path = partial.display())
            })?;
            return self.finish(meta);
        }
        Ok(Step::Appended)
    }

    fn finish(&mut self, meta: &FileMeta) -> Result<Step> {
        let partial = self.partial(&meta.id);
        let size = std::fs::metadata(&partial)?.len();
        let sha256 = match self.hashing.remove(&meta.id) {
            Some((hasher, seen)) if seen == size => hex(&hasher.finalize()),
            _ => sha256_of(&partial)?,
        };
        if size == meta.size && sha256 == meta.sha256 {
            return Ok(Step::Complete(partial));
        }
        self.discard(&meta.id)?;
        Ok(Step::Mismatch { size, sha256 })
    }

    /// Forgets a file: once stored, or once it cannot be.
    pub fn discard(&mut self, id: &str) -> Result<()> {
        self.hashing.remove(id);
        for path in [self.partial(id), self.description(id)] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => {
                    return Err(err)
                        .with_context(|| t!("Failed to remove {path}", path = path.display()))
                }
            }
        }
        Ok(())
    }

    /// Forgets every other version of `name`: a newer one is stored, so they can never be needed.
    pub fn discard_others(&mut self, name: &str, stored_id: &str) -> Result<()> {
        for partial in self.partials()? {
            if partial.meta.name == name && partial.meta.id != stored_id {
                self.discard(&partial.meta.id)?;
            }
        }
        Ok(())
    }

    /// Files begun and not finished, by name.
    pub fn partials(&self) -> Result<Vec<Partial>> {
        partials(&self.dir)
    }
}

/// Files begun in `dir` and not finished, by name; a description left without its file (the sink was
/// stopped between storing a file and forgetting it) is not one.
pub fn partials(dir: &Path) -> Result<Vec<Partial>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(err) => {
            return Err(err).with_context(|| t!("Failed to read {path}", path = dir.display()))
        }
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let Ok(meta) = serde_json::from_str::<FileMeta>(&text) else { continue };
        if let Ok(found) = std::fs::metadata(path.with_extension("partial")) {
            out.push(Partial { meta, bytes: found.len() });
        }
    }
    out.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
    Ok(out)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)
        .with_context(|| t!("Failed to write {path} (is the disk full?)", path = tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| t!("Failed to write {path}", path = path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta_of(bytes: &[u8], name: &str) -> FileMeta {
        let sha256 = hex(&Sha256::digest(bytes));
        FileMeta {
            id: super::super::chunk::id_of(name, &sha256),
            name: name.into(),
            content_type: "application/octet-stream".into(),
            size: bytes.len() as u64,
            sha256,
            chunks: super::super::chunk::chunks_of(bytes.len() as u64),
        }
    }

    fn chunk(bytes: &[u8], index: u32) -> &[u8] {
        let start = index as usize * CHUNK_SIZE;
        &bytes[start..(start + CHUNK_SIZE).min(bytes.len())]
    }

    #[test]
    fn replays_gaps_kills_and_corruption() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("workshop-scratch-{}", std::process::id()));
        let bytes: Vec<u8> = (0..CHUNK_SIZE * 2 + 7).map(|i| (i % 251) as u8).collect();
        let meta = meta_of(&bytes, "clip.mp4");
        let mut scratch = Scratch::open(&dir)?;
        assert_eq!(scratch.add(&meta, 1, chunk(&bytes, 1))?, Step::Gap { expected: 0 });
        assert_eq!(scratch.add(&meta, 0, chunk(&bytes, 0))?, Step::Appended);
        assert_eq!(scratch.add(&meta, 0, chunk(&bytes, 0))?, Step::Replayed);
        assert_eq!(scratch.add(&meta, 2, chunk(&bytes, 2))?, Step::Gap { expected: 1 });
        assert_eq!(
            scratch.add(&meta, 1, &[0; 3])?,
            Step::WrongLength { got: 3, expected: CHUNK_SIZE as u64 }
        );
        // A sink killed while writing chunk 1 left part of it; a new sink starts from the partial alone.
        std::fs::OpenOptions::new()
            .append(true)
            .open(scratch.partial(&meta.id))?
            .write_all(&chunk(&bytes, 1)[..100])?;
        let mut scratch = Scratch::open(&dir)?;
        assert_eq!(
            scratch.partials()?.iter().map(|p| p.bytes).collect::<Vec<_>>(),
            [CHUNK_SIZE as u64 + 100]
        );
        assert_eq!(scratch.add(&meta, 1, chunk(&bytes, 1))?, Step::Appended);
        let Step::Complete(done) = scratch.add(&meta, 2, chunk(&bytes, 2))? else {
            anyhow::bail!("not complete")
        };
        assert_eq!(std::fs::read(&done)?, bytes);
        // Complete but not stored before a kill: any chunk of it finishes it again.
        assert_eq!(scratch.add(&meta, 0, chunk(&bytes, 0))?, Step::Complete(done));

        let mut corrupt = bytes.clone();
        corrupt[5] ^= 1;
        let claims = meta_of(&bytes, "other.mp4");
        for index in 0..2 {
            scratch.add(&claims, index, chunk(&corrupt, index))?;
        }
        assert!(
            matches!(scratch.add(&claims, 2, chunk(&corrupt, 2))?, Step::Mismatch { size, .. } if size == meta.size)
        );
        assert_eq!(
            scratch.partials()?.len(),
            1,
            "the corrupt file is gone, the complete one waits to be stored"
        );
        scratch.discard_others("clip.mp4", "another-id")?;
        assert!(scratch.partials()?.is_empty());
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
