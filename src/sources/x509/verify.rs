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
    /// The roots' certificates, for the path's last element.
    anchor_certificates: Vec<CertificateDer<'static>>,
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
            anchor_certificates: config.trust_anchors.clone(),
            intermediates: config.intermediates.clone(),
        }
    }
}

/// The verified path, leaf first, ending with the root's certificate (DER).
pub type Path = Vec<Vec<u8>>;

/// Judges a presented chain (leaf first) at `now`: the path to a root, validity, usage,
/// and revocation by any CRL that covers a certificate of the path (a revocation stays
/// one even in a CRL past its `nextUpdate`). Whether each certificate's status is
/// *known* is [`covered`]'s question, asked afterwards.
pub fn check(
    trust: &Trust,
    crls: &[super::crl::CurrentCrl],
    chain: &[Vec<u8>],
    now: i64,
) -> Result<Path, CertificateProblem> {
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
    let refs: Vec<&CertRevocationList<'static>> = crls.iter().map(|c| &*c.crl).collect();
    let revocation = RevocationOptionsBuilder::new(&refs).ok().map(|builder| {
        builder
            .with_depth(RevocationCheckDepth::Chain)
            .with_status_policy(UnknownStatusPolicy::Allow)
            .with_expiration_policy(ExpirationPolicy::Ignore)
            .build()
    });
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(now.max(0) as u64));
    let path = leaf_cert
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
    if !signs_digitally(leaf) {
        return Err(CertificateProblem::WrongUsage);
    }
    let mut out = vec![leaf.clone()];
    out.extend(
        path.intermediate_certificates()
            .map(|c| c.der().as_ref().to_vec()),
    );
    let anchor_subject = path.anchor().subject.as_ref();
    let root = trust
        .anchor_certificates
        .iter()
        .find(|c| subject_contents(c).as_deref() == Some(anchor_subject))
        .ok_or(CertificateProblem::UnknownIssuer)?;
    out.push(root.to_vec());
    Ok(out)
}

/// The subject name's DER contents (without its SEQUENCE header), as a trust anchor holds it.
fn subject_contents(der: &[u8]) -> Option<Vec<u8>> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(contents(cert.subject().as_raw()).to_vec())
}

/// The first DER element's whole length (tag, length and contents).
pub fn element_len(der: &[u8]) -> Option<usize> {
    let first = *der.get(1)?;
    if first < 0x80 {
        return Some(2 + usize::from(first));
    }
    let n = usize::from(first & 0x7f);
    let len = der.get(2..2 + n)?.iter().try_fold(0usize, |a, b| {
        a.checked_mul(256).map(|a| a + usize::from(*b))
    })?;
    (2 + n).checked_add(len)
}

/// Whether `signer`'s key made `signature` over `message` with `algorithm` (an
/// AlgorithmIdentifier's DER contents).
pub fn signed_by(signer: &[u8], algorithm: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let der = CertificateDer::from(signer);
    let Ok(cert) = EndEntityCert::try_from(&der) else {
        return false;
    };
    webpki::ALL_VERIFICATION_ALGS
        .iter()
        .filter(|alg| alg.signature_alg_id().as_ref() == algorithm)
        .any(|alg| cert.verify_signature(*alg, message, signature).is_ok())
}

/// A DER element's contents: what follows its tag and length.
pub fn contents(der: &[u8]) -> &[u8] {
    let header = match der.get(1) {
        Some(&n) if n < 0x80 => 2,
        Some(&n) => 2 + usize::from(n & 0x7f),
        None => return &[],
    };
    der.get(header..).unwrap_or_default()
}

/// Whether a usable CRL covers `cert` (one from its issuer that is fresh at `now`, or
/// any from its issuer when stale CRLs are accepted).
pub fn covered(
    crls: &[super::crl::CurrentCrl],
    cert: &[u8],
    stale_crl: RevocationPolicy,
    now: i64,
) -> bool {
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert) else {
        return false;
    };
    let issuer = parsed.issuer().as_raw();
    crls.iter().any(|c| {
        c.crl.issuer() == contents(issuer)
            && (stale_crl == RevocationPolicy::Accept || c.next_update.is_none_or(|n| n > now))
    })
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
