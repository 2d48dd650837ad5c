//! The CRLs of a certificate source: read from files or fetched over HTTP at start-up
//! and again on a schedule, and before the earliest `nextUpdate`. A CRL is taken only
//! when its signature verifies with the key of a configured CA of its issuer's name,
//! and never in place of a newer one (`thisUpdate`), so a forged or replayed CRL from
//! a CRL URL cannot displace the good one. A location that fails keeps its previous
//! CRL (then stale or not by its `nextUpdate` and the configured policy). webpki checks
//! the signature again, against the path's issuer, whenever the CRL is used.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls_pki_types::CertificateRevocationListDer;
use rustls_pki_types::pem::PemObject;
use webpki::{CertRevocationList, OwnedCertRevocationList};

use crate::config::CrlLocation;

/// How long one CRL download may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest CRL accepted (national CAs' CRLs run to a few megabytes).
const MAX_CRL_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug)]
pub struct Crls {
    locations: Vec<CrlLocation>,
    /// The configured roots and intermediates (DER): who may have signed a CRL.
    issuers: Vec<Vec<u8>>,
    /// One slot per location; `None` until it is first read.
    loaded: RwLock<Arc<Vec<Option<CurrentCrl>>>>,
}

/// A CRL as read, with its `nextUpdate`.
#[derive(Debug, Clone)]
pub struct CurrentCrl {
    pub crl: Arc<CertRevocationList<'static>>,
    /// Unix seconds, when the CRL says.
    pub next_update: Option<i64>,
    pub this_update: i64,
}

impl Crls {
    pub fn new(locations: Vec<CrlLocation>, issuers: Vec<Vec<u8>>) -> Crls {
        let empty = vec![None; locations.len()];
        Crls {
            locations,
            issuers,
            loaded: RwLock::new(Arc::new(empty)),
        }
    }

    /// The CRLs read so far.
    pub fn current(&self) -> Vec<CurrentCrl> {
        let loaded = self
            .loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        loaded.iter().flatten().cloned().collect()
    }

    /// Reads every location again; answers how many failed.
    pub async fn refresh(&self, http: &reqwest::Client) -> usize {
        let mut fresh = (**self.loaded.read().unwrap_or_else(|e| e.into_inner())).clone();
        let mut failed = 0;
        for (i, location) in self.locations.iter().enumerate() {
            let read = read(http, location)
                .await
                .and_then(|der| parse(&der, &self.issuers));
            match read {
                Ok(loaded)
                    if fresh[i]
                        .as_ref()
                        .is_some_and(|old| old.this_update > loaded.this_update) =>
                {
                    failed += 1;
                    tracing::warn!(crl = %describe(location), "a CRL older than the one held; keeping the newer one");
                }
                Ok(loaded) => fresh[i] = Some(loaded),
                Err(e) => {
                    failed += 1;
                    tracing::warn!(crl = %describe(location), error = %e, "reading a CRL failed; keeping the previous one");
                }
            }
        }
        *self.loaded.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
        failed
    }

    /// How long to wait before the next refresh: the interval, or less when a CRL's
    /// `nextUpdate` comes sooner (then a little after it, when the CA has published),
    /// or a minute when one is already past or failed.
    pub fn next_refresh(&self, interval: Duration, now: i64, failed: usize) -> Duration {
        let loaded = self
            .loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut wait = interval;
        if failed > 0 || loaded.iter().any(Option::is_none) {
            wait = wait.min(Duration::from_secs(60));
        }
        for next in loaded.iter().flatten().filter_map(|l| l.next_update) {
            let until = if next > now {
                Duration::from_secs((next - now) as u64 + 1)
            } else {
                Duration::from_secs(60)
            };
            wait = wait.min(until);
        }
        wait.max(Duration::from_secs(1))
    }
}

fn describe(location: &CrlLocation) -> String {
    match location {
        CrlLocation::File(p) => p.display().to_string(),
        CrlLocation::Url(u) => u.to_string(),
    }
}

async fn read(http: &reqwest::Client, location: &CrlLocation) -> Result<Vec<u8>, String> {
    match location {
        CrlLocation::File(path) => tokio::fs::read(path).await.map_err(|e| e.to_string()),
        CrlLocation::Url(url) => {
            let response = http
                .get(url.clone())
                .timeout(FETCH_TIMEOUT)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("HTTP {}", response.status()));
            }
            if response
                .content_length()
                .is_some_and(|n| n as usize > MAX_CRL_BYTES)
            {
                return Err("too large".into());
            }
            let body = response.bytes().await.map_err(|e| e.to_string())?;
            if body.len() > MAX_CRL_BYTES {
                return Err("too large".into());
            }
            Ok(body.to_vec())
        }
    }
}

/// A CRL in DER, or in PEM (`BEGIN X509 CRL`), signed by one of `issuers`.
fn parse(bytes: &[u8], issuers: &[Vec<u8>]) -> Result<CurrentCrl, String> {
    let der = if bytes.starts_with(b"-----BEGIN") {
        CertificateRevocationListDer::from_pem_slice(bytes)
            .map_err(|e| format!("not a PEM CRL: {e}"))?
            .as_ref()
            .to_vec()
    } else {
        bytes.to_vec()
    };
    let crl = OwnedCertRevocationList::from_der(&der).map_err(|e| format!("not a CRL: {e}"))?;
    let (_, parsed) = x509_parser::parse_x509_crl(&der).map_err(|e| format!("not a CRL: {e}"))?;
    if !signed_by_a_configured_ca(&der, &parsed, issuers) {
        return Err(
            "its signature does not verify with any configured CA of its issuer's name".into(),
        );
    }
    Ok(CurrentCrl {
        crl: Arc::new(CertRevocationList::Owned(crl)),
        next_update: parsed.next_update().map(|t| t.timestamp()),
        this_update: parsed.last_update().timestamp(),
    })
}

/// CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue }:
/// the signature over the TBS by a configured CA whose subject is the CRL's issuer.
fn signed_by_a_configured_ca(
    der: &[u8],
    parsed: &x509_parser::revocation_list::CertificateRevocationList<'_>,
    issuers: &[Vec<u8>],
) -> bool {
    use super::verify::{contents, element_len};
    let body = contents(der);
    let Some(tbs_len) = element_len(body) else {
        return false;
    };
    let (tbs, rest) = body.split_at(tbs_len.min(body.len()));
    let Some(alg_len) = element_len(rest) else {
        return false;
    };
    let algorithm = contents(&rest[..alg_len.min(rest.len())]);
    let signature = parsed.signature_value.data.as_ref();
    let issuer = parsed.tbs_cert_list.issuer.as_raw();
    issuers.iter().any(|ca| {
        x509_parser::parse_x509_certificate(ca).is_ok_and(|(_, c)| c.subject().as_raw() == issuer)
            && super::verify::signed_by(ca, algorithm, tbs, signature)
    })
}
