//! The certificate-login listener of an `x509` source (plain HTTP behind a proxy that
//! terminates mutual TLS, `[sources.proxy]`; otherwise this): TLS 1.2 and 1.3 (rustls, the
//! aws-lc-rs provider) asking for a client certificate but accepting any and none. The
//! handshake proves only that the client holds the certificate's key (its
//! CertificateVerify signature); whether the certificate is any good is judged by
//! `sources::x509`, so that every refusal gets a page instead of a TLS alert. No session
//! is resumed (no tickets, no cache): every connection is a full handshake, so a person
//! who inserts the token late and presses "Try again" is asked afresh.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::connection::{self, Deadlines};
use crate::config::{ListenerMode, TlsKey};
use crate::sources::X509Source;

/// A bound certificate listener and its TLS settings.
pub(super) struct Listener {
    pub listener: TcpListener,
    pub addr: SocketAddr,
    /// `None` behind a proxy that terminates TLS (`[sources.proxy]`): plain HTTP.
    pub acceptor: Option<TlsAcceptor>,
}

impl Listener {
    pub fn bind(source: &X509Source) -> std::io::Result<Listener> {
        let named = |key: &str, e: &dyn std::fmt::Display| {
            std::io::Error::other(format!("source `{}`: {key}: {e}", source.config.id))
        };
        let acceptor = match &source.kind.mode {
            ListenerMode::Tls { certificate, key } => Some(TlsAcceptor::from(
                tls_config(source, certificate, key).map_err(|e| named("tls_private_key", &e))?,
            )),
            ListenerMode::Proxy(_) => None,
        };
        let std_listener =
            std::net::TcpListener::bind(source.kind.listen).map_err(|e| named("listen", &e))?;
        std_listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(std_listener)?;
        Ok(Listener {
            addr: listener.local_addr()?,
            listener,
            acceptor,
        })
    }
}

fn tls_config(
    source: &X509Source,
    certificate: &[CertificateDer<'static>],
    key: &TlsKey,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = AnyClientCertificate {
        hints: source
            .kind
            .trust_anchors
            .iter()
            .chain(&source.kind.intermediates)
            .filter_map(|c| {
                x509_parser::parse_x509_certificate(c)
                    .ok()
                    .map(|(_, c)| DistinguishedName::from(c.subject().as_raw().to_vec()))
            })
            .collect(),
        algorithms: provider.signature_verification_algorithms,
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(certificate.to_vec(), key.0.clone_key())?;
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Asks for a certificate, takes any or none, and checks only the handshake's
/// signature by the certificate's key.
#[derive(Debug)]
struct AnyClientCertificate {
    /// The configured CAs' names, so a browser offers the certificates they issued.
    hints: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Judged after the handshake, by `sources::x509`, with a page for each refusal.
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// One connection: the handshake (within the header-read deadline, in this
/// connection's own task), then HTTP as on the main listener, each request carrying
/// the peer's chain.
pub(super) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    router: axum::Router,
    deadlines: Deadlines,
    shutdown: watch::Receiver<bool>,
) {
    let Some(acceptor) = acceptor else {
        // Behind the proxy: the certificate comes in a header, believed from it only.
        let router = router.layer(axum::Extension(crate::http::cert_login::CertConnection {
            chain: Arc::default(),
            peer,
        }));
        connection::serve(stream, Some(peer), router, deadlines, shutdown).await;
        return;
    };
    let tls = match tokio::time::timeout(deadlines.header_read, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "certificate listener: TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!("certificate listener: TLS handshake timed out");
            return;
        }
    };
    let chain: Vec<Vec<u8>> = tls
        .get_ref()
        .1
        .peer_certificates()
        .map(|certs| certs.iter().map(|c| c.as_ref().to_vec()).collect())
        .unwrap_or_default();
    let router = router.layer(axum::Extension(crate::http::cert_login::CertConnection {
        chain: Arc::new(chain),
        peer,
    }));
    connection::serve(tls, Some(peer), router, deadlines, shutdown).await;
}
