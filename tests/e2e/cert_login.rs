//! Certificate login (`kind = "x509"`) end to end: a test PKI made with rcgen (a root,
//! an issuing CA, CRLs, personal and enterprise certificates with the UID prefixes
//! Vietnamese CAs use), the real certificate listener on a port of its own, and reqwest
//! presenting client certificates over TLS. The certificate is judged by Portico after
//! the handshake, so each refusal is a page on the main origin, and audited.

use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SanType, SerialNumber,
};
use rustls_pki_types::pem::PemObject;
use time::{Duration, OffsetDateTime};

use crate::common::*;

const UID: [u64; 7] = [0, 9, 2342, 19200300, 100, 1, 1];
const SERIAL_NUMBER: [u64; 4] = [2, 5, 4, 5];

/// A root, an issuing CA under it, and the certificate listener's own certificate.
struct Pki {
    dir: tempfile::TempDir,
    root: CertifiedIssuer<'static, KeyPair>,
    ca: CertifiedIssuer<'static, KeyPair>,
    /// The listener's certificate (for 127.0.0.1), and its key.
    listener: (String, String),
    next_serial: Mutex<u8>,
}

/// A client certificate with its key and chain, as reqwest takes it.
struct Holder {
    pem: String,
    serial: SerialNumber,
}

fn ca_params(name: &str) -> CertificateParams {
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
struct Leaf<'a> {
    cn: &'a str,
    /// The subject's UID (rcgen keeps one value per attribute type).
    uid: Option<&'a str>,
    serial_number: Option<&'a str>,
    /// An OCSP responder named in the Authority Information Access extension.
    ocsp: Option<&'a str>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    eku: ExtendedKeyUsagePurpose,
}

impl<'a> Leaf<'a> {
    fn new(cn: &'a str, uid: &'a str) -> Self {
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
    fn new() -> Pki {
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

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }

    /// A CRL (PEM) by `issuer` revoking `serials`, next updated in `days` (negative: stale).
    fn crl(issuer: &Issuer<'_, KeyPair>, serials: &[&SerialNumber], days: i64) -> String {
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

    fn write_crl(
        &self,
        name: &str,
        issuer: &Issuer<'_, KeyPair>,
        serials: &[&SerialNumber],
        days: i64,
    ) {
        self.write(name, &Self::crl(issuer, serials, days));
    }

    /// A certificate issued by `issuer` (whose chain, PEM, goes with it).
    fn issue(&self, leaf: Leaf<'_>, issuer: &Issuer<'_, KeyPair>, chain_pem: &str) -> Holder {
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

    fn personal(&self, leaf: Leaf<'_>) -> Holder {
        self.issue(leaf, &self.ca, &self.ca.pem())
    }

    /// The source's configuration, with these CRL locations.
    fn source(&self, port: u16, crls: &[String], extra: &str) -> String {
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

    fn file_crls(&self) -> Vec<String> {
        vec![self.path("root.crl"), self.path("issuing.crl")]
    }
}

/// Authority Information Access (RFC 5280 4.2.2.1) naming one OCSP responder.
fn aia(url: &str) -> rcgen::CustomExtension {
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
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A browser that presents `holder`'s certificate (or none) and trusts the listener.
fn browser(server: &TestServer, pki: &Pki, holder: Option<&Holder>) -> Browser {
    browser_in(server, pki, holder, "en")
}

/// As [`browser`], asking for pages in `language`.
fn browser_in(
    server: &TestServer,
    pki: &Pki,
    holder: Option<&Holder>,
    language: &'static str,
) -> Browser {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_LANGUAGE,
        reqwest::header::HeaderValue::from_static(language),
    );
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pki.listener.0.as_bytes()).unwrap());
    if let Some(h) = holder {
        builder = builder.identity(reqwest::Identity::from_pem(h.pem.as_bytes()).unwrap());
    }
    Browser::with_client(&server.base, builder.build().unwrap())
}

/// From the authorization request to the main origin's answer after the listener.
async fn certificate_login(
    server: &TestServer,
    browser: &Browser,
    client: &TestClient,
    port: u16,
) -> reqwest::Response {
    let login = browser
        .follow(&server.authorize_url(
            client,
            &[
                ("acr_values", "urn:portico:loa:4"),
                ("scope", "openid profile national_id enterprise"),
            ],
        ))
        .await;
    let html = browser.get(&login).await.text().await.unwrap();
    let request = login.trim_start_matches("/login?request=");
    let link = format!("/login/gov-pki?request={request}");
    assert!(
        html.contains(&link),
        "the page offers the certificate: {html}"
    );
    assert!(
        !html.contains("name=\"password\""),
        "a password cannot reach level 4"
    );
    let away = browser.follow(&link).await;
    let prefix = format!("https://127.0.0.1:{port}/certificate/");
    assert!(away.starts_with(&prefix), "{away}");
    assert!(query(&away).contains_key("handoff"), "{away}");
    let back = browser.follow(&away).await;
    assert!(
        back.starts_with(&server.url("/login/gov-pki/callback?handoff=")),
        "{back}"
    );
    assert!(
        !back.contains("national_id"),
        "nothing verified travels in the URL"
    );
    browser.get(&back).await
}

fn claims_of(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// A full login with `holder`: the ID token's claims and userinfo.
async fn signed_in(
    server: &TestServer,
    pki: &Pki,
    client: &TestClient,
    port: u16,
    holder: &Holder,
) -> (serde_json::Value, serde_json::Value) {
    let b = browser(server, pki, Some(holder));
    let done = certificate_login(server, &b, client, port).await;
    assert_eq!(done.status(), 303, "{:?}", done.text().await);
    let code = code_from(&location(done.headers()).unwrap(), server, client);
    let tokens: serde_json::Value = server
        .exchange(client, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let userinfo = reqwest::Client::new()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (claims_of(tokens["id_token"].as_str().unwrap()), userinfo)
}

/// The refusal page for `holder`, its audit, and no session.
async fn refused(
    server: &TestServer,
    pki: &Pki,
    client: &TestClient,
    port: u16,
    holder: Option<&Holder>,
    title: &str,
    reason: &str,
) {
    let b = browser(server, pki, holder);
    let page = certificate_login(server, &b, client, port).await;
    assert_eq!(page.status(), 403, "{reason}");
    let cookies: Vec<_> = page
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter(|c| c.to_str().unwrap().contains("session"))
        .collect();
    assert!(cookies.is_empty(), "no session on a refusal: {cookies:?}");
    let html = page.text().await.unwrap();
    assert!(html.contains(title), "{reason}: {html}");
    assert!(html.contains("Try again"), "{html}");
    assert!(html.contains("href=\"/login/gov-pki?request="), "{html}");
    assert!(html.contains("Use another way to sign in"), "{html}");
    let audit = server
        .provider()
        .store
        .audit()
        .recent("login_certificate_refused", 1)
        .await
        .unwrap();
    let detail = &audit[0].detail;
    assert!(detail.contains(&format!("reason={reason}")), "{detail}");
    // The refusal came back through the callback: counted and audited as a failed login.
    let failed = server
        .provider()
        .store
        .audit()
        .recent("login_failed", 1)
        .await
        .unwrap();
    let failed = &failed[0].detail;
    assert!(
        failed.contains("source=gov-pki")
            && failed.contains(&format!("reason=certificate_{reason} "))
            && failed.contains("address="),
        "{failed}"
    );
    if let Some(h) = holder {
        let serial: String = h
            .serial
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        assert!(detail.contains(&format!("serial={serial}")), "{detail}");
        assert!(detail.contains("CN=Test"), "the issuer is named: {detail}");
    }
}

async fn start(pki: &Pki, crls: &[String], extra: &str) -> (TestServer, u16, TestClient) {
    let port = free_port();
    let server = TestServer::start_with(&pki.source(port, crls, extra)).await;
    let client = server
        .client_with(
            "portal",
            portico::store::AuthMethod::ClientSecretBasic,
            true,
            portico::crypto::SigningAlg::ES256,
        )
        .await;
    (server, port, client)
}

#[tokio::test]
async fn a_personal_certificate_signs_a_citizen_in_at_level_4() {
    let pki = Pki::new();
    let (server, port, client) = start(&pki, &pki.file_crls(), "").await;
    let an = pki.personal(Leaf::new("Nguyễn Văn An", "CCCD:079201000001"));
    let (claims, userinfo) = signed_in(&server, &pki, &client, port, &an).await;
    assert_eq!(claims["acr"], "urn:portico:loa:4");
    assert_eq!(claims["amr"], serde_json::json!(["hwk"]));
    assert_eq!(userinfo["national_id"], "079201000001");
    assert_eq!(userinfo["national_id_verified"], true);
    assert_eq!(userinfo["account_kind"], "citizen");
    assert_eq!(userinfo["name"], "Nguyễn Văn An");
    let accepted = server
        .provider()
        .store
        .audit()
        .recent("login_certificate_accepted", 1)
        .await
        .unwrap();
    assert!(
        accepted[0].detail.contains("kind=citizen") && accepted[0].detail.contains("serial="),
        "{:?}",
        accepted[0]
    );
    assert!(
        !accepted[0].detail.contains("079201000001"),
        "no national id in the audit trail: {:?}",
        accepted[0]
    );
    // A renewed certificate (another serial) is the same person, the same account.
    let renewed = pki.personal(Leaf::new("Nguyễn Văn An", "CCCD:079201000001"));
    let (again, _) = signed_in(&server, &pki, &client, port, &renewed).await;
    assert_eq!(again["sub"], claims["sub"]);

    // Validity is judged at Portico's clock: a year on, the certificate has expired.
    server.clock.advance(400 * 24 * 3600);
    refused(
        &server,
        &pki,
        &client,
        port,
        Some(&renewed),
        "Your certificate has expired",
        "expired",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn an_enterprise_certificate_gives_the_enterprise_account_by_tax_code() {
    let pki = Pki::new();
    // This CA writes the tax code of a person's organisation into serialNumber, and
    // issues its keys on smart cards.
    let issuers = format!(
        "[[sources.issuers]]\ncertificate = \"{}\"\nread_serial_number = true\nsmart_card = true\n",
        pki.path("issuing.pem")
    );
    let (server, port, client) = start(&pki, &pki.file_crls(), &issuers).await;
    let company = pki.personal(Leaf::new("Công ty TNHH Thử nghiệm", "MST:0101234567"));
    let (claims, userinfo) = signed_in(&server, &pki, &client, port, &company).await;
    assert_eq!(claims["acr"], "urn:portico:loa:4");
    assert_eq!(userinfo["account_kind"], "enterprise");
    assert_eq!(userinfo["tax_code"], "0101234567");
    assert!(userinfo.get("national_id").is_none(), "{userinfo}");
    assert!(userinfo.get("represents").is_none(), "{userinfo}");

    // A person's certificate that also names the enterprise gives the person.
    let director = pki.personal(Leaf {
        serial_number: Some("MST:0101234567"),
        ..Leaf::new("Trần Thị Bình", "CCCD:001190000002")
    });
    let (person, userinfo) = signed_in(&server, &pki, &client, port, &director).await;
    assert_ne!(person["sub"], claims["sub"]);
    assert_eq!(person["amr"], serde_json::json!(["hwk", "sc"]));
    assert_eq!(userinfo["account_kind"], "citizen");
    assert_eq!(userinfo["national_id"], "001190000002");
    let accepted = server
        .provider()
        .store
        .audit()
        .recent("login_certificate_accepted", 1)
        .await
        .unwrap();
    assert!(
        accepted[0]
            .detail
            .contains("kind=citizen representative_of=MST:0101234567"),
        "{:?}",
        accepted[0]
    );
    // Recorded as the enterprise's representative, in the login's transaction, with
    // the enterprise's own account (it signed in above) and the certificate; released
    // under the `enterprise` scope.
    assert_eq!(
        userinfo["represents"],
        serde_json::json!([{ "tax_code": "0101234567" }]),
        "{userinfo}"
    );
    let store = &server.provider().store;
    let enterprise = store
        .identities()
        .account_of("gov-pki", "MST:0101234567")
        .await
        .unwrap()
        .expect("the enterprise's account");
    let person_account = store
        .identities()
        .account_of("gov-pki", "CCCD:001190000002")
        .await
        .unwrap()
        .expect("the person's account");
    let person_account = portico::ids::AccountId::new(person_account);
    let rows = store
        .representations()
        .of_account(&person_account)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].tax_code, "0101234567");
    assert_eq!(
        rows[0].enterprise_account_id.as_ref().map(|a| a.as_str()),
        Some(enterprise.as_str())
    );
    assert_eq!(rows[0].source_id, "gov-pki");
    let serial: String = director
        .serial
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    assert!(
        rows[0].certificate.contains(&format!("serial={serial}")),
        "{rows:?}"
    );
    let recorded = store
        .audit()
        .recent("representation_recorded", 5)
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(
        recorded[0].account_id.as_deref(),
        Some(person_account.as_str())
    );
    assert!(
        recorded[0].detail.contains("tax_code=0101234567"),
        "{recorded:?}"
    );
    // Signing in again refreshes the row: one representation, audited once.
    let (_, again) = signed_in(&server, &pki, &client, port, &director).await;
    assert_eq!(again["represents"], userinfo["represents"]);
    let rows = store
        .representations()
        .of_account(&person_account)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].last_seen_at >= rows[0].since);
    let recorded = store
        .audit()
        .recent("representation_recorded", 5)
        .await
        .unwrap();
    assert_eq!(recorded.len(), 1, "audited when new only");

    // A certificate with the identifier in serialNumber only, from this CA.
    let serial_only = pki.personal(Leaf {
        uid: None,
        serial_number: Some("CMND:025123456"),
        ..Leaf::new("Đỗ Văn Cường", "")
    });
    let (_, userinfo) = signed_in(&server, &pki, &client, port, &serial_only).await;
    assert_eq!(userinfo["national_id"], "025123456");
    server.stop().await;
}

#[tokio::test]
async fn each_bad_certificate_gets_its_own_page_and_no_session() {
    let pki = Pki::new();
    let (server, port, client) = start(&pki, &pki.file_crls(), "").await;
    refused(
        &server,
        &pki,
        &client,
        port,
        None,
        "No certificate was presented",
        "no_certificate",
    )
    .await;
    // The same page in Vietnamese, the default language.
    let vi = browser_in(&server, &pki, None, "vi");
    let page = certificate_login(&server, &vi, &client, port).await;
    assert_eq!(page.status(), 403);
    let html = page.text().await.unwrap();
    assert!(html.contains("Chưa có chứng thư số nào được gửi"), "{html}");
    assert!(
        html.contains("Thử lại") && html.contains("Đăng nhập bằng cách khác"),
        "{html}"
    );

    let expired = pki.personal(Leaf {
        not_before: OffsetDateTime::now_utc() - Duration::days(400),
        not_after: OffsetDateTime::now_utc() - Duration::days(1),
        ..Leaf::new("Lê Văn Cũ", "CCCD:079201000003")
    });
    refused(
        &server,
        &pki,
        &client,
        port,
        Some(&expired),
        "Your certificate has expired",
        "expired",
    )
    .await;

    let early = pki.personal(Leaf {
        not_before: OffsetDateTime::now_utc() + Duration::days(2),
        ..Leaf::new("Lê Văn Sớm", "CCCD:079201000004")
    });
    refused(
        &server,
        &pki,
        &client,
        port,
        Some(&early),
        "Your certificate is not valid yet",
        "not_yet_valid",
    )
    .await;

    let server_only = pki.personal(Leaf {
        eku: ExtendedKeyUsagePurpose::ServerAuth,
        ..Leaf::new("Máy chủ", "CCCD:079201000005")
    });
    refused(
        &server,
        &pki,
        &client,
        port,
        Some(&server_only),
        "This certificate cannot be used to sign in",
        "wrong_usage",
    )
    .await;

    // An issuing CA with the real one's name but another key.
    let impostor =
        CertifiedIssuer::self_signed(ca_params("Test Issuing CA"), KeyPair::generate().unwrap())
            .unwrap();
    let forged = pki.issue(
        Leaf::new("Kẻ Giả Mạo", "CCCD:079201000001"),
        &impostor,
        &impostor.pem(),
    );
    refused(
        &server,
        &pki,
        &client,
        port,
        Some(&forged),
        "This certificate is not recognised",
        "unknown_issuer",
    )
    .await;

    let nobody = pki.personal(Leaf::new("Không Mã", "HC:B1234567"));
    refused(
        &server,
        &pki,
        &client,
        port,
        Some(&nobody),
        "The certificate names no identification number",
        "no_identifier",
    )
    .await;

    let sessions = server
        .provider()
        .store
        .audit()
        .recent("login_account_created", 10)
        .await
        .unwrap();
    assert!(
        sessions.is_empty(),
        "no refused certificate made an account"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_revoked_certificate_and_a_stale_crl_are_refused() {
    let pki = Pki::new();
    let revoked = pki.personal(Leaf::new("Phạm Văn Hủy", "CCCD:079201000006"));
    pki.write_crl("issuing.crl", &pki.ca, &[&revoked.serial], 7);
    let (server, port, client) = start(&pki, &pki.file_crls(), "").await;
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
    let fine = pki.personal(Leaf::new("Phạm Văn Tốt", "CCCD:079201000007"));
    signed_in(&server, &pki, &client, port, &fine).await;
    server.stop().await;

    // A CRL past its nextUpdate: at level 4 the status is unknown by default.
    pki.write_crl("issuing.crl", &pki.ca, &[], -1);
    let (server, port, client) = start(&pki, &pki.file_crls(), "").await;
    refused(
        &server,
        &pki,
        &client,
        port,
        Some(&fine),
        "status could not be checked",
        "revocation_unknown",
    )
    .await;
    server.stop().await;
    // ...unless the operator accepts stale CRLs.
    let (server, port, client) = start(&pki, &pki.file_crls(), "stale_crl = \"accept\"").await;
    signed_in(&server, &pki, &client, port, &fine).await;
    server.stop().await;

    // No CRL for the issuing CA: the status is unknown, refused by default.
    let (server, port, client) = start(&pki, &[pki.path("root.crl")], "").await;
    refused(
        &server,
        &pki,
        &client,
        port,
        Some(&fine),
        "status could not be checked",
        "revocation_unknown",
    )
    .await;
    server.stop().await;
}

/// A CRL distribution point: serves whatever CRL the test puts in it, over HTTP.
async fn distribution_point(crl: Arc<Mutex<String>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/issuing.crl",
        axum::routing::get(move || {
            let crl = crl.clone();
            async move {
                let pem = crl.lock().unwrap().clone();
                let der =
                    rustls_pki_types::CertificateRevocationListDer::from_pem_slice(pem.as_bytes())
                        .unwrap();
                (
                    [(axum::http::header::CONTENT_TYPE, "application/pkix-crl")],
                    der.as_ref().to_vec(),
                )
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/issuing.crl")
}

#[tokio::test]
async fn a_crl_fetched_from_a_url_is_refreshed_and_a_later_revocation_is_refused() {
    let pki = Pki::new();
    let first = Pki::crl(&pki.ca, &[], 7);
    let crl = Arc::new(Mutex::new(first.clone()));
    let url = distribution_point(crl.clone()).await;
    let (server, port, client) = start(
        &pki,
        &[pki.path("root.crl"), url],
        "crl_refresh_interval = \"1s\"",
    )
    .await;
    let holder = pki.personal(Leaf::new("Hoàng Văn Mới", "CCCD:079201000008"));
    signed_in(&server, &pki, &client, port, &holder).await;

    // The CA revokes it; after the next refresh the listener refuses it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    *crl.lock().unwrap() = Pki::crl(&pki.ca, &[&holder.serial], 7);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let revoked = || {
        refused(
            &server,
            &pki,
            &client,
            port,
            Some(&holder),
            "This certificate has been revoked",
            "revoked",
        )
    };
    revoked().await;

    // Neither a CRL of the same name signed by another key, nor the older CRL served
    // again, displaces the one that revokes it.
    let impostor =
        CertifiedIssuer::self_signed(ca_params("Test Issuing CA"), KeyPair::generate().unwrap())
            .unwrap();
    *crl.lock().unwrap() = Pki::crl(&impostor, &[], 7);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    revoked().await;
    *crl.lock().unwrap() = first;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    revoked().await;
    server.stop().await;
}

/// Who signs the test responder's answers.
enum Signer {
    /// The issuing CA's own key.
    Ca,
    /// A responder certificate the CA issued with id-kp-OCSPSigning, sent in `certs`.
    Delegated,
    /// A key the CA never authorised, with a self-made certificate sent in `certs`.
    Stranger,
}

/// An OCSP responder over HTTP: answers each request for its CA with x509-ocsp
/// messages signed as `signer` says; counts requests.
struct Responder {
    signer: Mutex<Signer>,
    /// `None`: no nonce in the answer (a pre-computing responder); `Some(true)`: the
    /// request's echoed; `Some(false)`: another one.
    nonce: Mutex<Option<bool>>,
    revoked: Mutex<Vec<Vec<u8>>>,
    requests: std::sync::atomic::AtomicUsize,
    ca: (KeyPair, Vec<u8>),
    delegated: (KeyPair, Vec<u8>),
    stranger: (KeyPair, Vec<u8>),
}

impl Responder {
    fn new(pki: &Pki) -> Responder {
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

    fn answer(&self, body: &[u8]) -> Vec<u8> {
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

async fn start_responder(responder: Arc<Responder>) -> String {
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

/// As nginx's `$ssl_client_escaped_cert`: the PEM, URL-encoded.
fn escaped(pem: &str) -> String {
    pem.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Behind a proxy that terminates mutual TLS: the listener speaks plain HTTP and takes
/// the certificate from the proxy's header, from a configured proxy address only.
#[tokio::test]
async fn behind_a_proxy_the_header_counts_only_from_a_trusted_proxy() {
    let pki = Pki::new();
    let an = pki.personal(Leaf::new("Nguyễn Văn An", "CCCD:079201000020"));
    // Only the leaf, as nginx passes it (the key stays with the browser).
    let leaf = an.pem[an.pem.find("-----BEGIN CERTIFICATE").unwrap()..]
        .split_inclusive("-----END CERTIFICATE-----\n")
        .next()
        .unwrap()
        .to_owned();
    for (trusted, accepted) in [("127.0.0.1", true), ("10.9.9.0/24", false)] {
        let port = free_port();
        let toml = pki.source(port, &pki.file_crls(), "").replace(
            &format!(
                "tls_certificate = \"{}\"\ntls_private_key = \"{}\"\n",
                pki.path("listener.pem"),
                pki.path("listener.key")
            ),
            "",
        ) + &format!(
            "[sources.proxy]\nheader = \"X-SSL-Client-Cert\"\ntrusted_proxies = [\"{trusted}\"]\n"
        );
        let server = TestServer::start_with(&toml).await;
        let client = server
            .client_with(
                "portal",
                portico::store::AuthMethod::ClientSecretBasic,
                true,
                portico::crypto::SigningAlg::ES256,
            )
            .await;
        let browser = Browser::new(&server);
        let login = browser
            .follow(&server.authorize_url(&client, &[("acr_values", "urn:portico:loa:4")]))
            .await;
        let request = login.trim_start_matches("/login?request=");
        let away = browser
            .follow(&format!("/login/gov-pki?request={request}"))
            .await;
        // The test plays the proxy: https outside, plain HTTP to the listener, the
        // certificate in the header.
        let inside = away.replacen("https://", "http://", 1);
        let back = browser
            .http
            .get(&inside)
            .header("X-SSL-Client-Cert", escaped(&leaf))
            .send()
            .await
            .unwrap();
        assert_eq!(back.status(), 303, "{trusted}");
        let done = browser.get(&location(back.headers()).unwrap()).await;
        if accepted {
            assert_eq!(done.status(), 303, "{trusted}");
            let code = code_from(&location(done.headers()).unwrap(), &server, &client);
            let tokens: serde_json::Value = server
                .exchange(&client, &code, VERIFIER)
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(
                claims_of(tokens["id_token"].as_str().unwrap())["acr"],
                "urn:portico:loa:4"
            );
        } else {
            assert_eq!(done.status(), 403, "{trusted}");
            let html = done.text().await.unwrap();
            assert!(html.contains("No certificate was presented"), "{html}");
            let audit = server
                .provider()
                .store
                .audit()
                .recent("login_certificate_header_refused", 1)
                .await
                .unwrap();
            assert!(audit[0].detail.contains("peer=127.0.0.1"), "{:?}", audit[0]);
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn a_certificate_links_to_the_account_holding_its_national_id() {
    let pki = Pki::new();
    let (server, port, client) = start(&pki, &pki.file_crls(), "").await;
    // `TestServer::account` gives "mai" the verified national id 001099000003.
    let mai = server.account("mai").await;
    let cert = pki.personal(Leaf::new("Nguyễn Thị Mai", "CCCD:001099000003"));
    let (claims, _) = signed_in(&server, &pki, &client, port, &cert).await;
    assert_eq!(claims["sub"], mai.as_str());
    let linked = server
        .provider()
        .store
        .audit()
        .recent("login_identity_linked", 5)
        .await
        .unwrap();
    assert_eq!(linked.len(), 1);
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
