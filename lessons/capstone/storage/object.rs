//! Storage in an object store, AWS S3 (or an S3-compatible server) or Azure Blob Storage:
//! `prefix/files/<name>` uploaded whole (a multipart upload becomes visible only once completed) with its
//! content type and SHA-256 as metadata, and one object per event, `prefix/events/<SHA-256 of its id>.json`,
//! created only where none exists: two sinks never store an id twice.

use std::future::Future;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::{Path as Key, PathPart};
use object_store::{
    Attribute, Attributes, GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutMultipartOptions,
    PutOptions, PutPayload, WriteMultipart,
};
use sha2::{Digest, Sha256};

use super::super::chunk::{hex, FileMeta};
use super::super::events::{parse_event, Event};
use super::connect;
use super::{Appended, Known, Storage, StorageUrl, Stored};

/// Parts of a multipart upload: S3 wants at least 5 MiB for every part but the last.
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Requests in flight at once for events and listings.
const AT_ONCE: usize = 32;
const SHA256: &str = "sha256";

pub struct ObjectStorage {
    store: Arc<dyn ObjectStore>,
    prefix: Key,
    url: StorageUrl,
    /// Its own runtime: the sink calls storage from a blocking thread and the collector from async code.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for ObjectStorage {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl ObjectStorage {
    /// The bucket or container of `url`, reached and listed once: wrong credentials, a missing bucket or a
    /// server that does not answer are said now, before anything is sent.
    pub fn open(url: &StorageUrl) -> Result<ObjectStorage> {
        let (store, prefix) = connect::store(url)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("storage")
            .enable_all()
            .build()
            .context(t!("Failed to start the storage client"))?;
        let storage = ObjectStorage {
            store,
            prefix: Key::from(prefix),
            url: url.clone(),
            runtime: Some(runtime),
        };
        let (store, prefix) = (storage.store.clone(), storage.prefix.clone());
        let listed = storage.wait(async move { store.list_with_delimiter(Some(&prefix)).await })?;
        match (listed, url, super::emulator::address()) {
            (Ok(_), _, _) => {}
            (Err(err), StorageUrl::Azure { container, .. }, Some(address))
                if connect::is_missing(&err) =>
            {
                let container = container.clone();
                storage.wait(async move {
                    super::emulator::create_container(&address, &container).await
                })??;
            }
            (Err(err), _, _) => return Err(connect::explain(err, url)),
        }
        Ok(storage)
    }

    fn wait<T: Send + 'static>(&self, work: impl Future<Output = T> + Send + 'static) -> Result<T> {
        let runtime = self.runtime.as_ref().context(t!("The storage client is closed"))?;
        let (sent, received) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = sent.send(work.await);
        });
        received.recv().context(t!("The storage client stopped"))
    }

    fn key(&self, area: &str, name: &str) -> Key {
        let parts = self
            .prefix
            .parts()
            .chain([PathPart::from(area)])
            .chain(name.split('/').map(PathPart::from));
        Key::from_iter(parts)
    }

    fn area(&self, area: &str) -> Key {
        Key::from_iter(self.prefix.parts().chain([PathPart::from(area)]))
    }

    fn fail(&self, err: object_store::Error) -> anyhow::Error {
        connect::explain(err, &self.url)
    }

    /// The name of a stored file from its key: the parts after `prefix/files/`, decoded.
    fn name_of(&self, key: &Key) -> Option<String> {
        let parts: Vec<String> = key
            .prefix_match(&self.area("files"))?
            .map(|part| {
                percent_encoding::percent_decode_str(part.as_ref()).decode_utf8_lossy().into_owned()
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join("/"))
    }
}

/// What a HEAD says of an object: its size, the SHA-256 the sink gave it, and a token that changes with it.
async fn head(
    store: &dyn ObjectStore,
    key: &Key,
) -> object_store::Result<Option<(u64, Option<String>, String)>> {
    match store.get_opts(key, GetOptions { head: true, ..Default::default() }).await {
        Ok(found) => {
            let sha256 =
                found.attributes.get(&Attribute::Metadata(SHA256.into())).map(|v| v.to_string());
            let stamp =
                format!("{} {:?} {}", found.meta.size, found.meta.e_tag, found.meta.last_modified);
            Ok(Some((found.meta.size, sha256, stamp)))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

/// SHA-256 of an object read back, for one stored without the sink's metadata.
async fn hash(store: &dyn ObjectStore, key: &Key) -> object_store::Result<String> {
    let mut stream = store.get(key).await?.into_stream();
    let mut hasher = Sha256::new();
    while let Some(bytes) = stream.try_next().await? {
        hasher.update(&bytes);
    }
    Ok(hex(&hasher.finalize()))
}

fn content_type(path: &Path) -> String {
    infer::get_from_path(path)
        .ok()
        .flatten()
        .map_or("application/octet-stream", |kind| kind.mime_type())
        .to_string()
}

impl Storage for ObjectStorage {
    fn location(&self) -> String {
        self.url.to_string()
    }

    fn stored(&self, name: &str) -> Result<Option<Stored>> {
        let (store, key) = (self.store.clone(), self.key("files", name));
        let found = self.wait(async move {
            let Some((size, sha256, _)) = head(store.as_ref(), &key).await? else {
                return Ok(None);
            };
            let sha256 = match sha256 {
                Some(sha256) => sha256,
                None => hash(store.as_ref(), &key).await?,
            };
            Ok(Some(Stored { size, sha256 }))
        })?;
        found.map_err(|err| self.fail(err))
    }

    fn stamp(&self, name: &str) -> Result<Option<String>> {
        let (store, key) = (self.store.clone(), self.key("files", name));
        let found = self.wait(async move { head(store.as_ref(), &key).await })?;
        Ok(found.map_err(|err| self.fail(err))?.map(|(_, _, stamp)| stamp))
    }

    fn put(&self, meta: &FileMeta, verified: &Path) -> Result<()> {
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, content_type(verified).into());
        attributes.insert(Attribute::Metadata(SHA256.into()), meta.sha256.clone().into());
        let (store, key, path) =
            (self.store.clone(), self.key("files", &meta.name), verified.to_path_buf());
        let uploaded = self.wait(async move {
            let options = PutMultipartOptions { attributes, ..Default::default() };
            let upload = store.put_multipart_opts(&key, options).await?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            match send(&mut writer, &path).await {
                Ok(()) => Ok(writer.finish().await?),
                Err(err) => {
                    writer.abort().await.ok();
                    Err(err)
                }
            }
        })?;
        uploaded.map_err(|err| match err.downcast::<object_store::Error>() {
            Ok(err) => self.fail(err),
            Err(err) => err,
        })?;
        let stored = self.stored(&meta.name)?;
        if stored.as_ref().map(|s| (s.size, s.sha256.as_str()))
            != Some((meta.size, meta.sha256.as_str()))
        {
            bail!(t!(
                "{name} reads back from {storage} as {stored}, not as uploaded",
                name = meta.name,
                storage = self.location(),
                stored = format!("{stored:?}")
            ));
        }
        std::fs::remove_file(verified).ok();
        Ok(())
    }

    fn append_events(&self, events: &[Event], known: &mut Known) -> Result<Appended> {
        let new: Vec<Event> =
            events.iter().filter(|e| !known.events.contains_key(&e.id)).cloned().collect();
        let mut appended = Appended::default();
        for event in
            events.iter().filter(|e| known.events.get(&e.id).is_some_and(|line| *line != e.line))
        {
            appended.conflicts.push(event.clone());
        }
        let store = self.store.clone();
        let keyed: Vec<(Key, Event)> = new
            .into_iter()
            .map(|e| (self.key("events", &format!("{}.json", hex(&Sha256::digest(&e.id)))), e))
            .collect();
        let outcomes = self.wait(async move {
            futures_util::stream::iter(keyed)
                .map(|(key, event)| {
                    let store = store.clone();
                    async move {
                        let create = PutOptions { mode: PutMode::Create, ..Default::default() };
                        let put = store
                            .put_opts(
                                &key,
                                PutPayload::from(event.line.clone().into_bytes()),
                                create,
                            )
                            .await;
                        match put {
                            Ok(_) => Ok((event, None)),
                            Err(object_store::Error::AlreadyExists { .. }) => {
                                let there = store.get(&key).await?.bytes().await?;
                                Ok((
                                    event,
                                    Some(String::from_utf8_lossy(&there).trim_end().to_string()),
                                ))
                            }
                            Err(err) => Err(err),
                        }
                    }
                })
                .buffer_unordered(AT_ONCE)
                .collect::<Vec<_>>()
                .await
        })?;
        for outcome in outcomes {
            let (event, already) = outcome.map_err(|err| self.fail(err))?;
            match already {
                None => appended.stored += 1,
                Some(line) if line == event.line => {}
                Some(line) => {
                    appended.conflicts.push(event.clone());
                    known.events.insert(event.id.clone(), line);
                    continue;
                }
            }
            known.events.insert(event.id.clone(), event.line.clone());
        }
        Ok(appended)
    }

    fn events(&self) -> Result<Vec<Event>> {
        let (store, area) = (self.store.clone(), self.area("events"));
        let read = self.wait(async move {
            let listed: Vec<_> = store.list(Some(&area)).try_collect().await?;
            futures_util::stream::iter(listed)
                .map(|meta| {
                    let store = store.clone();
                    async move {
                        let bytes = store.get(&meta.location).await?.bytes().await?;
                        Ok::<_, object_store::Error>((
                            meta.last_modified,
                            String::from_utf8_lossy(&bytes).into_owned(),
                        ))
                    }
                })
                .buffer_unordered(AT_ONCE)
                .try_collect::<Vec<_>>()
                .await
        })?;
        let mut lines = read.map_err(|err| self.fail(err))?;
        lines.sort();
        Ok(lines
            .into_iter()
            .filter_map(|(_, line)| {
                Some(Event { id: parse_event(&line).ok()?, line: line.trim_end().to_string() })
            })
            .collect())
    }

    fn files(&self) -> Result<Vec<(String, Stored)>> {
        let (store, area) = (self.store.clone(), self.area("files"));
        let listed =
            self.wait(async move { store.list(Some(&area)).try_collect::<Vec<_>>().await })?;
        let mut files = Vec::new();
        for meta in listed.map_err(|err| self.fail(err))? {
            let Some(name) = self.name_of(&meta.location) else { continue };
            if let Some(stored) = self.stored(&name)? {
                files.push((name, stored));
            }
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(files)
    }
}

/// The file into the upload, part by part, at most two parts in flight: memory stays bounded for any size.
async fn send(writer: &mut WriteMultipart, path: &Path) -> Result<()> {
    let mut file = std::fs::File::open(path)
        .with_context(|| t!("Failed to open {path}", path = path.display()))?;
    let mut buffer = vec![0u8; PART_SIZE];
    loop {
        let n = file
            .read(&mut buffer)
            .with_context(|| t!("Failed to read {path}", path = path.display()))?;
        if n == 0 {
            return Ok(());
        }
        writer.wait_for_capacity(2).await?;
        writer.write(&buffer[..n]);
    }
}
