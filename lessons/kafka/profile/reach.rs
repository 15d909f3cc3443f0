//! Before a lesson works through a profile: its Kafka answers, and lets it in. A refusal is said at once, as
//! the broker or the TLS library gave it, with what in the profile to change.

use anyhow::{bail, Result};
use rdkafka::error::RDKafkaErrorCode as Code;

use super::Profile;
use crate::kafka::connection::{connect, Verdict};

pub async fn reach(profile: &Profile) -> Result<()> {
    let verdict = crate::ui::progress::while_running(
        &t!(
            "Kafka at {bootstrap} to let profile `{name}` in",
            bootstrap = profile.connection.bootstrap,
            name = profile.name
        ),
        connect(&profile.connection),
    )
    .await?;
    let Verdict::Refused(code, reason) = &verdict else { return Ok(()) };
    let (name, file) = (&profile.name, profile.file.display());
    let connection = &profile.connection;
    // librdkafka words a certificate refusal in two ways, as the handshake or the first read finds it.
    let why = match verdict.certificate_refused() {
        true => t!("the TLS library refused the broker's certificate (certificate verify failed)")
            .to_string(),
        false => verdict.reason(),
    };
    let said = t!(
        "Kafka at {bootstrap} did not let profile `{name}` in: {reason}",
        bootstrap = connection.bootstrap,
        name,
        reason = why
    );
    let fix = if *code == Code::Authentication {
        let user = connection.login.as_ref().map(|l| l.username.as_str()).unwrap_or_default();
        let variable = profile.password_env.as_deref().unwrap_or_default();
        t!(
            "The login was refused: check username ({user}) and sasl_mechanism in {file}, and the password in \
             {variable}. For lesson 11's broker: set -a; . secure/secrets.env; set +a",
            user,
            file,
            variable
        )
    } else if verdict.certificate_refused()
        || (*code == Code::SSL && reason.contains("certificate"))
    {
        let trusted = match &connection.ca_file {
            Some(path) => path.display().to_string(),
            None => t!("the system's authorities").to_string(),
        };
        t!(
            "The broker's certificate did not verify against {trusted}. Either ca_file is not the authority that \
             signed it (lesson 11's is secure/tls/ca.pem), or bootstrap uses a name the certificate does not \
             hold (lesson 11's holds localhost and kafka, not 127.0.0.1), or it has expired (lesson 11's: delete \
             secure/tls/, then lesson 11 --run).",
            trusted
        )
    } else {
        t!(
            "Check bootstrap and security_protocol ({protocol}) in {file}: the port must speak that protocol, and \
             a managed Kafka's address is on its console's connection page.",
            protocol = connection.protocol,
            file
        )
    };
    bail!("{said}\n{fix}")
}
