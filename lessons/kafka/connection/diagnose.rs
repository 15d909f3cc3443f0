//! Why a broker's certificate did not verify. OpenSSL, under librdkafka, says only "certificate verify failed";
//! the same TLS handshake made again with rustls, trusting the same authorities, names the cause.

use std::io::ErrorKind;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, ClientConnection, RootCertStore};

use super::Connection;

const PATIENCE: Duration = Duration::from_secs(5);

/// What is wrong with the certificate the first bootstrap server shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// Not signed by an authority the client trusts.
    UnknownAuthority,
    /// It does not hold the name the client dialled.
    OtherName(String),
    Expired,
    NotYetValid,
}

/// The cause, when the handshake can be made again and rustls names one of these.
pub async fn certificate(connection: &Connection) -> Option<Cause> {
    let connection = connection.clone();
    tokio::task::spawn_blocking(move || handshake(&connection)).await.ok().flatten()
}

fn handshake(connection: &Connection) -> Option<Cause> {
    let server = connection.bootstrap.split(',').next()?.trim();
    let (host, port) = server.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots(connection)?)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string()).ok()?;
    let mut tls = ClientConnection::new(Arc::new(config), name).ok()?;
    // As librdkafka with broker.address.family=v4: `localhost` is 127.0.0.1.
    let address =
        (host, port).to_socket_addrs().ok()?.find(|a| a.is_ipv4() || host != "localhost")?;
    let mut socket = TcpStream::connect_timeout(&address, PATIENCE).ok()?;
    socket.set_read_timeout(Some(PATIENCE)).ok()?;
    socket.set_write_timeout(Some(PATIENCE)).ok()?;
    while tls.is_handshaking() {
        if let Err(err) = tls.complete_io(&mut socket) {
            if err.kind() != ErrorKind::InvalidData {
                return None;
            }
            let refused = err.get_ref()?.downcast_ref::<rustls::Error>()?;
            return cause(refused, host);
        }
    }
    None
}

fn roots(connection: &Connection) -> Option<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let certificates: Vec<CertificateDer<'static>> = match (&connection.ca_file, &connection.ca_pem)
    {
        (Some(path), _) => CertificateDer::pem_file_iter(path).ok()?.flatten().collect(),
        (None, Some(pem)) => CertificateDer::pem_slice_iter(pem.as_bytes()).flatten().collect(),
        (None, None) => rustls_native_certs::load_native_certs().certs,
    };
    roots.add_parsable_certificates(certificates);
    Some(roots)
}

fn cause(refused: &rustls::Error, host: &str) -> Option<Cause> {
    let rustls::Error::InvalidCertificate(certificate) = refused else { return None };
    Some(match certificate {
        CertificateError::UnknownIssuer => Cause::UnknownAuthority,
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            Cause::OtherName(host.to_string())
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => Cause::Expired,
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            Cause::NotYetValid
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use rustls::pki_types::PrivateKeyDer;
    use rustls::{ServerConfig, ServerConnection};
    use time::{Duration as Days, OffsetDateTime};

    use super::*;
    use crate::secure::certs;

    /// A TLS server on 127.0.0.1 showing `broker` (key, certificate, authority, as lesson 11's broker.pem) to
    /// one client; its port.
    fn serve(broker: &str) -> anyhow::Result<u16> {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(broker.as_bytes()).flatten().collect();
        let key = PrivateKeyDer::from_pem_slice(broker.as_bytes())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        std::thread::spawn(move || {
            if let Ok((mut socket, _)) = listener.accept() {
                if let Ok(mut tls) = ServerConnection::new(Arc::new(config)) {
                    while tls.is_handshaking() && tls.complete_io(&mut socket).is_ok() {}
                }
            }
        });
        Ok(port)
    }

    fn dial(host: &str, port: u16, ca: &str) -> Connection {
        Connection {
            bootstrap: format!("{host}:{port}"),
            protocol: "SSL",
            ca_file: None,
            ca_pem: Some(ca.to_string()),
            login: None,
        }
    }

    #[test]
    fn each_refusal_is_named() -> anyhow::Result<()> {
        let now = OffsetDateTime::now_utc();
        let good = certs::make("Test CA", &certs::NAMES)?;
        let stranger = certs::make("Stranger CA", &certs::NAMES)?;
        let expired = certs::make_between(
            "Old CA",
            &certs::NAMES,
            now - Days::days(30),
            now - Days::days(1),
        )?;
        let port = serve(&good.broker)?;
        assert_eq!(handshake(&dial("localhost", port, &good.ca)), None, "a good certificate");
        let port = serve(&good.broker)?;
        assert_eq!(
            handshake(&dial("localhost", port, &stranger.ca)),
            Some(Cause::UnknownAuthority)
        );
        let port = serve(&good.broker)?;
        assert_eq!(
            handshake(&dial("127.0.0.1", port, &good.ca)),
            Some(Cause::OtherName("127.0.0.1".into()))
        );
        let port = serve(&expired.broker)?;
        assert_eq!(handshake(&dial("localhost", port, &expired.ca)), Some(Cause::Expired));
        Ok(())
    }
}
