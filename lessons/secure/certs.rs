//! The lesson's certificate authority and the broker's certificate, made here: nothing is downloaded, and the
//! authority's key is never written, so nothing else can be signed with it.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// The names the broker's certificate holds: what a client on this machine dials, and its compose service.
/// No IP address: a client that dials 127.0.0.1 is refused, as a client dialling a wrong name must be.
pub const NAMES: [&str; 2] = ["localhost", "kafka"];
const DAYS: i64 = 365;

/// `secure/tls/`: `ca.pem`, which clients trust, and `broker.pem`, the broker's key and certificates.
pub fn folder(secure: &Path) -> PathBuf {
    secure.join("tls")
}

pub fn ca_file(secure: &Path) -> PathBuf {
    folder(secure).join("ca.pem")
}

pub fn broker_file(secure: &Path) -> PathBuf {
    folder(secure).join("broker.pem")
}

/// The PEM texts of a new authority's certificate and of a broker's key, certificate and that authority's
/// certificate, valid from yesterday (clocks differ) for a year.
pub struct Made {
    pub ca: String,
    pub broker: String,
}

/// A new authority named `authority`, and a certificate for `names` signed by it.
pub fn make(authority: &str, names: &[&str]) -> Result<Made> {
    let now = OffsetDateTime::now_utc();
    make_between(authority, names, now - Duration::days(1), now + Duration::days(DAYS))
}

/// As `make`, both valid from `from` until `until` (an expired pair, to see how a client takes it).
pub fn make_between(
    authority: &str,
    names: &[&str],
    from: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Made> {
    let failed = || t!("Failed to make a certificate");

    let mut params = CertificateParams::new(Vec::<String>::new()).with_context(failed)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.distinguished_name.push(DnType::CommonName, authority);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    (params.not_before, params.not_after) = (from, until);
    let ca_key = KeyPair::generate().with_context(failed)?;
    let ca = params.self_signed(&ca_key).with_context(failed)?;
    let issuer = Issuer::new(params, ca_key);

    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names.clone()).with_context(failed)?;
    params.distinguished_name.push(DnType::CommonName, names.first().cloned().unwrap_or_default());
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    (params.not_before, params.not_after) = (from, until);
    let key = KeyPair::generate().with_context(failed)?;
    let leaf = params.signed_by(&key, &issuer).with_context(failed)?;
    Ok(Made { broker: format!("{}{}{}", key.serialize_pem(), leaf.pem(), ca.pem()), ca: ca.pem() })
}

/// Whether `secure/tls/` holds both files.
pub fn present(secure: &Path) -> bool {
    ca_file(secure).is_file() && broker_file(secure).is_file()
}

/// Makes the lesson's authority and the broker's certificate into `secure/tls/`. The folder is yours alone; the
/// broker's file is readable by the broker's user inside its container (not root in every image).
pub fn write(secure: &Path) -> Result<()> {
    let made = make("Kafka workshop CA", &NAMES)?;
    let dir = folder(secure);
    std::fs::create_dir_all(&dir)
        .with_context(|| t!("Failed to create {path}", path = dir.display()))?;
    super::files::set_mode(&dir, 0o700)?;
    for (path, text) in [(broker_file(secure), made.broker), (ca_file(secure), made.ca)] {
        super::files::write_whole(&path, &text, 0o644)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_broker_file_holds_key_certificate_and_authority() -> Result<()> {
        let made = make("test CA", &NAMES)?;
        assert!(made.broker.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8, no password");
        assert_eq!(made.broker.matches("-----BEGIN CERTIFICATE-----").count(), 2);
        assert!(made.broker.ends_with(&made.ca));
        Ok(())
    }
}
