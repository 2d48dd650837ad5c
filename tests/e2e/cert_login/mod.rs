//! Certificate login (`kind = "x509"`) end to end: a test PKI made with rcgen (a root,
//! an issuing CA, CRLs, personal and enterprise certificates with the UID prefixes
//! Vietnamese CAs use), the real certificate listener on a port of its own, and reqwest
//! presenting client certificates over TLS. The certificate is judged by Portico after
//! the handshake, so each refusal is a page on the main origin, and audited.

mod flow;
mod ocsp;
mod pki;

use std::sync::{Arc, Mutex};

use rcgen::{CertifiedIssuer, ExtendedKeyUsagePurpose, KeyPair};
use rustls_pki_types::pem::PemObject;
use time::{Duration, OffsetDateTime};

use crate::common::*;

use flow::*;
use pki::*;

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
