//! The users' passwords: made here, kept in `secure/secrets.env` (yours alone), never printed, never in the
//! compose file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

use super::User;
use crate::kafka::connection::Connection;

const LENGTH: usize = 24;
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

pub fn file(secure: &Path) -> PathBuf {
    secure.join("secrets.env")
}

/// Every user's password, as `secrets.env` holds them.
#[derive(Clone, PartialEq, Eq)]
pub struct Secrets(Vec<(User, String)>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(…)")
    }
}

impl Secrets {
    pub fn password(&self, user: User) -> &str {
        self.0.iter().find(|(u, _)| *u == user).map(|(_, p)| p.as_str()).unwrap_or_default()
    }

    /// Every password: what no output may contain.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(_, p)| p.as_str())
    }

    /// New passwords: 24 letters and digits from the operating system's random source.
    pub fn new() -> Result<Secrets> {
        let mut secrets = Vec::new();
        for user in User::ALL {
            let mut password = String::new();
            while password.len() < LENGTH {
                let mut bytes = [0u8; 64];
                getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
                // 248 = 4 × 62: taking only bytes below it leaves every character equally likely.
                password.extend(
                    bytes.iter().filter(|b| **b < 248).map(|b| ALPHABET[*b as usize % 62] as char),
                );
                password.truncate(LENGTH);
            }
            secrets.push((user, password));
        }
        Ok(Secrets(secrets))
    }

    /// `secrets.env` as `NAME=value` lines, which `set -a; . secure/secrets.env; set +a` exports.
    pub fn text(&self) -> String {
        let mut text =
            t!("# Lesson 11's passwords: yours alone (mode 600), never in the compose file.")
                .to_string();
        text.push('\n');
        for (user, password) in &self.0 {
            text += &format!("{}={password}\n", user.variable());
        }
        text
    }

    /// The passwords of `secure/secrets.env`; None when there is no such file.
    pub fn load(secure: &Path) -> Result<Option<Secrets>> {
        let path = file(secure);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| t!("Failed to read {path}", path = path.display()))
            }
        };
        let mut secrets = Vec::new();
        for user in User::ALL {
            let value = text
                .lines()
                .find_map(|l| l.trim().strip_prefix(user.variable())?.strip_prefix('='));
            match value.map(str::trim).filter(|v| !v.is_empty()) {
                Some(v) => secrets.push((user, v.to_string())),
                None => bail!(t!(
                    "{path} has no {variable}. To make every password anew (then run lesson 11 --run, which sets \
                     them on the broker): delete {path}",
                    path = path.display(),
                    variable = user.variable()
                )),
            }
        }
        Ok(Some(Secrets(secrets)))
    }

    /// Writes `secure/secrets.env`, readable by you alone.
    pub fn save(&self, secure: &Path) -> Result<()> {
        super::files::write_whole(&file(secure), &self.text(), 0o600)
    }
}

/// `secure/writer.conf`: a user's client settings, as `kcat -F` reads them (librdkafka's names).
pub fn client_file(secure: &Path, user: User) -> PathBuf {
    secure.join(format!("{}.conf", user.name()))
}

/// Writes `user`'s client settings, password included, readable by you alone.
pub fn write_client_file(secure: &Path, user: User, connection: &Connection) -> Result<()> {
    super::files::write_whole(&client_file(secure, user), &connection.client_file(), 0o600)
}

/// `secure/tls/plain.properties`: admin's password as the broker holds it for PLAIN logins (PLAIN has no hash
/// to keep, which is why SCRAM is the lesson's mechanism).
pub fn plain_file(secure: &Path) -> PathBuf {
    super::certs::folder(secure).join("plain.properties")
}

/// Writes the PLAIN users file when it does not say what `secrets` say; whether it did (the broker reads it only
/// when it starts). Readable by the broker's user in its container; the folder is yours alone.
pub fn write_plain_file(secure: &Path, secrets: &Secrets) -> Result<bool> {
    let text = format!(
        "jaas=org.apache.kafka.common.security.plain.PlainLoginModule required user_admin=\"{}\";\n",
        secrets.password(User::Admin)
    );
    let path = plain_file(secure);
    if std::fs::read_to_string(&path).is_ok_and(|was| was == text) {
        return Ok(false);
    }
    super::files::write_whole(&path, &text, 0o644)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_random_and_survive_the_file() -> Result<()> {
        let secrets = Secrets::new()?;
        assert!(secrets
            .all()
            .all(|p| p.len() == LENGTH && p.bytes().all(|b| ALPHABET.contains(&b))));
        assert_ne!(secrets.password(User::Writer), secrets.password(User::Reader));
        let dir = std::env::temp_dir().join(format!("secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        secrets.save(&dir)?;
        assert!(super::super::files::private(&file(&dir)));
        assert_eq!(Secrets::load(&dir)?, Some(secrets.clone()));
        assert!(!format!("{secrets:?}").contains(secrets.password(User::Admin)));
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
