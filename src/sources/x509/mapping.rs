//! Certificate fields to Portico claims. Many Vietnamese CAs write the holder's
//! identifier into the subject's UID attribute (0.9.2342.19200300.100.1.1):
//! `CCCD:<12 digits>` or `CMND:<9 or 12 digits>` for a person, `MST:<tax code>` for an
//! organisation; some use `serialNumber` (2.5.4.5) the same way (or for the tax code
//! beside a person's UID), read after the UID when the issuing CA's mapping says so. A certificate naming both is the person's, recorded as the
//! enterprise's representative (`representative_of` = its tax code).

use x509_parser::certificate::X509Certificate;

use crate::config::IssuerMapping;
use crate::model::{Attribute, Loa, VerifiedIdentity};

const UID: &str = "0.9.2342.19200300.100.1.1";
const SERIAL_NUMBER: &str = "2.5.4.5";
const COMMON_NAME: &str = "2.5.4.3";
const GIVEN_NAME: &str = "2.5.4.42";
const SURNAME: &str = "2.5.4.4";

/// Who a subject attribute value names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Named {
    /// A person's national identifier (citizen id card or the older identity card).
    Person { prefix: &'static str, id: String },
    /// An organisation's tax code (10 digits, or 13 with a branch suffix `-NNN`).
    Enterprise { tax_code: String },
}

fn digits(s: &str, lengths: &[usize]) -> bool {
    lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

fn named(value: &str) -> Option<Named> {
    let (prefix, rest) = value.trim().split_once(':')?;
    let rest = rest.trim();
    match prefix.trim().to_ascii_uppercase().as_str() {
        "CCCD" if digits(rest, &[12]) => Some(Named::Person {
            prefix: "CCCD",
            id: rest.to_owned(),
        }),
        "CMND" if digits(rest, &[9, 12]) => Some(Named::Person {
            prefix: "CMND",
            id: rest.to_owned(),
        }),
        "MST" => {
            let (main, branch) = rest.split_once('-').unwrap_or((rest, ""));
            let ok = digits(main, &[10]) && (branch.is_empty() || digits(branch, &[3]));
            ok.then(|| Named::Enterprise {
                tax_code: rest.to_owned(),
            })
        }
        _ => None,
    }
}

fn values<'a>(cert: &'a X509Certificate<'_>, oid: &'a str) -> impl Iterator<Item = &'a str> {
    cert.subject()
        .iter_attributes()
        .filter(move |a| a.attr_type().to_id_string() == oid)
        .filter_map(|a| a.as_str().ok())
}

/// The verified identity a valid certificate gives at source `source_id` (level
/// `loa`), or `None` when it names nobody Portico reads (or does not parse). Called only
/// after the chain was verified; the fuzz target calls it on any bytes.
pub fn identity(
    source_id: &str,
    loa: Loa,
    issuers: &[IssuerMapping],
    leaf: &[u8],
) -> Option<VerifiedIdentity> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf).ok()?;
    let mapping = issuers
        .iter()
        .find(|m| m.subject.as_slice() == cert.issuer().as_raw());
    let mut found: Vec<Named> = values(&cert, UID).filter_map(named).collect();
    if mapping.is_some_and(|m| m.read_serial_number) {
        found.extend(values(&cert, SERIAL_NUMBER).filter_map(named));
    }
    let person = found.iter().find_map(|n| match n {
        Named::Person { prefix, id } => Some((*prefix, id.clone())),
        _ => None,
    });
    let enterprise = found.iter().find_map(|n| match n {
        Named::Enterprise { tax_code } => Some(tax_code.clone()),
        _ => None,
    });
    let attr = |claim: &str, value: &str| Attribute {
        claim: claim.to_owned(),
        value: value.to_owned(),
        verified: true,
    };
    let mut attributes = Vec::new();
    if let Some(cn) = values(&cert, COMMON_NAME).next() {
        attributes.push(attr("name", cn));
    }
    let subject = match (person, enterprise) {
        (Some((prefix, id)), enterprise) => {
            attributes.push(attr("national_id", &id));
            attributes.push(attr("account_kind", "citizen"));
            if let Some(g) = values(&cert, GIVEN_NAME).next() {
                attributes.push(attr("given_name", g));
            }
            if let Some(f) = values(&cert, SURNAME).next() {
                attributes.push(attr("family_name", f));
            }
            if let Some(tax_code) = enterprise {
                attributes.push(attr("representative_of", &tax_code));
                // Which certificate showed it, stored with the representation.
                attributes.push(attr("representative_certificate", &named_in(&cert)));
            }
            format!("{prefix}:{id}")
        }
        (None, Some(tax_code)) => {
            attributes.push(attr("tax_code", &tax_code));
            attributes.push(attr("account_kind", "enterprise"));
            format!("MST:{tax_code}")
        }
        (None, None) => return None,
    };
    let mut amr = vec!["hwk".to_owned()];
    if mapping.is_some_and(|m| m.smart_card) {
        amr.push("sc".to_owned());
    }
    Some(VerifiedIdentity {
        source_id: source_id.to_owned(),
        subject,
        loa,
        amr,
        attributes,
    })
}

/// `issuer="..." serial=...` for the audit trail (empty parts when it does not parse).
pub fn issuer_and_serial(leaf: &[u8]) -> String {
    match x509_parser::parse_x509_certificate(leaf) {
        Ok((_, cert)) => named_in(&cert),
        Err(_) => "issuer=? serial=?".to_owned(),
    }
}

fn named_in(cert: &X509Certificate<'_>) -> String {
    format!(
        "issuer=\"{}\" serial={}",
        cert.issuer().to_string().replace('"', "'"),
        cert.raw_serial_as_string()
    )
}

#[cfg(test)]
mod tests {
    use super::{Named, named};

    #[test]
    fn the_uid_prefixes_of_vietnamese_cas() {
        assert_eq!(
            named("CCCD:079201000001"),
            Some(Named::Person {
                prefix: "CCCD",
                id: "079201000001".into()
            })
        );
        assert_eq!(
            named("cmnd: 025123456"),
            Some(Named::Person {
                prefix: "CMND",
                id: "025123456".into()
            })
        );
        assert_eq!(
            named("MST:0101234567-001"),
            Some(Named::Enterprise {
                tax_code: "0101234567-001".into()
            })
        );
        assert_eq!(named("CCCD:12345"), None, "a citizen id has 12 digits");
        assert_eq!(named("CMND:1234567890"), None);
        assert_eq!(named("MST:01012345"), None);
        assert_eq!(named("MST:0101234567-01"), None);
        assert_eq!(named("HC:B1234567"), None, "passports are not read");
        assert_eq!(named("079201000001"), None, "a bare number names nobody");
    }
}
