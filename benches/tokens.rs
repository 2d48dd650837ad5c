//! Micro-benchmarks: the ceiling each token endpoint has from signing alone.
//! `cargo bench --bench tokens`

use criterion::{Criterion, criterion_group, criterion_main};
use portico::crypto::SigningAlg;
use portico::crypto::keys::{KeyEntry, KeyRing, SigningKey};
use portico::oidc::tokens::{AccessTokenClaims, Audience, at_hash};
use serde_json::json;

fn ring() -> KeyRing {
    let entries = SigningAlg::ALL
        .iter()
        .map(|alg| KeyEntry {
            key: SigningKey::from_pkcs8(*alg, &SigningKey::generate_pkcs8(*alg).unwrap()).unwrap(),
            activates_at: 0,
            retired_at: None,
        })
        .collect();
    KeyRing::new(entries)
}

fn claims() -> AccessTokenClaims {
    AccessTokenClaims {
        iss: "https://id.example.gov".into(),
        sub: "0193a5c2-6c1e-7d3f-9a4b-2f1e0d9c8b7a".into(),
        aud: Audience(vec!["https://id.example.gov".into()]),
        exp: 2_000_000_000,
        iat: 1_800_000_000,
        jti: "0193a5c2-6c1e-7d3f-9a4b-2f1e0d9c8b7b".into(),
        client_id: "tax-portal".into(),
        scope: "openid profile email".into(),
        grant_id: Some("0193a5c2-6c1e-7d3f-9a4b-2f1e0d9c8b7c".into()),
        auth_time: Some(1_800_000_000),
        acr: Some("urn:portico:loa:2".into()),
        amr: Some(vec!["pwd".into()]),
        sid: Some("nMaI9YSUKnw_BQvEDEJytQcB".into()),
        userinfo_claims: Vec::new(),
    }
}

fn bench(c: &mut Criterion) {
    let ring = ring();
    let claims = claims();
    for alg in SigningAlg::ALL {
        c.bench_function(&format!("sign access token {}", alg.as_str()), |b| {
            b.iter(|| ring.sign(alg, "at+jwt", &claims, 1_800_000_000).unwrap())
        });
        let token = ring.sign(alg, "at+jwt", &claims, 1_800_000_000).unwrap();
        c.bench_function(&format!("verify access token {}", alg.as_str()), |b| {
            b.iter(|| {
                ring.verify::<AccessTokenClaims>(
                    &token,
                    "at+jwt",
                    "https://id.example.gov",
                    1_800_000_001,
                )
                .unwrap()
            })
        });
    }
    // What a code exchange signs: an access token, then an ID token carrying its at_hash.
    c.bench_function("assemble access token + ID token ES256", |b| {
        b.iter(|| {
            let at = ring
                .sign(SigningAlg::ES256, "at+jwt", &claims, 1_800_000_000)
                .unwrap();
            let id = json!({
                "iss": claims.iss, "sub": claims.sub, "aud": claims.client_id,
                "exp": claims.exp, "iat": claims.iat, "auth_time": claims.auth_time,
                "nonce": "n-0S6_WzA2Mj", "acr": claims.acr, "amr": claims.amr, "sid": claims.sid,
                "at_hash": at_hash(&at, SigningAlg::ES256),
            });
            ring.sign(SigningAlg::ES256, "JWT", &id, 1_800_000_000)
                .unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
