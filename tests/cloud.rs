//! Lesson 7 into object storage on real servers: the reference file's S3 server and Azurite (profile `cloud`)
//! next to the learner's Kafka, one stack for both. On each, the sink is killed mid-file and started again (the
//! store never shows a partial object), everything stored is read back and compared with the source byte for
//! byte, a sink killed between storing a file and forgetting its copy leaves nothing waiting, corrupt and
//! missing chunks never become an object, a file sent across a Kafka restart is stored whole, and wrong
//! credentials, a missing bucket and a server that does not answer each get a clear message, with no secret
//! in it.

mod common;

use std::sync::Arc;

use anyhow::{ensure, Context, Result};
use common::{has_partial, Learner, ERROR};
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use workshop::capstone::assembly::{Scratch, Step};
use workshop::capstone::chunk::FileMeta;
use workshop::capstone::storage::StorageUrl;
use workshop::capstone::{sample, Names, Paths, CHUNK_SIZE};

const S3_SECRET: &str = "workshop-secret";

#[derive(Clone, Copy)]
enum Backend {
    S3,
    Azure,
}

/// The learner with the reference file's storage servers running on ports of their own.
struct Cloud {
    learner: Learner,
    s3_port: u16,
    azurite_port: u16,
}

impl Cloud {
    fn start() -> Result<Cloud> {
        let learner = Learner::new()?;
        let (s3_port, azurite_port) = (common::free_port()?, common::free_port()?);
        learner.expect(&["1", "--run"], 0)?;
        learner.expect(&["2", "--run"], 0)?;
        let up = learner
            .compose_command(&["--profile", "cloud", "up", "-d", "s3", "azurite"])
            .env("S3_PORT", s3_port.to_string())
            .env("AZURITE_PORT", azurite_port.to_string())
            .output()?;
        ensure!(up.status.success(), "compose up failed: {}", String::from_utf8_lossy(&up.stderr));
        common::wait_for("the S3 server to answer", || {
            Ok(answers(s3_port, b"GET /healthz HTTP/1.0\r\n\r\n"))
        })?;
        common::wait_for("Azurite to answer", || {
            Ok(answers(azurite_port, b"GET / HTTP/1.0\r\n\r\n"))
        })?;
        Ok(Cloud { learner, s3_port, azurite_port })
    }

    fn env(&self, backend: Backend) -> Vec<(&'static str, String)> {
        match backend {
            Backend::S3 => vec![
                ("AWS_ACCESS_KEY_ID", "workshop".into()),
                ("AWS_SECRET_ACCESS_KEY", S3_SECRET.into()),
                ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", self.s3_port)),
                ("AWS_REGION", "us-east-1".into()),
            ],
            Backend::Azure => vec![
                ("AZURE_STORAGE_USE_EMULATOR", "true".into()),
                ("AZURITE_BLOB_STORAGE_URL", format!("http://127.0.0.1:{}", self.azurite_port)),
            ],
        }
    }

    /// `lesson ARGS` with `backend`'s credentials in the environment, and `changes` on top.
    fn lesson(
        &self,
        backend: Backend,
        args: &[&str],
        changes: &[(&str, &str)],
    ) -> std::process::Command {
        let mut command = self.learner.command(args);
        command.envs(self.env(backend)).envs(changes.iter().copied());
        command
    }

    fn expect(
        &self,
        backend: Backend,
        args: &[&str],
        code: i32,
        changes: &[(&str, &str)],
    ) -> Result<common::Outcome> {
        let outcome = self.learner.run(args, self.lesson(backend, args, changes))?;
        ensure!(
            outcome.code == code,
            "`lesson {}` exited {} (wanted {code})",
            args.join(" "),
            outcome.code
        );
        Ok(outcome)
    }

    /// The bucket or container `collect`, as the test reads it back.
    fn store(&self, backend: Backend) -> Result<Arc<dyn ObjectStore>> {
        Ok(match backend {
            Backend::S3 => Arc::new(
                object_store::aws::AmazonS3Builder::new()
                    .with_endpoint(format!("http://127.0.0.1:{}", self.s3_port))
                    .with_allow_http(true)
                    .with_region("us-east-1")
                    .with_bucket_name("collect")
                    .with_access_key_id("workshop")
                    .with_secret_access_key(S3_SECRET)
                    .build()?,
            ),
            // Emulator mode reads its address from the environment only; this test alone runs in this binary.
            Backend::Azure => Arc::new(
                object_store::azure::MicrosoftAzureBuilder::new()
                    .with_use_emulator(true)
                    .with_container_name("collect")
                    .build()?,
            ),
        })
    }
}

/// The port answers an HTTP request with a status line.
fn answers(port: u16, request: &[u8]) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    let mut answer = String::new();
    stream.write_all(request).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 ")
}

#[test]
fn l07_cloud_on_live_servers() -> Result<()> {
    let cloud = Cloud::start()?;
    let _down = cloud.learner.down_on_drop();
    std::env::set_var(
        "AZURITE_BLOB_STORAGE_URL",
        format!("http://127.0.0.1:{}", cloud.azurite_port),
    );
    let paths = Paths::in_dir(&cloud.learner.config.dir);
    sample::write(&paths)?;
    let mut runs = Vec::new();
    for (backend, scheme, name) in [(Backend::S3, "s3", "s3"), (Backend::Azure, "az", "azure")] {
        let run = common::random_name("run");
        let storage = format!("--storage={scheme}://collect/{run}");
        // Another storage than the lesson's own: topics, group and scratch folder of its own.
        let dir = &cloud.learner.config.dir;
        let url = StorageUrl::parse(&format!("{scheme}://collect/{run}"), dir)?;
        let paths = Paths::for_names(dir, &Names::for_storage(dir, &url));
        ensure!(paths.scratch != Paths::in_dir(dir).scratch, "one scratch folder for two storages");
        sink_killed_mid_file(&cloud, backend, &paths, &storage, &run)?;
        let check = cloud.expect(backend, &["check", "7", &storage], 0, &[])?;
        let name = format!("l07_cloud_check_{name}");
        snapshot!(name.as_str(), check.stdout.replace(&run, "[RUN]"));
        let check = cloud.expect(backend, &["--lang", "pt-BR", "check", "7", &storage], 0, &[])?;
        snapshot!(format!("{name}_pt_br"), check.stdout.replace(&run, "[RUN]"));
        let again = cloud.expect(backend, &["collect", "ingest", &storage], 0, &[])?;
        ensure!(
            again.stdout.starts_with("sent 0 files (0.0 MB) and 0 events"),
            "sent again: {}",
            again.stdout
        );
        read_back(&cloud, backend, &paths, &run)?;
        sink_killed_after_storing(&cloud, backend, &paths, &storage)?;
        runs.push((backend, storage, run));
    }
    // After both checks: what the sink sets aside here, check 7 lists.
    for (backend, storage, run) in &runs {
        corrupt_and_missing_chunks(&cloud, *backend, storage, run)?;
        kafka_restarted_during_ingest(&cloud, *backend, storage)?;
    }
    s3_refusals(&cloud)?;
    azure_refusals(&cloud)?;
    Ok(())
}

fn sink_killed_mid_file(
    cloud: &Cloud,
    backend: Backend,
    paths: &Paths,
    storage: &str,
    run: &str,
) -> Result<()> {
    let mut sink = cloud
        .lesson(backend, &["collect", "sink", storage], &[])
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let ingest = cloud.lesson(backend, &["collect", "ingest", storage], &[]).spawn()?;
    common::wait_for("a file half-rebuilt by the sink", || Ok(has_partial(&paths.scratch)))?;
    sink.kill().context("Failed to kill the sink")?;
    sink.wait()?;
    // Killed mid-file: whatever the store shows is whole.
    for (name, size) in listed(cloud, backend, &format!("{run}/files"))? {
        let source = std::fs::metadata(paths.source.join(&name))?.len();
        ensure!(size == source, "{name} is visible with {size} of {source} bytes");
    }
    let sent = ingest.wait_with_output()?;
    ensure!(sent.status.success(), "ingest failed: {}", String::from_utf8_lossy(&sent.stderr));
    cloud.expect(backend, &["collect", "sink", "--until-caught-up", storage], 0, &[])?;
    Ok(())
}

/// The sink killed after the store took a file and before it forgot its own copy (an upload is a round
/// trip, a window a kill can land in): the next sink finds that version stored and forgets the copy,
/// rather than wait for chunks nobody sends again.
fn sink_killed_after_storing(
    cloud: &Cloud,
    backend: Backend,
    paths: &Paths,
    storage: &str,
) -> Result<()> {
    let name = "stored-before-the-kill.bin";
    let path = paths.source.join(name);
    let bytes = sample::video(CHUNK_SIZE + 1000);
    std::fs::write(&path, &bytes)?;
    cloud.expect(backend, &["collect", "ingest", storage], 0, &[])?;
    let meta = FileMeta::of(&path, name)?;
    let rebuild = || -> Result<std::path::PathBuf> {
        let mut scratch = Scratch::open(&paths.scratch)?;
        let mut step = Step::Appended;
        for (index, chunk) in (0..meta.chunks).zip(bytes.chunks(CHUNK_SIZE)) {
            step = scratch.add(&meta, index, chunk)?;
        }
        match step {
            Step::Complete(verified) => Ok(verified),
            other => anyhow::bail!("not rebuilt: {other:?}"),
        }
    };
    for (variable, value) in cloud.env(backend) {
        std::env::set_var(variable, value);
    }
    let url = StorageUrl::parse(storage.trim_start_matches("--storage="), &paths.storage)?;
    // The store takes the sink's copy once it has it; the copy a killed sink leaves is made again.
    workshop::capstone::storage::open(&url, true)?.put(&meta, &rebuild()?)?;
    rebuild()?;
    ensure!(has_partial(&paths.scratch), "the copy was not made again");
    cloud.expect(backend, &["collect", "sink", "--until-caught-up", storage], 0, &[])?;
    ensure!(!has_partial(&paths.scratch), "a copy of a stored file is left in the sink's scratch");
    std::fs::remove_file(&path)?;
    Ok(())
}

/// A file with a corrupt chunk and one with a chunk missing: neither becomes an object, the sink says why
/// and exits 1 (not done).
fn corrupt_and_missing_chunks(
    cloud: &Cloud,
    backend: Backend,
    storage: &str,
    run: &str,
) -> Result<()> {
    let dir = &cloud.learner.config.dir;
    let url = StorageUrl::parse(storage.trim_start_matches("--storage="), dir)?;
    let names = Names::for_storage(dir, &url);
    let bytes = sample::video(3 * CHUNK_SIZE);
    let (corrupt, missing) = (format!("corrupt-{run}.mp4"), format!("missing-{run}.mp4"));
    let source = Paths::in_dir(dir).source;
    let corrupt = common::chunks::crafted(&source, &corrupt, &bytes)?;
    let missing = common::chunks::crafted(&source, &missing, &bytes)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let bootstrap = format!("localhost:{}", cloud.learner.config.kafka_port);
    let producer = runtime.block_on(workshop::capstone::ingest::producer(&bootstrap))?;
    runtime.block_on(common::chunks::send_corrupt_and_missing(
        &producer,
        &names.files,
        [&corrupt, &missing],
        &bytes,
    ))?;
    let sink = cloud.expect(backend, &["collect", "sink", "--until-caught-up", storage], 1, &[])?;
    ensure!(
        sink.stdout.contains(&format!("{}: its chunks make", corrupt.name))
            && sink.stdout.contains(&format!("chunk 2 of {} arrived before chunk 1", missing.name)),
        "the sink did not say why: {}",
        sink.stdout
    );
    let stored = listed(cloud, backend, &format!("{run}/files"))?;
    ensure!(
        !stored.iter().any(|(name, _)| *name == corrupt.name || *name == missing.name),
        "a corrupt or incomplete file became an object: {stored:?}"
    );
    Ok(())
}

/// Kafka restarted while the collector sends a 30 MB file: the collector rides it out (idempotent, acks=all),
/// and the file is stored whole and verified.
fn kafka_restarted_during_ingest(cloud: &Cloud, backend: Backend, storage: &str) -> Result<()> {
    let learner = &cloud.learner;
    let dir = &learner.config.dir;
    let url = StorageUrl::parse(storage.trim_start_matches("--storage="), dir)?;
    let names = Names::for_storage(dir, &url);
    let path = Paths::in_dir(dir).source.join("across-a-restart.mp4");
    std::fs::write(&path, sample::video(30 * 1024 * 1024))?;
    let bootstrap = format!("localhost:{}", learner.config.kafka_port);
    let runtime = tokio::runtime::Runtime::new()?;
    let before = runtime.block_on(common::chunks::messages_in(&bootstrap, &names.files))?;
    let ingest = cloud.lesson(backend, &["collect", "ingest", storage], &[]).spawn()?;
    common::wait_for("the collector to start sending", || {
        Ok(runtime.block_on(common::chunks::messages_in(&bootstrap, &names.files))? > before)
    })?;
    runtime.block_on(async {
        let engine = workshop::stack::engine::Engine::connect().await?;
        engine.restart(&learner.kafka_container(&engine).await?, 60).await
    })?;
    let sent = ingest.wait_with_output()?;
    ensure!(sent.status.success(), "ingest failed across the restart");
    cloud.expect(backend, &["collect", "sink", "--until-caught-up", storage], 0, &[])?;
    let run = url.to_string().rsplit('/').next().unwrap_or_default().to_string();
    let stored = listed(cloud, backend, &format!("{run}/files"))?;
    let size = std::fs::metadata(&path)?.len();
    ensure!(
        stored.contains(&("across-a-restart.mp4".to_string(), size)),
        "the file sent across the restart is not stored whole: {stored:?}"
    );
    std::fs::remove_file(&path)?;
    Ok(())
}

/// (name under `prefix`, size) of every object there.
fn listed(cloud: &Cloud, backend: Backend, prefix: &str) -> Result<Vec<(String, u64)>> {
    let store = cloud.store(backend)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let at = object_store::path::Path::from(prefix);
    let found: Vec<object_store::ObjectMeta> =
        runtime.block_on(futures_util::TryStreamExt::try_collect(store.list(Some(&at))))?;
    Ok(found
        .into_iter()
        .map(|o| {
            (o.location.as_ref().trim_start_matches(&format!("{prefix}/")).to_string(), o.size)
        })
        .collect())
}

/// Every object under the run's prefix is a source file, whole, with its SHA-256 and content type as metadata;
/// every event is one object.
fn read_back(cloud: &Cloud, backend: Backend, paths: &Paths, run: &str) -> Result<()> {
    let store = cloud.store(backend)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let source = workshop::capstone::source::scan(&paths.source).files;
    let objects = listed(cloud, backend, &format!("{run}/files"))?;
    ensure!(
        objects.len() == source.len(),
        "{} objects for {} source files",
        objects.len(),
        source.len()
    );
    for (name, path) in &source {
        let key = object_store::path::Path::from(format!("{run}/files/{name}"));
        let got = runtime.block_on(async { store.get(&key).await?.bytes().await })?;
        let want = std::fs::read(path)?;
        ensure!(got.as_ref() == want.as_slice(), "{name} reads back different from its source");
        let head = runtime.block_on(
            store.get_opts(&key, object_store::GetOptions { head: true, ..Default::default() }),
        )?;
        let sha = head
            .attributes
            .get(&object_store::Attribute::Metadata("sha256".into()))
            .map(|v| v.to_string());
        let hex: String = Sha256::digest(&want).iter().map(|b| format!("{b:02x}")).collect();
        ensure!(
            sha.as_deref() == Some(hex.as_str()),
            "{name}: metadata sha256 {sha:?}, source {hex}"
        );
        let kind =
            head.attributes.get(&object_store::Attribute::ContentType).map(|v| v.to_string());
        let detected = infer::get(&want).map_or("application/octet-stream", |t| t.mime_type());
        ensure!(
            kind.as_deref() == Some(detected),
            "{name}: content type {kind:?}, its bytes say {detected}"
        );
    }
    let events = listed(cloud, backend, &format!("{run}/events"))?;
    let lines =
        std::fs::read_to_string(&paths.events)?.lines().filter(|l| !l.trim().is_empty()).count();
    ensure!(events.len() == lines, "{} event objects for {lines} events", events.len());
    Ok(())
}

/// `args` refused (exit 2) in English and in Portuguese, each snapshotted (`name`, `name_pt_br`); what each
/// said on stderr.
fn refused_in_both_languages(
    cloud: &Cloud,
    backend: Backend,
    args: &[&str],
    env: &[(&str, &str)],
    name: &str,
) -> Result<Vec<String>> {
    let mut said = Vec::new();
    for (lang, name) in common::in_both_languages(name) {
        let args: Vec<&str> = ["--lang", lang].into_iter().chain(args.iter().copied()).collect();
        let refused = cloud.expect(backend, &args, ERROR, env)?;
        snapshot!(name.as_str(), refused.stderr.clone());
        said.push(refused.stderr);
    }
    Ok(said)
}

/// Wrong secret, missing bucket, nothing listening, no key at all: refused at once, with the fix, no secret.
fn s3_refusals(cloud: &Cloud) -> Result<()> {
    let storage = "--storage=s3://collect/refused";
    let ingest = ["collect", "ingest", storage];
    let wrong = [("AWS_SECRET_ACCESS_KEY", "not-it")];
    for said in
        refused_in_both_languages(cloud, Backend::S3, &ingest, &wrong, "error_s3_wrong_secret")?
    {
        ensure!(!said.contains("not-it") && !said.contains(S3_SECRET), "a secret in: {said}");
    }
    let missing = ["collect", "sink", "--until-caught-up", "--storage=s3://no-such-bucket/x"];
    refused_in_both_languages(cloud, Backend::S3, &missing, &[], "error_s3_missing_bucket")?;
    let endpoint = format!("http://127.0.0.1:{}", common::free_port()?);
    let down = [("AWS_ENDPOINT_URL", endpoint.as_str())];
    refused_in_both_languages(cloud, Backend::S3, &ingest, &down, "error_s3_server_down")?;
    let unset = cloud.expect(
        Backend::S3,
        &["collect", "ingest", storage],
        ERROR,
        &[("AWS_ACCESS_KEY_ID", "")],
    )?;
    ensure!(
        unset.stderr.contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        "{}",
        unset.stderr
    );
    Ok(())
}

fn azure_refusals(cloud: &Cloud) -> Result<()> {
    let storage = "--storage=az://collect/refused";
    let wrong_key = "bm90IHRoZSBrZXk=";
    let ingest = ["collect", "ingest", storage];
    let wrong = [("AZURE_STORAGE_ACCOUNT_KEY", wrong_key)];
    for said in
        refused_in_both_languages(cloud, Backend::Azure, &ingest, &wrong, "error_azure_wrong_key")?
    {
        ensure!(!said.contains(wrong_key), "a key in: {said}");
    }
    let address = format!("http://127.0.0.1:{}", common::free_port()?);
    let down = [("AZURITE_BLOB_STORAGE_URL", address.as_str())];
    refused_in_both_languages(cloud, Backend::Azure, &ingest, &down, "error_azure_server_down")?;
    let unset = cloud.expect(
        Backend::Azure,
        &["collect", "ingest", storage],
        ERROR,
        &[("AZURE_STORAGE_USE_EMULATOR", "")],
    )?;
    ensure!(unset.stderr.contains("AZURE_STORAGE_CONNECTION_STRING"), "{}", unset.stderr);
    Ok(())
}
