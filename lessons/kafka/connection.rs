//! How a client reaches a Kafka: where, over which protocol, trusting which authority, logged in as whom.
//! Lesson 11's users and a connection profile (`lesson --profile NAME`) are these same settings, written once.

pub mod diagnose;
pub mod verdict;

use std::path::PathBuf;

use rdkafka::ClientConfig;

pub use verdict::{connect, Verdict, Watch};

#[derive(Clone, Debug)]
pub struct Connection {
    pub bootstrap: String,
    /// `security.protocol`: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.
    pub protocol: &'static str,
    /// `ssl.ca.location`: a file holding the authority that signed the broker's certificate. Without it (and
    /// without `ca_pem`), the system's authorities, as a managed Kafka's public certificate needs.
    pub ca_file: Option<PathBuf>,
    /// `ssl.ca.pem`, the text of an authority's certificate.
    pub ca_pem: Option<String>,
    pub login: Option<Login>,
}

/// A SASL login. Its password is never printed: `{:?}` shows a placeholder.
#[derive(Clone)]
pub struct Login {
    /// `sasl.mechanism`: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
    pub mechanism: &'static str,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &"(hidden)")
            .finish()
    }
}

impl Connection {
    /// A client that speaks plain Kafka: no TLS, no login.
    pub fn plaintext(bootstrap: &str) -> Connection {
        Connection {
            bootstrap: bootstrap.to_string(),
            protocol: "PLAINTEXT",
            ca_file: None,
            ca_pem: None,
            login: None,
        }
    }

    /// The librdkafka settings, bootstrap servers aside, in the order a client file lists them.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        let mut settings = vec![("security.protocol", self.protocol.to_string())];
        // A broker published on 127.0.0.1 only: `localhost` is also ::1 on many machines, and a refused ::1
        // would be reported before the answer on 127.0.0.1.
        if self.bootstrap.split(',').all(|server| server.trim().starts_with("localhost:")) {
            settings.push(("broker.address.family", "v4".into()));
        }
        if let Some(login) = &self.login {
            settings.push(("sasl.mechanism", login.mechanism.into()));
        }
        if let Some(path) = &self.ca_file {
            settings.push(("ssl.ca.location", path.display().to_string()));
        }
        if let Some(pem) = &self.ca_pem {
            settings.push(("ssl.ca.pem", pem.clone()));
        }
        if let Some(login) = &self.login {
            settings.push(("sasl.username", login.username.clone()));
            settings.push(("sasl.password", login.password.clone()));
        }
        settings
    }

    pub fn apply(&self, config: &mut ClientConfig) {
        config.set("bootstrap.servers", &self.bootstrap);
        for (key, value) in self.settings() {
            config.set(key, value);
        }
    }

    /// The workshop's base configuration, reaching Kafka this way.
    pub fn config(&self) -> ClientConfig {
        let mut config = super::config::base();
        self.apply(&mut config);
        config
    }

    /// The settings as a librdkafka properties file, as `kcat -F FILE` reads it (password included).
    pub fn client_file(&self) -> String {
        self.settings().iter().map(|(key, value)| format!("{key}={value}\n")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scram() -> Connection {
        Connection {
            bootstrap: "localhost:9093".into(),
            protocol: "SASL_SSL",
            ca_file: Some("secure/tls/ca.pem".into()),
            ca_pem: None,
            login: Some(Login {
                mechanism: "SCRAM-SHA-512",
                username: "writer".into(),
                password: "s3cret".into(),
            }),
        }
    }

    #[test]
    fn one_list_of_settings_for_clients_and_files() {
        let connection = scram();
        assert_eq!(
            connection.client_file(),
            "security.protocol=SASL_SSL\nbroker.address.family=v4\nsasl.mechanism=SCRAM-SHA-512\n\
             ssl.ca.location=secure/tls/ca.pem\nsasl.username=writer\nsasl.password=s3cret\n"
        );
        let config = connection.config();
        assert_eq!(config.get("bootstrap.servers"), Some("localhost:9093"));
        assert_eq!(config.get("sasl.password"), Some("s3cret"));
        assert_eq!(config.get("log_level"), Some("3"));
        assert!(!format!("{connection:?}").contains("s3cret"));
    }

    #[test]
    fn only_localhost_is_held_to_ipv4() {
        let remote = Connection { bootstrap: "ns.example.net:9093".into(), ..scram() };
        assert!(!remote.settings().iter().any(|(key, _)| *key == "broker.address.family"));
        let plain = Connection::plaintext("localhost:9092");
        assert_eq!(plain.client_file(), "security.protocol=PLAINTEXT\nbroker.address.family=v4\n");
    }
}
