//! The chain check, in Portico: a path to a configured root (rustls-webpki) through the
//! configured intermediates and those the client sent, every certificate valid at the
//! injected clock's time, the leaf for client authentication (EKU `clientAuth` when it
//! has an EKU, key usage `digitalSignature` when it has a key usage), and revocation by
//! the CRLs (their signatures checked against their issuers by webpki) for the whole
//! chain.

use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage, RevocationCheckDepth,
    RevocationOptionsBuilder, UnknownStatusPolicy,
};

use super::CertificateProblem;
use crate::config::{RevocationPolicy, X509SourceConfig};

/// The configured roots and intermediates, decoded once.
#[derive(Debug)]
pub struct Trust {
    anchors: Vec<TrustAnchor<'static>>,
    intermediates: Vec<CertificateDer<'static>>,
}

impl Trust {
    pub fn new(config: &X509SourceConfig) -> Trust {
        Trust {
            anchors: config
                .trust_anchors
                .iter()
                .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
                .map(|a| a.to_owned())
                .collect(),
            intermediates: config.intermediates.clone(),
        }
    }
}

/// Judges a presented chain (leaf first) at `now`.
pub fn check(
    trust: &Trust,
    crls: &[std::sync::Arc<CertRevocationList<'static>>],
    stale_crl: RevocationPolicy,
    revocation_unknown: RevocationPolicy,
    chain: &[Vec<u8>],
    now: i64,
) -> Result<(), CertificateProblem> {
    let Some(leaf) = chain.first() else {
        return Err(CertificateProblem::NoCertificate);
    };
    let leaf_der = CertificateDer::from(leaf.as_slice());
    let leaf_cert = EndEntityCert::try_from(&leaf_der).map_err(|e| {
        tracing::info!(error = %e, "a client certificate that does not parse");
        CertificateProblem::UnknownIssuer
    })?;
    let mut intermediates = trust.intermediates.clone();
    intermediates.extend(chain[1..].iter().map(|c| CertificateDer::from(c.clone())));
    let refs: Vec<&CertRevocationList<'static>> = crls.iter().map(|c| &**c).collect();
    let revocation = match RevocationOptionsBuilder::new(&refs) {
        Ok(builder) => Some(
            builder
                .with_depth(RevocationCheckDepth::Chain)
                .with_status_policy(match revocation_unknown {
                    RevocationPolicy::Refuse => UnknownStatusPolicy::Deny,
                    RevocationPolicy::Accept => UnknownStatusPolicy::Allow,
                })
                .with_expiration_policy(match stale_crl {
                    RevocationPolicy::Refuse => ExpirationPolicy::Enforce,
                    RevocationPolicy::Accept => ExpirationPolicy::Ignore,
                })
                .build(),
        ),
        // No CRL at all: nothing can say the chain is not revoked.
        Err(_) => None,
    };
    let have_crls = revocation.is_some();
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(now.max(0) as u64));
    leaf_cert
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &trust.anchors,
            &intermediates,
            time,
            KeyUsage::client_auth(),
            revocation,
            None,
        )
        .map_err(problem)?;
    if !have_crls && revocation_unknown == RevocationPolicy::Refuse {
        return Err(CertificateProblem::RevocationUnknown);
    }
    if !signs_digitally(leaf) {
        return Err(CertificateProblem::WrongUsage);
    }
    Ok(())
}

/// A key usage extension, when present, must allow `digitalSignature` (RFC 5280
/// 4.2.1.3): the TLS handshake signature is one.
fn signs_digitally(leaf: &[u8]) -> bool {
    match x509_parser::parse_x509_certificate(leaf) {
        Ok((_, cert)) => match cert.key_usage() {
            Ok(Some(ku)) => ku.value.digital_signature(),
            Ok(None) => true,
            Err(_) => false,
        },
        Err(_) => false,
    }
}

fn problem(e: webpki::Error) -> CertificateProblem {
    use webpki::Error as E;
    tracing::info!(error = %e, "a client certificate failed verification");
    match e {
        E::CertExpired { .. } => CertificateProblem::Expired,
        E::CertNotValidYet { .. } => CertificateProblem::NotYetValid,
        E::RequiredEkuNotFoundContext(_) | E::CaUsedAsEndEntity | E::EmptyEkuExtension => {
            CertificateProblem::WrongUsage
        }
        E::CertRevoked => CertificateProblem::Revoked,
        E::UnknownRevocationStatus
        | E::CrlExpired { .. }
        | E::InvalidCrlSignatureForPublicKey
        | E::IssuerNotCrlSigner
        | E::UnsupportedCrlSignatureAlgorithmContext(_)
        | E::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_)
        | E::UnsupportedCrlVersion
        | E::UnsupportedDeltaCrl
        | E::UnsupportedIndirectCrl
        | E::UnsupportedCrlIssuingDistributionPoint
        | E::UnsupportedRevocationReason
        | E::UnsupportedRevocationReasonsPartitioning
        | E::InvalidCrlNumber => CertificateProblem::RevocationUnknown,
        _ => CertificateProblem::UnknownIssuer,
    }
}
