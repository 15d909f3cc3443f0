//! Before a lesson works through a profile: its Kafka answers, and lets it in. A refusal is said at once, as
//! the broker or the TLS library gave it, with what in the profile to change.

use anyhow::{bail, Result};
use rdkafka::error::RDKafkaErrorCode as Code;

use super::Profile;
use crate::kafka::connection::diagnose::{self, Cause};
use crate::kafka::connection::{connect, Connection, Verdict};

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
        certificate_fix(connection).await
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

/// What to change when the broker's certificate did not verify: its cause when rustls names it.
async fn certificate_fix(connection: &Connection) -> String {
    let trusted = match &connection.ca_file {
        Some(path) => path.display().to_string(),
        None => t!("the system's authorities").to_string(),
    };
    match diagnose::certificate(connection).await {
        Some(Cause::UnknownAuthority) => t!(
            "The broker's certificate is not signed by an authority in {trusted}: name in ca_file the one that \
             signed it (lesson 11's is secure/tls/ca.pem).",
            trusted
        ),
        Some(Cause::OtherName(host)) => t!(
            "The broker's certificate does not hold the name {host}, which bootstrap dials: dial a name it holds \
             (lesson 11's holds localhost and kafka).",
            host
        ),
        Some(Cause::Expired) => t!(
            "The broker's certificate has expired: the broker needs a new one (lesson 11's: delete secure/tls/, \
             then lesson 11 --run, which starts the broker again with new ones)."
        )
        .to_string(),
        Some(Cause::NotYetValid) => {
            t!("The broker's certificate is not valid yet: is this machine's clock right?").to_string()
        }
        None => t!(
            "The broker's certificate did not verify against {trusted}. Either ca_file is not the authority that \
             signed it (lesson 11's is secure/tls/ca.pem), or bootstrap uses a name the certificate does not \
             hold (lesson 11's holds localhost and kafka, not 127.0.0.1), or it has expired (lesson 11's: delete \
             secure/tls/, then lesson 11 --run).",
            trusted
        ),
    }
}
