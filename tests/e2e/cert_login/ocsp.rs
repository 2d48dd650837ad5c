//! A test OCSP responder over HTTP, signing as the CA, a delegated responder or a stranger.

use std::sync::{Arc, Mutex};

use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose};
use time::{Duration, OffsetDateTime};

use super::flow::*;
use super::pki::*;

/// Who signs the test responder's answers.
pub(super) enum Signer {
    /// The issuing CA's own key.
    Ca,
    /// A responder certificate the CA issued with id-kp-OCSPSigning, sent in `certs`.
    Delegated,
    /// A key the CA never authorised, with a self-made certificate sent in `certs`.
    Stranger,
}

/// An OCSP responder over HTTP: answers each request for its CA with x509-ocsp
/// messages signed as `signer` says; counts requests.
pub(super) struct Responder {
    pub(super) signer: Mutex<Signer>,
    /// `None`: no nonce in the answer (a pre-computing responder); `Some(true)`: the
    /// request's echoed; `Some(false)`: another one.
    pub(super) nonce: Mutex<Option<bool>>,
    pub(super) revoked: Mutex<Vec<Vec<u8>>>,
    pub(super) requests: std::sync::atomic::AtomicUsize,
    pub(super) ca: (KeyPair, Vec<u8>),
    pub(super) delegated: (KeyPair, Vec<u8>),
    pub(super) stranger: (KeyPair, Vec<u8>),
}

impl Responder {
    pub(super) fn new(pki: &Pki) -> Responder {
        let ca_key = KeyPair::from_pem(&pki.ca.key().serialize_pem()).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(DnType::CommonName, "Test OCSP Responder");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.not_before = OffsetDateTime::now_utc() - Duration::days(1);
        p.not_after = OffsetDateTime::now_utc() + Duration::days(30);
        let delegated = p.signed_by(&key, &pki.ca).unwrap().der().to_vec();
        let stranger_key = KeyPair::generate().unwrap();
        let stranger = p.self_signed(&stranger_key).unwrap().der().to_vec();
        Responder {
            signer: Mutex::new(Signer::Ca),
            nonce: Mutex::new(None),
            revoked: Mutex::new(Vec::new()),
            requests: Default::default(),
            ca: (ca_key, pki.ca.der().to_vec()),
            delegated: (key, delegated),
            stranger: (stranger_key, stranger),
        }
    }

    pub(super) fn answer(&self, body: &[u8]) -> Vec<u8> {
        use rcgen::SigningKey;
        use x509_cert::der::asn1::{BitString, OctetString};
        use x509_cert::der::{Decode, Encode};
        use x509_ocsp::*;
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let request = OcspRequest::from_der(body).unwrap();
        let id = request.tbs_request.request_list[0].req_cert.clone();
        let at = |offset: i64| {
            let t = (OffsetDateTime::now_utc().unix_timestamp() + offset) as u64;
            OcspGeneralizedTime::from(
                x509_cert::der::DateTime::from_unix_duration(std::time::Duration::from_secs(t))
                    .unwrap(),
            )
        };
        let status = if self
            .revoked
            .lock()
            .unwrap()
            .contains(&id.serial_number.as_bytes().to_vec())
        {
            CertStatus::revoked(RevokedInfo {
                revocation_time: at(-60),
                revocation_reason: None,
            })
        } else {
            CertStatus::good()
        };
        let ((key, cert), send) = match *self.signer.lock().unwrap() {
            Signer::Ca => (&self.ca, false),
            Signer::Delegated => (&self.delegated, true),
            Signer::Stranger => (&self.stranger, true),
        };
        let certificate = x509_cert::Certificate::from_der(cert).unwrap();
        let data = ResponseData {
            version: Version::V1,
            responder_id: ResponderId::ByName(certificate.tbs_certificate.subject.clone()),
            produced_at: at(0),
            responses: vec![SingleResponse {
                cert_id: id,
                cert_status: status,
                this_update: at(-60),
                next_update: Some(at(3600)),
                single_extensions: None,
            }],
            response_extensions: self.nonce.lock().unwrap().map(|echo| {
                use x509_cert::ext::AsExtension;
                let nonce = match (echo, request.nonce()) {
                    (true, Some(n)) => n,
                    _ => x509_ocsp::ext::Nonce::new(vec![7u8; 32]).unwrap(),
                };
                vec![
                    nonce
                        .to_extension(&x509_cert::name::Name::default(), &[])
                        .unwrap(),
                ]
            }),
        };
        let signature = key.sign(&data.to_der().unwrap()).unwrap();
        let basic = BasicOcspResponse {
            tbs_response_data: data,
            signature_algorithm: x509_cert::spki::AlgorithmIdentifierOwned {
                // ecdsa-with-SHA256: rcgen's default keys are P-256.
                oid: x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2"),
                parameters: None,
            },
            signature: BitString::from_bytes(&signature).unwrap(),
            certs: send.then(|| vec![certificate]),
        };
        OcspResponse {
            response_status: OcspResponseStatus::Successful,
            response_bytes: Some(ResponseBytes {
                response_type: x509_cert::der::oid::ObjectIdentifier::new_unwrap(
                    "1.3.6.1.5.5.7.48.1.1",
                ),
                response: OctetString::new(basic.to_der().unwrap()).unwrap(),
            }),
        }
        .to_der()
        .unwrap()
    }
}

pub(super) async fn start_responder(responder: Arc<Responder>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/ocsp",
        axum::routing::post(move |body: axum::body::Bytes| {
            let responder = responder.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/ocsp-response",
                    )],
                    responder.answer(&body),
                )
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/ocsp")
}

#[tokio::test]
async fn ocsp_from_the_aia_responder_is_verified_cached_and_can_refuse() {
    let pki = Pki::new();
    let responder = Arc::new(Responder::new(&pki));
    let url = start_responder(responder.clone()).await;
    // Only the root's CRL: the issuing CA's certificates are asked about by OCSP.
    let (server, port, client) = start(&pki, &[pki.path("root.crl")], "").await;
    let with_ocsp = |cn: &'static str, id: &'static str| Leaf {
        ocsp: Some(Box::leak(url.clone().into_boxed_str())),
        ..Leaf::new(cn, id)
    };
    let requests = || responder.requests.load(std::sync::atomic::Ordering::SeqCst);

    let good = pki.personal(with_ocsp("Vũ Thị Tốt", "CCCD:079201000010"));
    signed_in(&server, &pki, &client, port, &good).await;
    assert_eq!(requests(), 1);
    // The answer is cached until its nextUpdate.
    signed_in(&server, &pki, &client, port, &good).await;
    assert_eq!(requests(), 1, "the cached answer is used");

    let revoked = pki.personal(with_ocsp("Vũ Văn Hủy", "CCCD:079201000011"));
    responder
        .revoked
        .lock()
        .unwrap()
        .push(revoked.serial.to_bytes());
    refused(
        &server,
        &pki,
        &client,
        port,
        Some(&revoked),
        "This certificate has been revoked",
        "revoked",
    )
    .await;

    // A responder certificate the CA issued for OCSP signing may answer for it.
    *responder.signer.lock().unwrap() = Signer::Delegated;
    let delegated = pki.personal(with_ocsp("Vũ Văn Ủy", "CCCD:079201000012"));
    signed_in(&server, &pki, &client, port, &delegated).await;

    // A responder that echoes the nonce must echo ours (RFC 8954).
    *responder.signer.lock().unwrap() = Signer::Ca;
    *responder.nonce.lock().unwrap() = Some(true);
    let echoed = pki.personal(with_ocsp("Vũ Văn Đáp", "CCCD:079201000014"));
    signed_in(&server, &pki, &client, port, &echoed).await;
    *responder.nonce.lock().unwrap() = Some(false);
    let replayed = pki.personal(with_ocsp("Vũ Văn Cũ", "CCCD:079201000015"));
    refused(
        &server,
        &pki,
        &client,
        port,
        Some(&replayed),
        "status could not be checked",
        "revocation_unknown",
    )
    .await;
    *responder.nonce.lock().unwrap() = None;

    // A signer the CA never authorised is no answer: the status is unknown, refused.
    *responder.signer.lock().unwrap() = Signer::Stranger;
    let stranger = pki.personal(with_ocsp("Vũ Văn Lạ", "CCCD:079201000013"));
    refused(
        &server,
        &pki,
        &client,
        port,
        Some(&stranger),
        "status could not be checked",
        "revocation_unknown",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_configured_ocsp_responder_answers_for_certificates_without_aia() {
    let pki = Pki::new();
    let responder = Arc::new(Responder::new(&pki));
    let url = start_responder(responder.clone()).await;
    let (server, port, client) = start(
        &pki,
        &[pki.path("root.crl")],
        &format!("ocsp_responder = \"{url}\""),
    )
    .await;
    let plain = pki.personal(Leaf::new("Lý Văn Hỏi", "CCCD:079201000030"));
    signed_in(&server, &pki, &client, port, &plain).await;
    assert_eq!(
        responder.requests.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    server.stop().await;
}
