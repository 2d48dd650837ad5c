//! The test PKI: a root, an issuing CA, the listener's certificate, holders' certificates
//! with the UID prefixes Vietnamese CAs use, and CRLs, made with rcgen.

use std::sync::Mutex;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

pub(super) const UID: [u64; 7] = [0, 9, 2342, 19200300, 100, 1, 1];
pub(super) const SERIAL_NUMBER: [u64; 4] = [2, 5, 4, 5];

/// A root, an issuing CA under it, and the certificate listener's own certificate.
pub(super) struct Pki {
    pub(super) dir: tempfile::TempDir,
    pub(super) root: CertifiedIssuer<'static, KeyPair>,
    pub(super) ca: CertifiedIssuer<'static, KeyPair>,
    /// The listener's certificate (for 127.0.0.1), and its key.
    pub(super) listener: (String, String),
    pub(super) next_serial: Mutex<u8>,
}

/// A client certificate with its key and chain, as reqwest takes it.
pub(super) struct Holder {
    pub(super) pem: String,
    pub(super) serial: SerialNumber,
}

pub(super) fn ca_params(name: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CountryName, "VN");
    p.distinguished_name.push(
        DnType::OrganizationName,
        "Ban Cơ yếu Chính phủ (thử nghiệm)",
    );
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.use_authority_key_identifier_extension = true;
    p.not_before = OffsetDateTime::now_utc() - Duration::days(30);
    p.not_after = OffsetDateTime::now_utc() + Duration::days(3650);
    p
}

/// What a holder's certificate says and how it is made.
pub(super) struct Leaf<'a> {
    pub(super) cn: &'a str,
    /// The subject's UID (rcgen keeps one value per attribute type).
    pub(super) uid: Option<&'a str>,
    pub(super) serial_number: Option<&'a str>,
    /// An OCSP responder named in the Authority Information Access extension.
    pub(super) ocsp: Option<&'a str>,
    pub(super) not_before: OffsetDateTime,
    pub(super) not_after: OffsetDateTime,
    pub(super) eku: ExtendedKeyUsagePurpose,
}

impl<'a> Leaf<'a> {
    pub(super) fn new(cn: &'a str, uid: &'a str) -> Self {
        Leaf {
            cn,
            uid: Some(uid),
            serial_number: None,
            ocsp: None,
            not_before: OffsetDateTime::now_utc() - Duration::days(1),
            not_after: OffsetDateTime::now_utc() + Duration::days(365),
            eku: ExtendedKeyUsagePurpose::ClientAuth,
        }
    }
}

impl Pki {
    pub(super) fn new() -> Pki {
        let root =
            CertifiedIssuer::self_signed(ca_params("Test Root CA"), KeyPair::generate().unwrap())
                .unwrap();
        let ca = CertifiedIssuer::signed_by(
            ca_params("Test Issuing CA"),
            KeyPair::generate().unwrap(),
            &root,
        )
        .unwrap();
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        p.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse().unwrap())];
        let listener = p.self_signed(&key).unwrap();
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
            root,
            ca,
            listener: (listener.pem(), key.serialize_pem()),
            next_serial: Mutex::new(1),
        };
        pki.write("root.pem", &pki.root.pem());
        pki.write("issuing.pem", &pki.ca.pem());
        pki.write("listener.pem", &pki.listener.0);
        pki.write("listener.key", &pki.listener.1);
        pki.write_crl("root.crl", &pki.root, &[], 7);
        pki.write_crl("issuing.crl", &pki.ca, &[], 7);
        pki
    }

    pub(super) fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    pub(super) fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }

    /// A CRL (PEM) by `issuer` revoking `serials`, next updated in `days` (negative: stale).
    pub(super) fn crl(
        issuer: &Issuer<'_, KeyPair>,
        serials: &[&SerialNumber],
        days: i64,
    ) -> String {
        let now = OffsetDateTime::now_utc();
        let this_update = if days > 0 {
            now - Duration::minutes(1)
        } else {
            now + Duration::days(days - 1)
        };
        CertificateRevocationListParams {
            this_update,
            next_update: now + Duration::days(days),
            crl_number: SerialNumber::from(now.unix_timestamp() as u64),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: (*s).clone(),
                    revocation_time: now - Duration::minutes(1),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(issuer)
        .unwrap()
        .pem()
        .unwrap()
    }

    pub(super) fn write_crl(
        &self,
        name: &str,
        issuer: &Issuer<'_, KeyPair>,
        serials: &[&SerialNumber],
        days: i64,
    ) {
        self.write(name, &Self::crl(issuer, serials, days));
    }

    /// A certificate issued by `issuer` (whose chain, PEM, goes with it).
    pub(super) fn issue(
        &self,
        leaf: Leaf<'_>,
        issuer: &Issuer<'_, KeyPair>,
        chain_pem: &str,
    ) -> Holder {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CountryName, "VN");
        p.distinguished_name.push(DnType::CommonName, leaf.cn);
        if let Some(uid) = leaf.uid {
            p.distinguished_name
                .push(DnType::CustomDnType(UID.to_vec()), uid);
        }
        if let Some(serial_number) = leaf.serial_number {
            p.distinguished_name
                .push(DnType::CustomDnType(SERIAL_NUMBER.to_vec()), serial_number);
        }
        let serial = {
            let mut n = self.next_serial.lock().unwrap();
            *n += 1;
            SerialNumber::from_slice(&[0x40, *n, 0x17])
        };
        p.serial_number = Some(serial.clone());
        p.not_before = leaf.not_before;
        p.not_after = leaf.not_after;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![leaf.eku];
        p.use_authority_key_identifier_extension = true;
        if let Some(url) = leaf.ocsp {
            p.custom_extensions.push(aia(url));
        }
        let cert = p.signed_by(&key, issuer).unwrap();
        Holder {
            pem: format!("{}{}{chain_pem}", key.serialize_pem(), cert.pem()),
            serial,
        }
    }

    pub(super) fn personal(&self, leaf: Leaf<'_>) -> Holder {
        self.issue(leaf, &self.ca, &self.ca.pem())
    }

    /// The source's configuration, with these CRL locations.
    pub(super) fn source(&self, port: u16, crls: &[String], extra: &str) -> String {
        let crls: Vec<String> = crls.iter().map(|c| format!("\"{c}\"")).collect();
        format!(
            "[[sources]]\nid = \"password\"\nkind = \"password\"\n\
             [[sources]]\nid = \"gov-pki\"\nkind = \"x509\"\n\
             display_name = {{ vi = \"Chứng thư số\", en = \"Digital certificate\" }}\n\
             listen = \"127.0.0.1:{port}\"\npublic_url = \"https://127.0.0.1:{port}\"\n\
             tls_certificate = \"{cert}\"\ntls_private_key = \"{key}\"\n\
             trust_anchors = [\"{root}\"]\nintermediates = [\"{ca}\"]\n\
             crls = [{crls}]\n{extra}\n",
            cert = self.path("listener.pem"),
            key = self.path("listener.key"),
            root = self.path("root.pem"),
            ca = self.path("issuing.pem"),
            crls = crls.join(", "),
        )
    }

    pub(super) fn file_crls(&self) -> Vec<String> {
        vec![self.path("root.crl"), self.path("issuing.crl")]
    }
}

/// Authority Information Access (RFC 5280 4.2.2.1) naming one OCSP responder.
pub(super) fn aia(url: &str) -> rcgen::CustomExtension {
    let tlv = |tag: u8, body: &[u8]| {
        assert!(body.len() < 128, "short form lengths only");
        let mut v = vec![tag, body.len() as u8];
        v.extend_from_slice(body);
        v
    };
    let mut description = tlv(0x06, &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01]);
    description.extend(tlv(0x86, url.as_bytes()));
    let syntax = tlv(0x30, &tlv(0x30, &description));
    rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], syntax)
}

/// A free port for the certificate listener (its `public_url` must name it).
pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
