//! Lesson 7 into object storage on a real server: the reference file's S3 server (profile `cloud`) next to the
//! learner's Kafka. The sink is killed mid-file and started again; what is in the bucket is read back and compared
//! with the source byte for byte (no object ever half-written); wrong credentials, a missing bucket and a server
//! that does not answer each get a clear message, with no secret in it.

mod common;

use std::path::Path;
use std::sync::Arc;

use anyhow::{ensure, Context, Result};
use common::Learner;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use workshop::capstone::{sample, Paths};

const ERROR: i32 = 2;
const SECRET: &str = "workshop-secret";

/// The learner with the S3 server of the reference file running on a port of its own.
struct WithS3 {
    learner: Learner,
    port: u16,
}

impl WithS3 {
    fn start() -> Result<WithS3> {
        let learner = Learner::new()?;
        let port = common::free_port()?;
        learner.expect(&["1", "--run"], 0)?;
        learner.expect(&["2", "--run"], 0)?;
        let up = learner
            .compose_command(&["--profile", "cloud", "up", "-d", "s3"])
            .env("S3_PORT", port.to_string())
            .output()?;
        ensure!(up.status.success(), "compose up s3 failed: {}", String::from_utf8_lossy(&up.stderr));
        common::wait_for("the S3 server to answer", || Ok(healthz(port)))?;
        Ok(WithS3 { learner, port })
    }

    /// `lesson ARGS` with the workshop server's credentials in the environment, and `changes` on top.
    fn lesson(&self, args: &[&str], changes: &[(&str, &str)]) -> std::process::Command {
        let mut command = self.learner.command(args);
        command.envs(self.env()).envs(changes.iter().copied());
        command
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "workshop".into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.into()),
            ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", self.port)),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    fn expect(&self, args: &[&str], code: i32, changes: &[(&str, &str)]) -> Result<common::Outcome> {
        let outcome = self.learner.run(args, self.lesson(args, changes))?;
        ensure!(outcome.code == code, "`lesson {}` exited {} (wanted {code})", args.join(" "), outcome.code);
        Ok(outcome)
    }

    fn bucket(&self) -> Result<Arc<dyn ObjectStore>> {
        let store = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(format!("http://127.0.0.1:{}", self.port))
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_bucket_name("collect")
            .with_access_key_id("workshop")
            .with_secret_access_key(SECRET)
            .build()?;
        Ok(Arc::new(store))
    }
}

/// GET /healthz answers 200.
fn healthz(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let mut answer = String::new();
    stream.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

#[test]
fn l07_cloud_s3_on_a_live_server() -> Result<()> {
    let s3 = WithS3::start()?;
    let _down = s3.learner.down_on_drop();
    let paths = Paths::in_dir(&s3.learner.config.dir);
    sample::write(&paths)?;
    let storage = format!("--storage=s3://collect/{}", common::random_name("run"));
    sink_killed_mid_file(&s3, &paths, &storage)?;
    read_back(&s3, &paths, storage.trim_start_matches("--storage=s3://collect/"))?;
    refusals(&s3, &storage)?;
    Ok(())
}

fn sink_killed_mid_file(s3: &WithS3, paths: &Paths, storage: &str) -> Result<()> {
    let mut sink = s3.lesson(&["collect", "sink", storage], &[]).stdout(std::process::Stdio::null()).spawn()?;
    let ingest = s3.lesson(&["collect", "ingest", storage], &[]).spawn()?;
    common::wait_for("a file half-rebuilt by the sink", || Ok(has_partial(&paths.scratch)))?;
    sink.kill().context("Failed to kill the sink")?;
    sink.wait()?;
    // Killed mid-file: whatever the bucket shows is whole.
    let store = s3.bucket()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let run = storage.trim_start_matches("--storage=s3://collect/");
    let prefix = object_store::path::Path::from(format!("{run}/files/"));
    let shown: Vec<object_store::ObjectMeta> =
        runtime.block_on(futures_util::TryStreamExt::try_collect(store.list(Some(&prefix))))?;
    for object in shown {
        let name = object.location.as_ref().trim_start_matches(&format!("{run}/files/")).to_string();
        let size = std::fs::metadata(paths.source.join(&name))?.len();
        ensure!(object.size == size, "{name} is visible with {} of {size} bytes", object.size);
    }
    let sent = ingest.wait_with_output()?;
    ensure!(sent.status.success(), "ingest failed: {}", String::from_utf8_lossy(&sent.stderr));
    s3.expect(&["collect", "sink", "--until-caught-up", storage], 0, &[])?;
    let check = s3.expect(&["check", "7", storage], 0, &[])?;
    snapshot!(
        "l07_cloud_check_s3",
        check.stdout.replace(storage.trim_start_matches("--storage="), "s3://collect/[RUN]")
    );
    let again = s3.expect(&["collect", "ingest", storage], 0, &[])?;
    ensure!(
        again.stdout.starts_with("sent 0 files (0.0 MB) and 0 events"),
        "a second ingest sent again: {}",
        again.stdout
    );
    Ok(())
}

/// Every object under the run's prefix is a source file, whole, with its SHA-256 and content type as metadata;
/// every event is one object.
fn read_back(s3: &WithS3, paths: &Paths, run: &str) -> Result<()> {
    let store = s3.bucket()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let files = object_store::path::Path::from(format!("{run}/files"));
    let listed: Vec<object_store::ObjectMeta> =
        runtime.block_on(futures_util::TryStreamExt::try_collect(store.list(Some(&files))))?;
    let source = workshop::capstone::source::scan(&paths.source).files;
    ensure!(listed.len() == source.len(), "{} objects for {} source files", listed.len(), source.len());
    for (name, path) in &source {
        let key = object_store::path::Path::from(format!("{run}/files/{name}"));
        let got = runtime.block_on(async { store.get(&key).await?.bytes().await })?;
        let want = std::fs::read(path)?;
        ensure!(got.as_ref() == want.as_slice(), "{name} reads back different from its source");
        let head =
            runtime.block_on(store.get_opts(&key, object_store::GetOptions { head: true, ..Default::default() }))?;
        let sha = head.attributes.get(&object_store::Attribute::Metadata("sha256".into())).map(|v| v.to_string());
        let hex: String = Sha256::digest(&want).iter().map(|b| format!("{b:02x}")).collect();
        ensure!(sha.as_deref() == Some(hex.as_str()), "{name}: metadata sha256 {sha:?}, source {hex}");
        let kind = head.attributes.get(&object_store::Attribute::ContentType).map(|v| v.to_string());
        ensure!(kind.is_some(), "{name} has no content type");
    }
    let events = object_store::path::Path::from(format!("{run}/events"));
    let stored: Vec<object_store::ObjectMeta> =
        runtime.block_on(futures_util::TryStreamExt::try_collect(store.list(Some(&events))))?;
    let lines = std::fs::read_to_string(&paths.events)?.lines().filter(|l| !l.trim().is_empty()).count();
    ensure!(stored.len() == lines, "{} event objects for {lines} events", stored.len());
    Ok(())
}

/// Wrong secret, missing bucket, nothing listening: refused at once, with the fix, and never the secret.
fn refusals(s3: &WithS3, storage: &str) -> Result<()> {
    let wrong = s3.expect(&["collect", "ingest", storage], ERROR, &[("AWS_SECRET_ACCESS_KEY", "not-the-secret")])?;
    ensure!(
        !wrong.stderr.contains("not-the-secret") && !wrong.stderr.contains(SECRET),
        "a secret in: {}",
        wrong.stderr
    );
    snapshot!("error_s3_wrong_secret", wrong.stderr);
    let missing =
        s3.expect(&["collect", "sink", "--until-caught-up", "--storage=s3://no-such-bucket/x"], ERROR, &[])?;
    snapshot!("error_s3_missing_bucket", missing.stderr);
    let closed = common::free_port()?.to_string();
    let endpoint = format!("http://127.0.0.1:{closed}");
    let down = s3.expect(&["collect", "ingest", storage], ERROR, &[("AWS_ENDPOINT_URL", &endpoint)])?;
    snapshot!("error_s3_server_down", down.stderr);
    let unset = s3.expect(&["collect", "ingest", storage], ERROR, &[("AWS_ACCESS_KEY_ID", "")])?;
    ensure!(unset.stderr.contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), "{}", unset.stderr);
    Ok(())
}

fn has_partial(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().any(|e| e.path().extension().is_some_and(|x| x == "partial")))
        .unwrap_or(false)
}
