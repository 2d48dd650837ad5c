//! `kind = "x509"`: certificate login on a TLS listener of its own. The PEM files are
//! read here, at start-up, so a missing or unreadable file fails naming its key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use url::Url;

use super::file::{DurationText, duration};
use super::{ConfigError, err};
use crate::model::Loa;

/// A certificate-login source's own settings.
#[derive(Debug, Clone)]
pub struct X509SourceConfig {
    /// Where the certificate-login listener binds.
    pub listen: SocketAddr,
    /// How browsers reach that listener (`https://`), without a trailing slash.
    pub public_url: Url,
    /// TLS on the listener itself, or behind a proxy that terminates it.
    pub mode: ListenerMode,
    /// The roots a client certificate must chain to (DER).
    pub trust_anchors: Vec<CertificateDer<'static>>,
    /// Issuing CAs a client may leave out of its chain (DER).
    pub intermediates: Vec<CertificateDer<'static>>,
    /// CRLs, read from files or fetched from URLs.
    pub crls: Vec<CrlLocation>,
    /// How often the CRLs are read again (also before a CRL's `nextUpdate`).
    pub crl_refresh_interval: Duration,
    /// What a CRL past its `nextUpdate` means.
    pub stale_crl: RevocationPolicy,
    /// What a certificate whose revocation status neither a CRL nor OCSP gives means.
    pub revocation_unknown: RevocationPolicy,
    /// Ask OCSP about a certificate no fresh CRL covers.
    pub ocsp: bool,
    /// The responder to ask instead of each certificate's AIA responder.
    pub ocsp_responder: Option<Url>,
    /// How certificates of particular issuing CAs are read; others use the defaults.
    pub issuers: Vec<IssuerMapping>,
    pub trusted_for_linking: bool,
    pub creates_accounts: bool,
}

#[derive(Debug, Clone)]
pub enum ListenerMode {
    /// The listener terminates TLS: its own chain (leaf first) and key.
    Tls {
        certificate: Vec<CertificateDer<'static>>,
        key: TlsKey,
    },
    /// A reverse proxy terminates mutual TLS and passes the client certificate in a
    /// header; the listener speaks plain HTTP and believes the header only from these
    /// addresses.
    Proxy(ProxyConfig),
}

#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The header holding the client certificate (PEM, URL-encoded as nginx's
    /// `$ssl_client_escaped_cert`), lower case.
    pub header: String,
    pub trusted_proxies: Vec<IpNet>,
}

/// An address or a network (`10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    fn parse(text: &str) -> Option<IpNet> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse().ok()?, None),
        };
        let max = if matches!(addr, std::net::IpAddr::V4(_)) {
            32
        } else {
            128
        };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }
}

/// The listener's private key; never printed.
#[derive(Clone)]
pub struct TlsKey(pub Arc<PrivateKeyDer<'static>>);

impl std::fmt::Debug for TlsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlLocation {
    File(PathBuf),
    Url(Url),
}

/// Refuse the login, or go on as if the certificate were not revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationPolicy {
    Refuse,
    Accept,
}

/// How one issuing CA's certificates are read.
#[derive(Debug, Clone)]
pub struct IssuerMapping {
    /// The issuing CA's subject name (DER), which its certificates carry as issuer.
    pub subject: Vec<u8>,
    /// Read the subject's `serialNumber` (2.5.4.5) the same way as its UID (after it):
    /// for CAs that write the identifier there, or the tax code beside a person's UID.
    pub read_serial_number: bool,
    /// This CA issues keys on smart cards only: `amr` gets `sc` besides `hwk`.
    pub smart_card: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawX509 {
    pub(super) id: String,
    pub(super) display_name: Option<super::sources::RawDisplayName>,
    /// default 4
    pub(super) loa: Option<u8>,
    listen: String,
    public_url: String,
    /// required unless `[sources.proxy]` is given
    tls_certificate: Option<PathBuf>,
    /// required unless `[sources.proxy]` is given
    tls_private_key: Option<PathBuf>,
    /// default: none (the listener terminates TLS itself)
    proxy: Option<RawProxy>,
    trust_anchors: Vec<PathBuf>,
    /// default []
    #[serde(default)]
    intermediates: Vec<PathBuf>,
    /// default []: then every certificate's revocation status is unknown
    #[serde(default)]
    crls: Vec<String>,
    /// default "1h"
    crl_refresh_interval: Option<DurationText>,
    /// default "refuse" at level 4, "accept" below
    stale_crl: Option<RevocationPolicy>,
    /// default "refuse"
    revocation_unknown: Option<RevocationPolicy>,
    /// default true: ask OCSP about a certificate no fresh CRL covers
    ocsp: Option<bool>,
    /// default: each certificate's AIA responder
    ocsp_responder: Option<String>,
    /// default true: the certificate's national id links to the account holding it
    trusted_for_linking: Option<bool>,
    /// default true
    creates_accounts: Option<bool>,
    #[serde(default)]
    issuers: Vec<RawIssuer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProxy {
    /// default "X-SSL-Client-Cert"
    header: Option<String>,
    /// required: the proxies' addresses or networks
    trusted_proxies: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIssuer {
    /// The issuing CA's certificate (PEM), which names it.
    certificate: PathBuf,
    /// default false
    #[serde(default)]
    read_serial_number: bool,
    /// default false
    #[serde(default)]
    smart_card: bool,
}

fn certificates(key: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(key, format!("cannot read {}: {e}", path.display())))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            err(
                key,
                format!("{} is not PEM certificates: {e}", path.display()),
            )
        })?;
    if certs.is_empty() {
        return Err(err(
            key,
            format!(
                "{} holds no `BEGIN CERTIFICATE` block; give a PEM file",
                path.display()
            ),
        ));
    }
    for c in &certs {
        x509_parser::parse_x509_certificate(c).map_err(|e| {
            err(
                key,
                format!(
                    "{} holds a certificate that does not parse: {e}",
                    path.display()
                ),
            )
        })?;
    }
    Ok(certs)
}

fn all_certificates(
    key: &str,
    paths: &[PathBuf],
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let mut out = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        out.extend(certificates(&format!("{key}[{i}]"), p)?);
    }
    Ok(out)
}

pub(super) fn validate(
    key: impl Fn(&str) -> String,
    loa: Loa,
    raw: RawX509,
) -> Result<X509SourceConfig, ConfigError> {
    let listen = raw.listen.parse().map_err(|e| {
        err(
            key("listen"),
            format!("not an address such as 127.0.0.1:8443: {e}"),
        )
    })?;
    let public_url = Url::parse(raw.public_url.trim_end_matches('/'))
        .map_err(|e| err(key("public_url"), format!("not a URL: {e}")))?;
    if public_url.scheme() != "https" || public_url.query().is_some() {
        return Err(err(
            key("public_url"),
            "must be an https:// URL without a query: the listener speaks TLS",
        ));
    }
    let mode = match (raw.proxy, raw.tls_certificate, raw.tls_private_key) {
        (Some(proxy), None, None) => ListenerMode::Proxy(proxy_config(&key, proxy)?),
        (Some(_), _, _) => {
            return Err(err(
                key("proxy"),
                "behind a proxy the listener speaks plain HTTP: remove tls_certificate and tls_private_key, or [sources.proxy]",
            ));
        }
        (None, Some(cert), Some(private_key)) => ListenerMode::Tls {
            certificate: certificates(&key("tls_certificate"), &cert)?,
            key: TlsKey(Arc::new(
                PrivateKeyDer::from_pem_file(&private_key).map_err(|e| {
                    err(
                        key("tls_private_key"),
                        format!(
                            "cannot read a PEM private key from {}: {e}",
                            private_key.display()
                        ),
                    )
                })?,
            )),
        },
        (None, None, _) => {
            return Err(err(
                key("tls_certificate"),
                "missing: give the listener's certificate chain (PEM), or [sources.proxy]",
            ));
        }
        (None, Some(_), None) => {
            return Err(err(
                key("tls_private_key"),
                "missing: give the listener's private key (PEM)",
            ));
        }
    };
    if raw.trust_anchors.is_empty() {
        return Err(err(
            key("trust_anchors"),
            "give at least one root CA certificate (PEM)",
        ));
    }
    let trust_anchors = all_certificates(&key("trust_anchors"), &raw.trust_anchors)?;
    for (i, a) in trust_anchors.iter().enumerate() {
        webpki::anchor_from_trusted_cert(a).map_err(|e| {
            err(
                key("trust_anchors"),
                format!("certificate {i} cannot be a trust anchor: {e}"),
            )
        })?;
    }
    let intermediates = all_certificates(&key("intermediates"), &raw.intermediates)?;
    let crls = raw
        .crls
        .iter()
        .enumerate()
        .map(|(i, c)| crl_location(&key(&format!("crls[{i}]")), c))
        .collect::<Result<_, _>>()?;
    let crl_refresh_interval = duration(
        &key("crl_refresh_interval"),
        raw.crl_refresh_interval,
        "1h",
        Duration::from_secs(1),
        Duration::from_secs(7 * 24 * 3600),
    )?;
    let issuers = raw
        .issuers
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let k = key(&format!("issuers[{i}].certificate"));
            let cert = certificates(&k, &r.certificate)?;
            let (_, parsed) = x509_parser::parse_x509_certificate(&cert[0])
                .map_err(|e| err(&k, format!("does not parse: {e}")))?;
            Ok(IssuerMapping {
                subject: parsed.subject().as_raw().to_vec(),
                read_serial_number: r.read_serial_number,
                smart_card: r.smart_card,
            })
        })
        .collect::<Result<_, ConfigError>>()?;
    let ocsp_responder = raw
        .ocsp_responder
        .as_deref()
        .map(|u| {
            Url::parse(u)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| err(key("ocsp_responder"), "must be an http:// or https:// URL"))
        })
        .transpose()?;
    Ok(X509SourceConfig {
        ocsp: raw.ocsp.unwrap_or(true),
        ocsp_responder,
        listen,
        public_url,
        mode,
        trust_anchors,
        intermediates,
        crls,
        crl_refresh_interval,
        stale_crl: raw.stale_crl.unwrap_or(if loa >= Loa::new(4).expect("4") {
            RevocationPolicy::Refuse
        } else {
            RevocationPolicy::Accept
        }),
        revocation_unknown: raw.revocation_unknown.unwrap_or(RevocationPolicy::Refuse),
        issuers,
        trusted_for_linking: raw.trusted_for_linking.unwrap_or(true),
        creates_accounts: raw.creates_accounts.unwrap_or(true),
    })
}

fn proxy_config(key: &impl Fn(&str) -> String, raw: RawProxy) -> Result<ProxyConfig, ConfigError> {
    let header = raw.header.unwrap_or_else(|| "X-SSL-Client-Cert".to_owned());
    if header.is_empty()
        || !header
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(err(
            key("proxy.header"),
            "not a header name (letters, digits, `-`)",
        ));
    }
    if raw.trusted_proxies.is_empty() {
        return Err(err(
            key("proxy.trusted_proxies"),
            "give the proxies' addresses: the header is believed from them only",
        ));
    }
    let trusted_proxies = raw
        .trusted_proxies
        .iter()
        .enumerate()
        .map(|(i, t)| {
            IpNet::parse(t).ok_or_else(|| {
                err(
                    key(&format!("proxy.trusted_proxies[{i}]")),
                    "not an address or network such as 10.0.0.5 or 10.0.0.0/24",
                )
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(ProxyConfig {
        header: header.to_ascii_lowercase(),
        trusted_proxies,
    })
}

fn crl_location(key: &str, text: &str) -> Result<CrlLocation, ConfigError> {
    if text.starts_with("http://") || text.starts_with("https://") {
        // CRLs are signed, so plain http (how CAs publish them) is fine.
        return Url::parse(text)
            .map(CrlLocation::Url)
            .map_err(|e| err(key, format!("not a URL: {e}")));
    }
    let path = PathBuf::from(text);
    std::fs::metadata(&path)
        .map_err(|e| err(key, format!("cannot read {}: {e}", path.display())))?;
    Ok(CrlLocation::File(path))
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn source(dir: &std::path::Path, extra: &str) -> String {
        format!(
            "[[sources]]\nid = \"gov-pki\"\nkind = \"x509\"\nlisten = \"127.0.0.1:8443\"\n\
             public_url = \"https://cert.id.example.gov\"\n\
             tls_certificate = \"{d}/listener.pem\"\ntls_private_key = \"{d}/listener.key\"\n\
             trust_anchors = [\"{d}/root.pem\"]\n{extra}",
            d = dir.display()
        )
    }

    #[test]
    fn errors_name_the_key_at_fault() {
        let dir = tempfile::tempdir().unwrap();
        let e = Config::from_parts(&source(dir.path(), ""), &[]).unwrap_err();
        assert_eq!(e.key, "sources[0].tls_certificate", "{e}");
        assert!(e.message.contains("listener.pem"), "{e}");

        std::fs::write(dir.path().join("listener.pem"), "not PEM").unwrap();
        let e = Config::from_parts(&source(dir.path(), ""), &[]).unwrap_err();
        assert_eq!(e.key, "sources[0].tls_certificate", "{e}");
        assert!(e.message.contains("BEGIN CERTIFICATE"), "{e}");

        let e = Config::from_parts(
            &source(dir.path(), "").replace("https://cert", "http://cert"),
            &[],
        )
        .unwrap_err();
        assert_eq!(e.key, "sources[0].public_url", "{e}");

        let e =
            Config::from_parts(&source(dir.path(), "stale_crl = \"maybe\"\n"), &[]).unwrap_err();
        assert!(e.key.starts_with("sources[0]"), "{e}");
        let e = Config::from_parts(&source(dir.path(), "ocsp_url = \"x\"\n"), &[]).unwrap_err();
        assert!(
            e.message.contains("ocsp_url"),
            "an unknown key is refused: {e}"
        );
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        use super::IpNet;
        let net = IpNet::parse("10.0.0.0/24").unwrap();
        assert!(net.contains("10.0.0.77".parse().unwrap()));
        assert!(!net.contains("10.0.1.1".parse().unwrap()));
        assert!(
            net.contains("::ffff:10.0.0.9".parse().unwrap()),
            "v4-mapped"
        );
        let one = IpNet::parse("192.0.2.5").unwrap();
        assert!(one.contains("192.0.2.5".parse().unwrap()));
        assert!(!one.contains("192.0.2.6".parse().unwrap()));
        assert!(
            IpNet::parse("2001:db8::/32")
                .unwrap()
                .contains("2001:db8:1::1".parse().unwrap())
        );
        assert!(
            IpNet::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert_eq!(IpNet::parse("10.0.0.0/33"), None);
        assert_eq!(IpNet::parse("proxy.local"), None);
    }
}
