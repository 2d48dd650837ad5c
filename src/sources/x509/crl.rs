//! The CRLs of a certificate source: read from files or fetched over HTTP at start-up
//! and again on a schedule, and before the earliest `nextUpdate`. A location that
//! fails keeps its previous CRL (webpki then judges it stale or not by its
//! `nextUpdate` and the configured policy); a CRL's signature is checked against its
//! issuer by webpki whenever it is used.

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
    /// One slot per location; `None` until it is first read.
    loaded: RwLock<Arc<Vec<Option<CurrentCrl>>>>,
}

/// A CRL as read, with its `nextUpdate`.
#[derive(Debug, Clone)]
pub struct CurrentCrl {
    pub crl: Arc<CertRevocationList<'static>>,
    /// Unix seconds, when the CRL says.
    pub next_update: Option<i64>,
}

impl Crls {
    pub fn new(locations: Vec<CrlLocation>) -> Crls {
        let empty = vec![None; locations.len()];
        Crls {
            locations,
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
            match read(http, location).await.and_then(|der| parse(&der)) {
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

/// A CRL in DER, or in PEM (`BEGIN X509 CRL`).
fn parse(bytes: &[u8]) -> Result<CurrentCrl, String> {
    let der = if bytes.starts_with(b"-----BEGIN") {
        CertificateRevocationListDer::from_pem_slice(bytes)
            .map_err(|e| format!("not a PEM CRL: {e}"))?
            .as_ref()
            .to_vec()
    } else {
        bytes.to_vec()
    };
    let crl = OwnedCertRevocationList::from_der(&der).map_err(|e| format!("not a CRL: {e}"))?;
    let next_update = x509_parser::parse_x509_crl(&der)
        .ok()
        .and_then(|(_, c)| c.next_update())
        .map(|t| t.timestamp());
    Ok(CurrentCrl {
        crl: Arc::new(CertRevocationList::Owned(crl)),
        next_update,
    })
}
