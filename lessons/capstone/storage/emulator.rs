//! Azurite, Microsoft's Azure Storage emulator, starts without containers. The workshop makes the one the learner
//! names on first use, as the S3 server's compose service makes its bucket, and only there: on Azure itself a
//! missing container is the learner's to create. object_store stores and reads objects but creates no container,
//! hence this one request, signed with the emulator's published development key.

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const ACCOUNT: &str = "devstoreaccount1";
/// The emulator's well-known key, the same in every copy of Azurite (documented by Microsoft): not a secret.
const DEVELOPMENT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const API_VERSION: &str = "2021-08-06";

/// The emulator's address when the environment asks for it (object_store's own variables), else None.
pub fn address() -> Option<String> {
    let on = std::env::var("AZURE_STORAGE_USE_EMULATOR").is_ok_and(|v| v.trim() == "true")
        || std::env::var("AZURE_STORAGE_CONNECTION_STRING").is_ok_and(|c| {
            c.contains("UseDevelopmentStorage=true")
                || c.contains(&format!("AccountName={ACCOUNT}"))
        });
    let url = std::env::var("AZURITE_BLOB_STORAGE_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:10000".into());
    on.then(|| url.trim_end_matches('/').to_string())
}

/// Creates `container` in the emulator at `address`; Ok(false) when it was there already.
pub async fn create_container(address: &str, container: &str) -> Result<bool> {
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let path = format!("/{ACCOUNT}/{container}");
    // Shared Key: the verb, eleven empty standard headers, the x-ms- headers, then the resource.
    let to_sign = format!(
        "PUT{}x-ms-date:{date}\nx-ms-version:{API_VERSION}\n/{ACCOUNT}{path}\nrestype:container",
        "\n".repeat(12)
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(DEVELOPMENT_KEY)
        .context(t!("the development key"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).context(t!("the development key"))?;
    mac.update(to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()?;
    let answer = client
        .put(format!("{address}{path}?restype=container"))
        .header("x-ms-date", &date)
        .header("x-ms-version", API_VERSION)
        .header("Content-Length", "0")
        .header("Authorization", format!("SharedKey {ACCOUNT}:{signature}"))
        .send()
        .await
        .with_context(|| {
            t!(
                "Azurite at {address} does not answer: docker compose --profile cloud up -d",
                address
            )
        })?;
    match answer.status().as_u16() {
        201 => Ok(true),
        409 => Ok(false),
        status => {
            let said = answer.text().await.unwrap_or_default();
            bail!(t!(
                "Azurite at {address} refused to create container `{container}` ({status}): {said}",
                address,
                container,
                status,
                said
            ))
        }
    }
}
