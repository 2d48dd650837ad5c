//! The certificate-field mapping (`sources::x509`, issue 20): the subject's UID
//! (`CCCD:`/`CMND:`/`MST:`), `serialNumber`, names, read from a client certificate.
//! The listener's TLS and the chain check come first in production, so the fuzzer's
//! bytes go to the mapping directly: a panic in parsing or mapping a (verified, but
//! CA-written) certificate would be a crash of the certificate login.

use x509_cert::der::{Decode, Encode};
use x509_cert::name::Name;

use crate::config::IssuerMapping;
use crate::model::{Loa, VerifiedIdentity};
use crate::sources::x509::{issuer_and_serial, map_certificate};

/// What the mapping made of one certificate.
#[derive(Debug)]
pub struct Mapped {
    /// With the default mapping (no `[[sources.issuers]]` entry for its CA).
    pub default: Option<VerifiedIdentity>,
    /// With an issuer mapping for its CA that reads `serialNumber` and marks smart cards.
    pub issuer_mapping: Option<VerifiedIdentity>,
    /// `issuer="..." serial=...`, as audited.
    pub audited: String,
}

/// The input is a certificate's DER; or, with a leading `N`, the subject as an RFC 4514
/// string (`uid=CCCD:079201000001,CN=...`), put into a certificate the harness builds
/// (unsigned: the mapping never looks at the signature), so the fuzzer explores the
/// attribute values without having to find valid DER first.
pub fn certificate_mapping(data: &[u8]) -> Option<Mapped> {
    let der = match data.split_first() {
        Some((b'N', subject)) => certificate_for(std::str::from_utf8(subject).ok()?)?,
        _ => data.to_vec(),
    };
    let loa = Loa::new(4).expect("level 4 exists");
    let default = map_certificate("fuzz-pki", loa, &[], &der);
    let issuer_mapping = x509_parser::parse_x509_certificate(&der)
        .ok()
        .and_then(|(_, cert)| {
            let mapping = IssuerMapping {
                subject: cert.issuer().as_raw().to_vec(),
                read_serial_number: true,
                smart_card: true,
            };
            map_certificate("fuzz-pki", loa, &[mapping], &der)
        });
    Some(Mapped {
        default,
        issuer_mapping,
        audited: issuer_and_serial(&der),
    })
}

/// A certificate with `subject` as subject and issuer (DER), from a fixed template.
fn certificate_for(subject: &str) -> Option<Vec<u8>> {
    // Attribute types by name only (`uid`, `CN`, `serialNumber`...): const-oid 0.9's
    // dotted-decimal parser overflows (a panic with debug assertions) on long arcs, in
    // this harness's text parser only; certificates carry OIDs as DER, read elsewhere.
    // A type that is not a known name goes to that parser too, so only known names pass,
    // and no escapes (which would split the text otherwise than here).
    const NAMES: &[&str] = &[
        "cn",
        "c",
        "l",
        "st",
        "o",
        "ou",
        "street",
        "dc",
        "uid",
        "serialnumber",
    ];
    let unknown_type = subject.contains('\\')
        || subject
            .split([',', '+'])
            .any(|part| match part.split_once('=') {
                Some((key, _)) => !NAMES.contains(&key.to_ascii_lowercase().as_str()),
                None => true,
            });
    if unknown_type {
        return None;
    }
    let name: Name = subject.parse().ok()?;
    let mut cert = x509_cert::Certificate::from_der(TEMPLATE).expect("the template parses");
    cert.tbs_certificate.subject = name.clone();
    cert.tbs_certificate.issuer = name;
    cert.to_der().ok()
}

/// A self-signed P-256 client certificate (made once with `openssl req -x509`), whose
/// names the structured mode replaces.
const TEMPLATE: &[u8] = include_bytes!("../../fuzz/corpus/certificate_mapping/seed-cccd");
