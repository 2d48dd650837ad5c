//! OCSP (RFC 6960) for a certificate no fresh CRL covers: a request to the configured
//! responder, else to the certificate's AIA responder; the messages are x509-ocsp's,
//! the response's check is ours (RFC 6960 4.2.2.2): signed by the issuing CA itself,
//! or by a responder certificate that CA issued with `id-kp-OCSPSigning`, valid now;
//! the single response for our CertID, `thisUpdate` not in the future, `nextUpdate` not
//! past. Answers are cached until their `nextUpdate` (a minute without one).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, UnixTime};
use url::Url;
use webpki::{EndEntityCert, KeyUsage};
use x509_cert::der::asn1::{Null, OctetString};
use x509_cert::der::{Decode, Encode};
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    ResponderId, TbsRequest,
};

const SHA1: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const OCSP_BASIC: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
const AIA_OCSP: &str = "1.3.6.1.5.5.7.48.1";
/// id-kp-OCSPSigning, 1.3.6.1.5.5.7.3.9, as DER contents.
const OCSP_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09];
const TIMEOUT: Duration = Duration::from_secs(10);
/// How far a responder's clock may run ahead of ours.
const SKEW: i64 = 300;
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// What a responder said about one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Good,
    Revoked,
    Unknown,
}

#[derive(Debug, Default)]
pub struct Ocsp {
    /// A responder that answers for every CA, instead of each certificate's AIA.
    responder: Option<Url>,
    /// Keyed by the CertID's DER; the status and until when it holds.
    cache: Mutex<HashMap<Vec<u8>, (Status, i64)>>,
}

impl Ocsp {
    pub fn new(responder: Option<Url>) -> Ocsp {
        Ocsp {
            responder,
            cache: Mutex::default(),
        }
    }

    /// The status of `cert`, issued by `issuer` (both DER), or `None` when no responder
    /// answered with a response we could verify.
    pub async fn status(
        &self,
        http: &reqwest::Client,
        cert: &[u8],
        issuer: &[u8],
        now: i64,
    ) -> Option<Status> {
        let (id, url) = self.request_for(cert, issuer)?;
        let key = id.to_der().ok()?;
        if let Some((status, until)) = self.cache().get(&key).copied() {
            if until > now {
                return Some(status);
            }
        }
        // RFC 8954: a fresh nonce; a responder that echoes one must echo ours (one that
        // pre-computes its answers sends none, and is bounded by nextUpdate instead).
        let nonce = crate::random::token().expose().as_bytes()[..32].to_vec();
        let answer = match ask(http, &url, &id, &nonce).await {
            Ok(body) => check(&body, &id, &nonce, issuer, now),
            Err(e) => Err(e),
        };
        match answer {
            Ok((status, until)) => {
                self.cache().insert(key, (status, until));
                Some(status)
            }
            Err(e) => {
                tracing::warn!(responder = %url, error = %e, "OCSP gave no usable answer");
                None
            }
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, (Status, i64)>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn request_for(&self, cert: &[u8], issuer: &[u8]) -> Option<(CertId, Url)> {
        let (_, leaf) = x509_parser::parse_x509_certificate(cert).ok()?;
        let (_, ca) = x509_parser::parse_x509_certificate(issuer).ok()?;
        let url = self.responder.clone().or_else(|| aia_responder(&leaf))?;
        let sha1 = |b: &[u8]| {
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, b)
                .as_ref()
                .to_vec()
        };
        let id = CertId {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: SHA1,
                parameters: Some(Null.into()),
            },
            issuer_name_hash: OctetString::new(sha1(ca.subject().as_raw())).ok()?,
            issuer_key_hash: OctetString::new(sha1(&ca.public_key().subject_public_key.data))
                .ok()?,
            serial_number: x509_cert::serial_number::SerialNumber::new(leaf.raw_serial()).ok()?,
        };
        Some((id, url))
    }
}

fn aia_responder(cert: &x509_parser::certificate::X509Certificate<'_>) -> Option<Url> {
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::AuthorityInfoAccess(aia) => {
                aia.accessdescs.iter().find_map(|d| {
                    match (
                        &d.access_location,
                        d.access_method.to_id_string() == AIA_OCSP,
                    ) {
                        (GeneralName::URI(uri), true) => Url::parse(uri)
                            .ok()
                            .filter(|u| matches!(u.scheme(), "http" | "https")),
                        _ => None,
                    }
                })
            }
            _ => None,
        })
}

async fn ask(
    http: &reqwest::Client,
    url: &Url,
    id: &CertId,
    nonce: &[u8],
) -> Result<Vec<u8>, String> {
    use x509_cert::ext::AsExtension;
    let nonce = x509_ocsp::ext::Nonce::new(nonce.to_vec())
        .and_then(|n| n.to_extension(&x509_cert::name::Name::default(), &[]))
        .map_err(|e| e.to_string())?;
    let request = OcspRequest {
        tbs_request: TbsRequest {
            version: Default::default(),
            requestor_name: None,
            request_list: vec![Request {
                req_cert: id.clone(),
                single_request_extensions: None,
            }],
            request_extensions: Some(vec![nonce]),
        },
        optional_signature: None,
    };
    let body = request.to_der().map_err(|e| e.to_string())?;
    let response = http
        .post(url.clone())
        .header("content-type", "application/ocsp-request")
        .body(body)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err("response too large".into());
    }
    Ok(bytes.to_vec())
}

/// Checks a response (RFC 6960 4.2.2.2 and 3.2) and answers the status with the time
/// until which it may be cached.
fn check(
    body: &[u8],
    id: &CertId,
    nonce: &[u8],
    issuer: &[u8],
    now: i64,
) -> Result<(Status, i64), String> {
    let response =
        OcspResponse::from_der(body).map_err(|e| format!("not an OCSP response: {e}"))?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(format!("responder status {:?}", response.response_status));
    }
    let bytes = response.response_bytes.ok_or("no response bytes")?;
    if bytes.response_type != OCSP_BASIC {
        return Err("not a basic OCSP response".into());
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(|e| format!("not a basic OCSP response: {e}"))?;
    let tbs = basic
        .tbs_response_data
        .to_der()
        .map_err(|e| e.to_string())?;
    let signers = signers(&basic, issuer, now);
    let algorithm = basic
        .signature_algorithm
        .to_der()
        .map_err(|e| e.to_string())?;
    let algorithm = super::verify::contents(&algorithm);
    let signature = basic.signature.raw_bytes();
    let signed = signers
        .iter()
        .filter(|s| names(&basic.tbs_response_data.responder_id, s))
        .any(|s| super::verify::signed_by(s, algorithm, &tbs, signature));
    if !signed {
        return Err("the response is not signed by the CA or a responder it authorised".into());
    }
    if basic.nonce().is_some_and(|n| n.0.as_bytes() != nonce) {
        return Err("the response's nonce is not the request's".into());
    }
    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|r| same_certificate(&r.cert_id, id))
        .ok_or("no answer for the certificate asked about")?;
    let this_update = seconds(&single.this_update);
    if this_update > now + SKEW {
        return Err("thisUpdate is in the future".into());
    }
    let until = match single.next_update.as_ref().map(seconds) {
        Some(next) if next <= now => return Err("the answer is past its nextUpdate".into()),
        Some(next) => next,
        None => now + 60,
    };
    let status = match single.cert_status {
        CertStatus::Good(_) => Status::Good,
        CertStatus::Revoked(_) => Status::Revoked,
        CertStatus::Unknown(_) => Status::Unknown,
    };
    Ok((status, until))
}

/// The same CertID, however the responder encoded the hash algorithm's parameters.
fn same_certificate(a: &CertId, b: &CertId) -> bool {
    a.hash_algorithm.oid == b.hash_algorithm.oid
        && a.issuer_name_hash == b.issuer_name_hash
        && a.issuer_key_hash == b.issuer_key_hash
        && a.serial_number == b.serial_number
}

fn seconds(t: &x509_ocsp::OcspGeneralizedTime) -> i64 {
    t.0.to_unix_duration().as_secs() as i64
}

/// Who may have signed: the issuing CA, and each certificate in the response that the CA
/// issued for OCSP signing and that is valid now.
fn signers(basic: &BasicOcspResponse, issuer: &[u8], now: i64) -> Vec<Vec<u8>> {
    let mut out = vec![issuer.to_vec()];
    let issuer_der = CertificateDer::from(issuer);
    let Ok(anchor) = webpki::anchor_from_trusted_cert(&issuer_der) else {
        return out;
    };
    let time = UnixTime::since_unix_epoch(Duration::from_secs(now.max(0) as u64));
    for cert in basic.certs.iter().flatten() {
        let Ok(der) = cert.to_der() else { continue };
        let delegate = CertificateDer::from(der.as_slice());
        let Ok(ee) = EndEntityCert::try_from(&delegate) else {
            continue;
        };
        let authorised = ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            std::slice::from_ref(&anchor),
            &[],
            time,
            KeyUsage::required(OCSP_SIGNING),
            None,
            None,
        );
        match authorised {
            Ok(_) => out.push(der),
            Err(e) => {
                tracing::info!(error = %e, "an OCSP responder certificate not authorised by the CA")
            }
        }
    }
    out
}

/// Whether the ResponderID names this certificate (by subject, or by the SHA-1 of its key).
fn names(id: &ResponderId, cert: &[u8]) -> bool {
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert) else {
        return false;
    };
    match id {
        ResponderId::ByName(name) => name
            .to_der()
            .is_ok_and(|n| n.as_slice() == parsed.subject().as_raw()),
        ResponderId::ByKey(hash) => {
            let digest = aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
                &parsed.public_key().subject_public_key.data,
            );
            hash.as_bytes() == digest.as_ref()
        }
    }
}
