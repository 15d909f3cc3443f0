//! How a file travels: chunks keyed by the file's name (so one partition keeps every version in order), each with
//! headers that describe the whole file.

use std::io::Read;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use sha2::{Digest, Sha256};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileMeta {
    pub id: String,
    /// The path relative to the collected directory, with `/` separators.
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub chunks: u32,
}

impl FileMeta {
    /// Reads the file once for its size, hash and type; the id depends on name and content only.
    pub fn of(path: &Path, name: &str) -> Result<FileMeta> {
        FileMeta::hashed(open(path)?, path, name, Vec::new())
    }

    /// As `of`, and a file of at most `keep_up_to` bytes is kept in memory: its chunks are then the very
    /// bytes hashed, and it is not read a second time. A file that grows past `keep_up_to` while it is read
    /// is not kept.
    pub fn read(path: &Path, name: &str, keep_up_to: u64) -> Result<(FileMeta, Option<Vec<u8>>)> {
        let mut file = open(path)?;
        let size = file.metadata().map_or(u64::MAX, |m| m.len());
        if size > keep_up_to {
            return Ok((FileMeta::hashed(file, path, name, Vec::new())?, None));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        (&mut file)
            .take(keep_up_to.saturating_add(1))
            .read_to_end(&mut bytes)
            .with_context(|| t!("Failed to read {path}", path = path.display()))?;
        if bytes.len() as u64 > keep_up_to {
            return Ok((FileMeta::hashed(file, path, name, bytes)?, None));
        }
        let head = &bytes[..bytes.len().min(8192)];
        let meta = FileMeta::made(name, head, bytes.len() as u64, &hex(&Sha256::digest(&bytes)));
        Ok((meta, Some(bytes)))
    }

    /// Hashes `start`, the first bytes of the file already read, then the rest of `file`.
    fn hashed(
        mut file: std::fs::File,
        path: &Path,
        name: &str,
        start: Vec<u8>,
    ) -> Result<FileMeta> {
        let mut hasher = Sha256::new();
        hasher.update(&start);
        let mut head = start[..start.len().min(8192)].to_vec();
        let mut size = start.len() as u64;
        drop(start);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file
                .read(&mut buf)
                .with_context(|| t!("Failed to read {path}", path = path.display()))?;
            if n == 0 {
                break;
            }
            if head.len() < 8192 {
                head.extend_from_slice(&buf[..n.min(8192 - head.len())]);
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        Ok(FileMeta::made(name, &head, size, &hex(&hasher.finalize())))
    }

    fn made(name: &str, head: &[u8], size: u64, sha256: &str) -> FileMeta {
        FileMeta {
            id: id_of(name, sha256),
            name: name.to_string(),
            content_type: content_type(head),
            size,
            sha256: sha256.to_string(),
            chunks: chunks_of(size),
        }
    }

    // ANCHOR: headers
    pub fn headers(&self, index: u32) -> OwnedHeaders {
        let size = self.size.to_string();
        let (index, count) = (index.to_string(), self.chunks.to_string());
        [
            ("file-id", self.id.as_str()),
            ("name", &self.name),
            ("content-type", &self.content_type),
            ("size", &size),
            ("sha256", &self.sha256),
            ("chunk-index", &index),
            ("chunk-count", &count),
        ]
        .into_iter()
        .fold(OwnedHeaders::new(), |h, (key, value)| h.insert(Header { key, value: Some(value) }))
    }
    // ANCHOR_END: headers

    /// The file's description and the chunk's index, from a message's headers. Headers the collector
    /// could not have written are refused: the sink uses the id and name as paths.
    pub fn from_headers<H: Headers>(headers: Option<&H>) -> Result<(FileMeta, u32)> {
        let Some(headers) = headers else { bail!(t!("a chunk without headers")) };
        let get = |key: &str| -> Result<String> {
            let value = headers
                .iter()
                .find(|h| h.key == key)
                .and_then(|h| h.value)
                .with_context(|| t!("a chunk without the `{key}` header", key))?;
            String::from_utf8(value.to_vec())
                .map_err(|_| anyhow!(t!("a `{key}` header that is not UTF-8", key)))
        };
        let number = |key: &str| -> Result<u64> {
            get(key)?.parse().with_context(|| t!("a bad `{key}` header", key))
        };
        let meta = FileMeta {
            id: get("file-id")?,
            name: get("name")?,
            content_type: get("content-type")?,
            size: number("size")?,
            sha256: get("sha256")?,
            chunks: u32::try_from(number("chunk-count")?)
                .with_context(|| t!("a bad `{key}` header", key = "chunk-count"))?,
        };
        let index = u32::try_from(number("chunk-index")?)
            .with_context(|| t!("a bad `{key}` header", key = "chunk-index"))?;
        if !super::source::is_clean_name(&meta.name) {
            bail!(t!(
                "the name `{name}` is not a relative path inside the collected folder",
                name = meta.name
            ));
        }
        if meta.sha256.len() != 64
            || !meta.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            bail!(t!("a bad `{key}` header", key = "sha256"));
        }
        if meta.id != id_of(&meta.name, &meta.sha256) {
            bail!(t!("a `file-id` that is not the one of its name and SHA-256"));
        }
        if meta.chunks != chunks_of(meta.size) {
            bail!(t!(
                "{chunks} chunks for {size} bytes, where the collector sends {expected}",
                chunks = meta.chunks,
                size = meta.size,
                expected = chunks_of(meta.size)
            ));
        }
        if index >= meta.chunks {
            bail!(t!("chunk {index} of a file of {chunks} chunks", index, chunks = meta.chunks));
        }
        Ok((meta, index))
    }

    /// How many bytes chunk `index` carries.
    pub fn chunk_len(&self, index: u32) -> u64 {
        let start = u64::from(index) * super::CHUNK_SIZE as u64;
        self.size.saturating_sub(start).min(super::CHUNK_SIZE as u64)
    }
}

/// A file's id: the same name and content always give the same id, any change a new one.
pub fn id_of(name: &str, sha256: &str) -> String {
    hex(&Sha256::digest(format!("{name}\n{sha256}")))[..32].to_string()
}

pub fn chunks_of(size: u64) -> u32 {
    u32::try_from(size.div_ceil(super::CHUNK_SIZE as u64).max(1)).unwrap_or(u32::MAX)
}

/// The type the bytes say, not the file name: `application/pdf`, `image/png`, … (infer's magic numbers).
pub fn content_type(head: &[u8]) -> String {
    match infer::get(head) {
        Some(kind) => kind.mime_type().to_string(),
        None if std::str::from_utf8(head).is_ok() => "text/plain".to_string(),
        None => "application/octet-stream".to_string(),
    }
}

fn open(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).with_context(|| t!("Failed to open {path}", path = path.display()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> FileMeta {
        let sha256 = "ab".repeat(32);
        FileMeta {
            id: id_of("office/notes.docx", &sha256),
            name: "office/notes.docx".into(),
            content_type: "application/zip".into(),
            size: 1_200_000,
            sha256,
            chunks: 3,
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> OwnedHeaders {
        pairs.iter().fold(OwnedHeaders::new(), |h, (key, value)| {
            h.insert(Header { key, value: Some(*value) })
        })
    }

    fn error(headers: &OwnedHeaders) -> String {
        FileMeta::from_headers(Some(headers)).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn headers_round_trip() {
        let meta = meta();
        for index in 0..meta.chunks {
            let parsed = FileMeta::from_headers(Some(&meta.headers(index))).ok();
            assert_eq!(parsed, Some((meta.clone(), index)));
        }
    }

    #[test]
    fn a_chunk_past_the_count_or_without_headers_is_refused() {
        let meta = meta();
        assert_eq!(error(&meta.headers(3)), "chunk 3 of a file of 3 chunks");
        assert_eq!(
            FileMeta::from_headers::<OwnedHeaders>(None).err().map(|e| e.to_string()),
            Some("a chunk without headers".to_string())
        );
    }

    #[test]
    fn a_missing_or_malformed_header_is_named() {
        let base = [
            ("file-id", "x"),
            ("name", "a"),
            ("content-type", "t"),
            ("sha256", "s"),
            ("chunk-index", "0"),
        ];
        assert_eq!(error(&headers(&base)), "a chunk without the `size` header");
        let mut bad = base.to_vec();
        bad.extend([("size", "ten"), ("chunk-count", "1")]);
        assert_eq!(error(&headers(&bad)), "a bad `size` header");
    }

    #[test]
    fn headers_the_collector_could_not_write_are_refused() {
        let meta = meta();
        let with = |key: &str, value: &str| {
            let pairs: Vec<(String, String)> = [
                ("file-id", meta.id.clone()),
                ("name", meta.name.clone()),
                ("content-type", meta.content_type.clone()),
                ("size", meta.size.to_string()),
                ("sha256", meta.sha256.clone()),
                ("chunk-index", "0".to_string()),
                ("chunk-count", meta.chunks.to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), if k == key { value.to_string() } else { v }))
            .collect();
            let refs: Vec<(&str, &str)> =
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            error(&headers(&refs))
        };
        assert_eq!(
            with("name", "../../etc/passwd"),
            "the name `../../etc/passwd` is not a relative path inside the collected folder"
        );
        assert_eq!(
            with("file-id", "../x"),
            "a `file-id` that is not the one of its name and SHA-256"
        );
        assert_eq!(
            with("chunk-count", "4000000000"),
            "4000000000 chunks for 1200000 bytes, where the collector sends 3"
        );
        assert_eq!(with("sha256", "XYZ"), "a bad `sha256` header");
        assert_eq!(with("chunk-index", "-1"), "a bad `chunk-index` header");
        assert_eq!(meta.chunk_len(2), 1_200_000 - 2 * 512 * 1024);
    }

    #[test]
    fn content_type_comes_from_the_bytes() {
        assert_eq!(content_type(b"%PDF-1.4\n"), "application/pdf");
        assert_eq!(content_type(b"plain words"), "text/plain");
        assert_eq!(content_type(&[0xff, 0xfe, 0x00, 0x81]), "application/octet-stream");
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }

    #[test]
    fn the_id_depends_on_name_and_content_kept_or_not() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("workshop-chunk-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("f.txt");
        std::fs::write(&path, vec![b'a'; super::super::CHUNK_SIZE + 1])?;
        let a = FileMeta::of(&path, "f.txt")?;
        let b = FileMeta::of(&path, "g.txt")?;
        let (kept, bytes) = FileMeta::read(&path, "f.txt", u64::MAX)?;
        let (streamed, not_kept) = FileMeta::read(&path, "f.txt", 10)?;
        // What a file that grew past the limit while it was read leaves: its first bytes read, the rest not.
        let mut file = std::fs::File::open(&path)?;
        let mut start = Vec::new();
        (&mut file).take(11).read_to_end(&mut start)?;
        let grown = FileMeta::hashed(file, &path, "f.txt", start)?;
        std::fs::remove_dir_all(&dir)?;
        assert_eq!((&kept, &streamed, &grown), (&a, &a, &a));
        assert_eq!((bytes.map(|b| b.len()), not_kept), (Some(a.size as usize), None));
        assert_eq!(
            (a.chunks, a.size, a.content_type.as_str()),
            (2, super::super::CHUNK_SIZE as u64 + 1, "text/plain")
        );
        assert_ne!(a.id, b.id);
        assert_eq!(a.sha256, b.sha256);
        Ok(())
    }
}
