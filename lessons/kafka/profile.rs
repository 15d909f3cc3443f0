//! Connection profiles: `lesson --profile NAME` points the lessons that need only Kafka (4, 5, 7 and 9) at any
//! Kafka, a managed one included, named in `profiles.yml` in the learner's folder. Secrets stay in the
//! environment.

mod file;
mod reach;

use std::path::PathBuf;
use std::sync::OnceLock;

use super::connection::Connection;

pub use file::{load, FILE};
pub use reach::reach;

/// A profile read, its secret taken from the environment.
#[derive(Clone, Debug)]
pub struct Profile {
    pub name: String,
    /// The `profiles.yml` it was read from.
    pub file: PathBuf,
    pub connection: Connection,
    /// The variable its password came from.
    pub password_env: Option<String>,
}

impl Profile {
    /// `kcat` reaching this profile's Kafka, then `args`: the password is the shell's `"$VARIABLE"`, never its
    /// value.
    pub fn kcat(&self, args: &str) -> String {
        use crate::ui::text::shell_word;
        let mut line = format!("kcat -b {}", shell_word(&self.connection.bootstrap));
        for (key, value) in self.connection.settings() {
            let value = match (key, &self.password_env) {
                ("sasl.password", Some(variable)) => format!("\"${variable}\""),
                ("sasl.password", None) => continue,
                _ => shell_word(&value),
            };
            line += &format!(" -X {key}={value}");
        }
        format!("{line} {args}")
    }
}

static CURRENT: OnceLock<Profile> = OnceLock::new();

/// The profile this command works through: every Kafka client made after this reaches its Kafka.
pub fn install(profile: Profile) {
    let _ = CURRENT.set(profile);
}

pub fn current() -> Option<&'static Profile> {
    CURRENT.get()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::connection::{Connection, Login};

    #[test]
    fn kcat_names_the_password_variable_never_the_password() {
        let profile = Profile {
            name: "cloud".into(),
            file: "profiles.yml".into(),
            connection: Connection {
                bootstrap: "pkc-1.example.com:9092".into(),
                protocol: "SASL_SSL",
                ca_file: Some("my ca.pem".into()),
                ca_pem: None,
                login: Some(Login {
                    mechanism: "PLAIN",
                    username: "API-KEY".into(),
                    password: "s3cr3t-Value".into(),
                }),
            },
            password_env: Some("CLOUD_SECRET".into()),
        };
        assert_eq!(
            profile.kcat("-C -t dl -e"),
            "kcat -b pkc-1.example.com:9092 -X security.protocol=SASL_SSL -X sasl.mechanism=PLAIN \
             -X ssl.ca.location='my ca.pem' -X sasl.username=API-KEY -X sasl.password=\"$CLOUD_SECRET\" \
             -C -t dl -e"
        );
    }
}
