//! Reaching an object store from the standard environment of each cloud, and saying plainly why not.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::{ClientOptions, ObjectStore, RetryConfig};

use super::StorageUrl;
use crate::ui::lang::tr;

/// The store of `url` and the prefix inside it.
pub fn store(url: &StorageUrl) -> Result<(Arc<dyn ObjectStore>, String)> {
    let (options, retry) = limits();
    match url {
        StorageUrl::S3 { bucket, prefix } => {
            if var("AWS_ACCESS_KEY_ID").is_none() {
                bail!(tr(NO_AWS_CREDENTIALS));
            }
            let mut builder = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_client_options(options)
                .with_retry(retry);
            if s3_endpoint().is_some_and(|e| e.starts_with("http://")) {
                builder = builder.with_allow_http(true);
            }
            let store = builder
                .build()
                .map_err(|err| anyhow::anyhow!(t!("S3 is not configured: {err}", err)))?;
            Ok((Arc::new(store), prefix.clone()))
        }
        StorageUrl::Azure { container, prefix } => {
            let mut builder = MicrosoftAzureBuilder::from_env()
                .with_container_name(container)
                .with_client_options(options)
                .with_retry(retry);
            let configured = ["AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_USE_EMULATOR"]
                .iter()
                .any(|v| var(v).is_some());
            match var("AZURE_STORAGE_CONNECTION_STRING") {
                Some(text) => builder = with_connection_string(builder, &text)?,
                None if !configured => bail!(tr(NO_AZURE_CREDENTIALS)),
                None => {}
            }
            let store = builder.build().map_err(|err| {
                anyhow::anyhow!(t!("Azure Blob Storage is not configured: {err}", err))
            })?;
            Ok((Arc::new(store), prefix.clone()))
        }
        StorageUrl::Local(path) => {
            bail!(t!("{path} is a folder, not an object store", path = path.display()))
        }
    }
}

/// `AccountName=…;AccountKey=…;BlobEndpoint=…` as the Azure portal gives it, or `UseDevelopmentStorage=true`.
fn with_connection_string(
    builder: MicrosoftAzureBuilder,
    text: &str,
) -> Result<MicrosoftAzureBuilder> {
    let field = |name: &str| {
        text.split(';')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.trim())
    };
    if field("UseDevelopmentStorage") == Some("true")
        || field("AccountName") == Some("devstoreaccount1")
    {
        // Azurite: object_store's emulator mode, at AZURITE_BLOB_STORAGE_URL (http://127.0.0.1:10000 unset).
        return Ok(builder.with_use_emulator(true));
    }
    let (Some(account), Some(key)) = (field("AccountName"), field("AccountKey")) else {
        bail!(t!(
            "AZURE_STORAGE_CONNECTION_STRING has no AccountName and AccountKey: copy it whole from the storage \
             account's \"Access keys\" page in the Azure portal"
        ));
    };
    let mut builder = builder.with_account(account).with_access_key(key);
    if let Some(endpoint) = field("BlobEndpoint") {
        builder = builder.with_endpoint(endpoint.to_string());
    }
    Ok(builder)
}

const NO_AWS_CREDENTIALS: &str = n!("\
S3 needs credentials in the environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_REGION; for a
server other than AWS, AWS_ENDPOINT_URL). The collector reads variables, not ~/.aws profiles: with the AWS CLI,
`eval \"$(aws configure export-credentials --format env)\"` exports a profile's. For the workshop's own S3
server (docker compose --profile cloud up -d), lesson 7 names the values to export.");

const NO_AZURE_CREDENTIALS: &str = n!("\
Azure Blob Storage needs credentials in the environment: AZURE_STORAGE_CONNECTION_STRING (the storage account's
\"Access keys\" page in the Azure portal), or AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY. For
Azurite, the workshop's local Azure server (docker compose --profile cloud up -d), lesson 7 names the values to
export.");

/// A server that does not answer is said within seconds, not after minutes of retries.
fn limits() -> (ClientOptions, RetryConfig) {
    // No limit on a whole request (a large download may take long), but on each silence within it.
    let options = ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        .with_read_timeout(Duration::from_secs(30))
        .with_timeout_disabled();
    let retry = RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(20),
        ..Default::default()
    };
    (options, retry)
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn s3_endpoint() -> Option<String> {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"].iter().find_map(|v| var(v))
}

fn server(url: &StorageUrl) -> String {
    match url {
        StorageUrl::S3 { .. } => s3_endpoint().unwrap_or_else(|| "AWS S3".into()),
        StorageUrl::Azure { .. }
            if var("AZURE_STORAGE_USE_EMULATOR").is_some_and(|v| v == "true") =>
        {
            var("AZURITE_BLOB_STORAGE_URL").unwrap_or_else(|| "http://127.0.0.1:10000".into())
        }
        StorageUrl::Azure { .. } => "Azure Blob Storage".into(),
        StorageUrl::Local(path) => path.display().to_string(),
    }
}

/// An object store's error as one screen that names the fix. Never a credential's value: only names.
pub fn explain(err: object_store::Error, url: &StorageUrl) -> anyhow::Error {
    let text = err.to_string();
    let (what, root) = match url {
        StorageUrl::Azure { container, .. } => ("container", container.as_str()),
        StorageUrl::S3 { bucket, .. } => ("bucket", bucket.as_str()),
        StorageUrl::Local(_) => ("folder", ""),
    };
    // "bucket `collect`": `what` and `root` as one phrase, each kind its own message.
    let thing = match url {
        StorageUrl::Azure { .. } => t!("container `{root}`", root),
        StorageUrl::S3 { .. } => t!("bucket `{root}`", root),
        StorageUrl::Local(_) => t!("folder `{root}`", root),
    };
    let keys = match url {
        StorageUrl::Azure { .. } => {
            t!("AZURE_STORAGE_CONNECTION_STRING (or AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY)")
        }
        _ => t!("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
    };
    let server = server(url);
    let message = match &err {
        object_store::Error::Unauthenticated { .. } | object_store::Error::PermissionDenied { .. } => t!(
            "{server} refused the credentials for {thing}: check {keys} (the key and its secret belong \
             together), then run the command again.",
            server,
            thing,
            keys
        ),
        _ if is_missing(&err) => missing(what, root, &server),
        _ if ["onnect", "dns error", "error sending request", "timed out"].iter().any(|n| text.contains(n)) => t!(
            "{server} does not answer: is the server running? For the workshop's local servers: docker compose \
             --profile cloud up -d. Check the address in the environment, then run the command again.",
            server
        ),
        _ if text.contains("403")
            || text.contains("AuthorizationFailure")
            || text.contains("SignatureDoesNotMatch") =>
        {
            t!(
                "{server} refused the credentials for {thing}: check {keys}, then run the command again.",
                server,
                thing,
                keys
            )
        }
        _ => t!("{server} failed for {url}: {text}", server, url, text),
    };
    anyhow::anyhow!(message)
}

/// The bucket or container is not there: the store says so by a status, or in words.
pub fn is_missing(err: &object_store::Error) -> bool {
    let text = err.to_string();
    matches!(err, object_store::Error::NotFound { .. })
        || ["NoSuchBucket", "ContainerNotFound", "404 Not Found"].iter().any(|n| text.contains(n))
}

fn missing(what: &str, root: &str, server: &str) -> String {
    let create = if what == "bucket" {
        format!("aws s3 mb s3://{root}")
    } else {
        format!("az storage container create --name {root}")
    };
    // One message a kind, each a whole sentence.
    let there_is_no = match what {
        "bucket" => n!(
            "There is no bucket `{root}` at {server}: create it first (in the cloud's console, or `{create}`), or \
             name one that exists. The workshop's local servers start with `collect`."
        ),
        "container" => n!(
            "There is no container `{root}` at {server}: create it first (in the cloud's console, or `{create}`), \
             or name one that exists. The workshop's local servers start with `collect`."
        ),
        _ => n!(
            "There is no folder `{root}` at {server}: create it first (in the cloud's console, or `{create}`), or \
             name one that exists. The workshop's local servers start with `collect`."
        ),
    };
    crate::ui::text::fill(there_is_no, &[("root", &root), ("server", &server), ("create", &create)])
}
