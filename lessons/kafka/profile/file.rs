//! `profiles.yml`: each profile a name and its settings; every mistake refused with the line to change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use serde::Deserialize;

use super::Profile;
use crate::kafka::connection::{Connection, Login};

pub const FILE: &str = "profiles.yml";

const FIELDS: &[&str] =
    &["bootstrap", "security_protocol", "sasl_mechanism", "username", "password_env", "ca_file"];
const PROTOCOLS: &[&str] = &["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];
const MECHANISMS: &[&str] = &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    bootstrap: String,
    security_protocol: String,
    sasl_mechanism: Option<String>,
    username: Option<String>,
    password_env: Option<String>,
    ca_file: Option<PathBuf>,
}

/// Profile `name` of `dir/profiles.yml`, its password read from the variable it names.
pub fn load(dir: &Path, name: &str) -> Result<Profile> {
    let file = dir.join(FILE);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => bail!(t!(
            "--profile {name} reads {path}, and there is none. Write it: the book's chapter 11 (Connection \
             profiles) shows one for lesson 11's broker, Event Hubs, Confluent Cloud and MSK.",
            name,
            path = file.display()
        )),
        Err(err) => {
            return Err(err).with_context(|| t!("Failed to read {path}", path = file.display()))
        }
    };
    let within = |err: anyhow::Error| anyhow!("{}: {err}", file.display());
    let entry = entry(&text, name).map_err(within)?;
    let base = file.parent().unwrap_or(dir);
    let (connection, password_env) = connection(entry, base).map_err(|err| {
        anyhow!(t!("{path}, profile `{name}`: {err}", path = file.display(), name, err))
    })?;
    Ok(Profile { name: name.to_string(), file, connection, password_env })
}

/// The entry called `name`, its fields checked by name (a literal password refused, without repeating it).
fn entry(text: &str, name: &str) -> Result<Entry> {
    let all: BTreeMap<String, serde_norway::Value> =
        serde_norway::from_str(text).map_err(|err| anyhow::anyhow!(err.to_string()))?;
    let Some(value) = all.get(name) else {
        let names: Vec<&str> = all.keys().map(String::as_str).collect();
        bail!(t!(
            "There is no profile `{name}`. The file names: {names}.",
            name,
            names = if names.is_empty() { "—".to_string() } else { names.join(", ") }
        ));
    };
    if let Some(map) = value.as_mapping() {
        let variable = map.iter().find(|(key, _)| key.as_str() == Some("password_env"));
        if variable.is_some_and(|(_, value)| !value.is_string()) {
            bail!(not_a_variable());
        }
        if map.keys().any(|key| key.as_str() == Some("password")) {
            bail!(t!(
                "Profile `{name}` holds a password: this file keeps none. Put the password in an environment \
                 variable and name the variable instead: password_env: VARIABLE",
                name
            ));
        }
    }
    serde_norway::from_value(value.clone()).map_err(|err| {
        let said = err.to_string();
        let guess = unknown_field(&said)
            .and_then(closest)
            .map(|field| t!(" Did you mean `{field}`?", field));
        anyhow::anyhow!(t!(
            "Profile `{name}`: {said}.{guess}",
            name,
            said,
            guess = guess.unwrap_or_default()
        ))
    })
}

fn connection(entry: Entry, base: &Path) -> Result<(Connection, Option<String>)> {
    let protocol = one_of(&entry.security_protocol, PROTOCOLS, "security_protocol")?;
    let sasl = protocol.starts_with("SASL_");
    let tls = protocol.ends_with("SSL");
    if entry.bootstrap.trim().is_empty() || !entry.bootstrap.contains(':') {
        bail!(t!(
            "bootstrap needs HOST:PORT (more than one separated by commas), such as localhost:9093"
        ));
    }
    let login = match (sasl, &entry.sasl_mechanism, &entry.username, &entry.password_env) {
        (true, Some(mechanism), Some(username), Some(variable)) => {
            let mechanism = one_of(mechanism, MECHANISMS, "sasl_mechanism")?;
            Some(Login { mechanism, username: username.clone(), password: secret(variable)? })
        }
        (true, ..) => bail!(t!(
            "security_protocol {protocol} logs in: give sasl_mechanism, username and password_env (the variable \
             holding the password)",
            protocol
        )),
        (false, None, None, None) => None,
        (false, ..) => bail!(t!(
            "sasl_mechanism, username and password_env go with security_protocol SASL_SSL (or SASL_PLAINTEXT); \
             {protocol} logs in without them",
            protocol
        )),
    };
    let ca_file = match entry.ca_file {
        Some(_) if !tls => bail!(t!(
            "ca_file checks a TLS certificate, and {protocol} has no TLS: use SASL_SSL or SSL, or remove ca_file",
            protocol
        )),
        Some(path) => {
            let path = base.join(path);
            if let Err(err) = std::fs::File::open(&path) {
                bail!(t!(
                    "ca_file {path} cannot be read ({err}). Name the file holding the authority that signed the \
                     broker's certificate; relative paths start at the folder of profiles.yml. Lesson 11's is \
                     secure/tls/ca.pem, written by lesson 11 --run.",
                    path = path.display(),
                    err
                ));
            }
            Some(path)
        }
        None => None,
    };
    let password_env = entry.password_env.filter(|_| sasl);
    let connection = Connection {
        bootstrap: entry.bootstrap.trim().to_string(),
        protocol,
        ca_file,
        ca_pem: None,
        login,
    };
    Ok((connection, password_env))
}

/// The password in `variable`. What was given is repeated only when it is written as variables are (capitals,
/// digits, _): a password written where the name goes (lesson 11's are letters and digits) is never printed.
fn secret(variable: &str) -> Result<String> {
    let named = !variable.is_empty()
        && !variable.starts_with(|c: char| c.is_ascii_digit())
        && variable.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !named {
        bail!(not_a_variable());
    }
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => Ok(value),
        _ => bail!(t!(
            "The password is read from the environment variable {variable}, which is not set here. Set it in this \
             shell: export {variable}=… (lesson 11's passwords: set -a; . secure/secrets.env; set +a)",
            variable
        )),
    }
}

fn not_a_variable() -> String {
    t!(
        "password_env names the environment variable that holds the password, in capitals, digits and _ (such as \
         MY_KAFKA_PASSWORD), not the password itself: what is written there is not repeated here, in case it is. \
         Then: export MY_KAFKA_PASSWORD=…"
    )
    .to_string()
}

/// `value` as one of `allowed` (any case), or what to write instead.
fn one_of(value: &str, allowed: &[&'static str], field: &str) -> Result<&'static str> {
    let upper = value.trim().to_ascii_uppercase();
    if let Some(found) = allowed.iter().find(|a| **a == upper) {
        return Ok(found);
    }
    let why = match upper.as_str() {
        "OAUTHBEARER" => t!(
            " OAUTHBEARER needs a token provider this program does not have: use an API key with PLAIN, or a \
             SCRAM user."
        )
        .to_string(),
        "AWS_MSK_IAM" => t!(" MSK's IAM sign-in is not a SASL mechanism librdkafka has: give MSK a SCRAM user.").to_string(),
        _ => String::new(),
    };
    bail!(t!(
        "{field}: {value} is not one of {allowed}.{why}",
        field,
        value,
        allowed = allowed.join(", "),
        why
    ))
}

/// `unknown field `pasword_env`, expected …`: the field written.
fn unknown_field(said: &str) -> Option<&str> {
    said.strip_prefix("unknown field `")?.split('`').next()
}

/// The field a typo most likely meant: at most two edits away.
fn closest(written: &str) -> Option<&'static str> {
    FIELDS
        .iter()
        .map(|field| (edits(written, field), *field))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, field)| field)
}

fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: &str = "\
local:
  bootstrap: localhost:9093
  security_protocol: SASL_SSL
  sasl_mechanism: SCRAM-SHA-512
  username: admin
  password_env: WORKSHOP_PROFILE_TEST_PASSWORD
";

    fn folder(text: &str) -> Result<PathBuf> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("profiles-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(FILE), text)?;
        Ok(dir)
    }

    fn refusal(text: &str, name: &str) -> String {
        match folder(text).and_then(|dir| load(&dir, name)) {
            Ok(profile) => format!("loaded {profile:?}"),
            Err(err) => format!("{err:#}"),
        }
    }

    #[test]
    fn a_profile_reads_its_password_from_the_environment() -> Result<()> {
        std::env::set_var("WORKSHOP_PROFILE_TEST_PASSWORD", "s3cret-value");
        let profile = load(&folder(LOCAL)?, "local")?;
        let login =
            profile.connection.login.as_ref().map(|l| (l.username.as_str(), l.password.as_str()));
        assert_eq!(login, Some(("admin", "s3cret-value")));
        assert_eq!(profile.connection.protocol, "SASL_SSL");
        assert_eq!(profile.password_env.as_deref(), Some("WORKSHOP_PROFILE_TEST_PASSWORD"));
        assert!(!format!("{profile:?}").contains("s3cret-value"));
        Ok(())
    }

    #[test]
    fn every_mistake_names_its_fix() {
        let typo = LOCAL.replace("password_env", "pasword_env");
        assert!(
            refusal(&typo, "local").contains("Did you mean `password_env`?"),
            "{}",
            refusal(&typo, "local")
        );
        assert!(
            refusal(LOCAL, "cloud").contains("There is no profile `cloud`. The file names: local.")
        );
        let literal =
            LOCAL.replace("password_env: WORKSHOP_PROFILE_TEST_PASSWORD", "password: hunter22");
        let said = refusal(&literal, "local");
        assert!(said.contains("this file keeps none") && !said.contains("hunter22"), "{said}");
        for written in ["hunter2!2", "Xq7pLm2vRt9sKw4bNc8dFg3h", "123456"] {
            let in_place = LOCAL.replace("WORKSHOP_PROFILE_TEST_PASSWORD", written);
            let said = refusal(&in_place, "local");
            assert!(said.contains("not the password itself") && !said.contains(written), "{said}");
        }
        let unset = LOCAL.replace("WORKSHOP_PROFILE_TEST_PASSWORD", "WORKSHOP_PROFILE_TEST_UNSET");
        assert!(refusal(&unset, "local").contains("WORKSHOP_PROFILE_TEST_UNSET, which is not set"));
        std::env::set_var("WORKSHOP_PROFILE_TEST_OTHER", "x");
        let oauth = LOCAL
            .replace("SCRAM-SHA-512", "OAUTHBEARER")
            .replace("WORKSHOP_PROFILE_TEST_PASSWORD", "WORKSHOP_PROFILE_TEST_OTHER");
        assert!(refusal(&oauth, "local").contains("OAUTHBEARER needs a token provider"));
        let missing_ca =
            format!("{oauth}  ca_file: nowhere/ca.pem\n").replace("OAUTHBEARER", "PLAIN");
        assert!(refusal(&missing_ca, "local").contains("nowhere/ca.pem cannot be read"));
        let plain_ca =
            "p:\n  bootstrap: localhost:9092\n  security_protocol: plaintext\n  ca_file: ca.pem\n";
        assert!(refusal(plain_ca, "p").contains("PLAINTEXT has no TLS"));
        let no_port = "p:\n  bootstrap: localhost\n  security_protocol: PLAINTEXT\n";
        assert!(refusal(no_port, "p").contains("bootstrap needs HOST:PORT"));
    }

    #[test]
    fn typos_within_two_edits() {
        assert_eq!(closest("bootstrap_servers"), None);
        assert_eq!(closest("bootstap"), Some("bootstrap"));
        assert_eq!(closest("cafile"), Some("ca_file"));
        assert_eq!(edits("kitten", "sitting"), 3);
    }
}
