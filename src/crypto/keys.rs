//! Signing keys: generation, the in-memory key ring (decoded once), JWS signing and
//! verification, and the JWKS document (serialised once per key change).

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::hash::sha256_b64url;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum SigningAlg {
    ES256,
    RS256,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 2] = [SigningAlg::ES256, SigningAlg::RS256];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::ES256 => "ES256",
            SigningAlg::RS256 => "RS256",
        }
    }

    pub fn parse(text: &str) -> Option<SigningAlg> {
        match text {
            "ES256" => Some(SigningAlg::ES256),
            "RS256" => Some(SigningAlg::RS256),
            _ => None,
        }
    }

    fn jwt(self) -> Algorithm {
        match self {
            SigningAlg::ES256 => Algorithm::ES256,
            SigningAlg::RS256 => Algorithm::RS256,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generate,
    #[error("stored key {kid} cannot be decoded: {reason}")]
    Decode { kid: String, reason: String },
    #[error("no active {0:?} signing key")]
    NoActiveKey(SigningAlg),
    #[error("signing failed: {0}")]
    Sign(String),
}

/// Why a token did not verify; the detail is for logs, never for the client.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed token")]
    Malformed,
    #[error("unknown key id")]
    UnknownKey,
    #[error("wrong token type")]
    WrongType,
    #[error("token rejected: {0}")]
    Rejected(String),
}

/// A private key parsed once, at load: signing a token parses nothing.
enum Signer {
    Ec(EcdsaKeyPair),
    Rsa(aws_lc_rs::rsa::KeyPair),
}

impl Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match self {
            // The FIXED encoding is r || s, as JWS (RFC 7518 section 3.4) wants.
            Signer::Ec(pair) => pair
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::Sign("ECDSA signing failed".into())),
            Signer::Rsa(pair) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng,
                    message,
                    &mut sig,
                )
                .map_err(|_| KeyError::Sign("RSA signing failed".into()))?;
                Ok(sig)
            }
        }
    }
}

#[derive(Serialize)]
struct JwsHeader<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

/// One decoded signing key.
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    signer: Signer,
    decoding: DecodingKey,
    /// The public JWK as published.
    pub public_jwk: serde_json::Value,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SigningKey {
    /// A fresh key pair as PKCS#8 DER. RSA generation takes a noticeable fraction of a
    /// second: call it from the blocking pool.
    pub fn generate_pkcs8(alg: SigningAlg) -> Result<Vec<u8>, KeyError> {
        match alg {
            SigningAlg::ES256 => {
                let rng = aws_lc_rs::rand::SystemRandom::new();
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map(|doc| doc.as_ref().to_vec())
                    .map_err(|_| KeyError::Generate)
            }
            SigningAlg::RS256 => {
                use aws_lc_rs::encoding::AsDer;
                let pair = aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048)
                    .map_err(|_| KeyError::Generate)?;
                pair.as_der()
                    .map(|der| der.as_ref().to_vec())
                    .map_err(|_| KeyError::Generate)
            }
        }
    }

    /// Decodes a PKCS#8 private key; the `kid` is the RFC 7638 thumbprint of its
    /// public JWK, so it is stable and derived, never chosen.
    pub fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<SigningKey, KeyError> {
        let fail = |reason: &str| KeyError::Decode {
            kid: "(new)".into(),
            reason: reason.into(),
        };
        let (signer, decoding, members) = match alg {
            SigningAlg::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|_| fail("not a P-256 PKCS#8 key"))?;
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point[0] != 4 {
                    return Err(fail("unexpected EC point encoding"));
                }
                let (x, y) = (b64(&point[1..33]), b64(&point[33..65]));
                let decoding =
                    DecodingKey::from_ec_components(&x, &y).map_err(|e| fail(&e.to_string()))?;
                let thumb = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
                (
                    Signer::Ec(pair),
                    decoding,
                    (thumb, json!({"kty": "EC", "crv": "P-256", "x": x, "y": y})),
                )
            }
            SigningAlg::RS256 => {
                let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(der)
                    .map_err(|_| fail("not an RSA PKCS#8 key"))?;
                let public = pair.public_key();
                let n = b64(public.modulus().big_endian_without_leading_zero());
                let e = b64(public.exponent().big_endian_without_leading_zero());
                let decoding =
                    DecodingKey::from_rsa_components(&n, &e).map_err(|e| fail(&e.to_string()))?;
                let thumb = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
                (
                    Signer::Rsa(pair),
                    decoding,
                    (thumb, json!({"kty": "RSA", "n": n, "e": e})),
                )
            }
        };
        let (thumbprint_input, mut jwk) = members;
        let kid = sha256_b64url(&thumbprint_input);
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        jwk["alg"] = json!(alg.as_str());
        Ok(SigningKey {
            kid,
            alg,
            signer,
            decoding,
            public_jwk: jwk,
        })
    }
}

/// A published key and when it signs.
#[derive(Debug)]
pub struct KeyEntry {
    pub key: SigningKey,
    /// It signs from this time...
    pub activates_at: i64,
    /// ...until this one, if set (a rotation replaced it).
    pub retired_at: Option<i64>,
}

#[derive(Debug)]
struct Entry {
    key: Arc<SigningKey>,
    activates_at: i64,
    retired_at: Option<i64>,
}

/// The keys in memory: every published key by `kid`, when each signs, and the JWKS
/// document ready to serve.
#[derive(Debug)]
pub struct KeyRing {
    /// Newest first.
    entries: Vec<Entry>,
    published: HashMap<String, Arc<SigningKey>>,
    /// Serialised once; cloned per request without copying.
    jwks: Bytes,
}

impl KeyRing {
    /// `entries` newest first.
    pub fn new(entries: Vec<KeyEntry>) -> KeyRing {
        let jwks = json!({
            "keys": entries.iter().map(|e| e.key.public_jwk.clone()).collect::<Vec<_>>()
        })
        .to_string();
        let entries: Vec<Entry> = entries
            .into_iter()
            .map(|e| Entry {
                key: Arc::new(e.key),
                activates_at: e.activates_at,
                retired_at: e.retired_at,
            })
            .collect();
        let published = entries
            .iter()
            .map(|e| (e.key.kid.clone(), e.key.clone()))
            .collect();
        KeyRing {
            entries,
            published,
            jwks: Bytes::from(jwks.to_string()),
        }
    }

    /// The key that signs for `alg` at `now`: the newest active one.
    fn signing_key(&self, alg: SigningAlg, now: i64) -> Option<&Arc<SigningKey>> {
        self.entries
            .iter()
            .find(|e| {
                e.key.alg == alg && e.activates_at <= now && e.retired_at.is_none_or(|r| r > now)
            })
            .map(|e| &e.key)
    }

    pub fn jwks_json(&self) -> Bytes {
        self.jwks.clone()
    }

    pub fn signing_kid(&self, alg: SigningAlg, now: i64) -> Option<&str> {
        self.signing_key(alg, now).map(|k| k.kid.as_str())
    }

    /// A published key by `kid` (for verifying our own tokens).
    pub fn get(&self, kid: &str) -> Option<&Arc<SigningKey>> {
        self.published.get(kid)
    }

    /// A compact JWS of `claims` with header `typ` and the active key's `kid`.
    pub fn sign<T: Serialize>(
        &self,
        alg: SigningAlg,
        typ: &str,
        claims: &T,
        now: i64,
    ) -> Result<String, KeyError> {
        let key = self
            .signing_key(alg, now)
            .ok_or(KeyError::NoActiveKey(alg))?;
        let header = serde_json::to_vec(&JwsHeader {
            alg: alg.as_str(),
            typ,
            kid: &key.kid,
        })
        .map_err(|e| KeyError::Sign(e.to_string()))?;
        let payload = serde_json::to_vec(claims).map_err(|e| KeyError::Sign(e.to_string()))?;
        // RFC 7515 section 7.1: base64url(header) . base64url(payload) . base64url(sig)
        let mut jws = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 100);
        URL_SAFE_NO_PAD.encode_string(&header, &mut jws);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut jws);
        let signature = key.signer.sign(jws.as_bytes())?;
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut jws);
        Ok(jws)
    }

    /// Verifies a JWS made by this provider whatever its expiry (an `id_token_hint` may
    /// have expired: RP-Initiated Logout section 2).
    pub fn verify_ignoring_expiry<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        issuer: &str,
    ) -> Result<T, VerifyError> {
        self.verify(token, typ, issuer, i64::MIN + 1)
    }

    /// Verifies a JWS made by this provider: known `kid`, the key's own algorithm (the
    /// header cannot choose another), the expected `typ`, issuer and expiry.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        issuer: &str,
        now: i64,
    ) -> Result<T, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.published.get(kid))
            .ok_or(VerifyError::UnknownKey)?;
        if header.typ.as_deref().map(str::to_ascii_lowercase) != Some(typ.to_ascii_lowercase()) {
            return Err(VerifyError::WrongType);
        }
        let mut validation = Validation::new(key.alg.jwt());
        validation.set_issuer(&[issuer]);
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &key.decoding, &validation)
            .map_err(|e| VerifyError::Rejected(e.to_string()))?;
        // Expiry against the injected clock rather than the library's own.
        match data.claims.get("exp").and_then(serde_json::Value::as_i64) {
            Some(exp) if exp > now => {}
            _ => return Err(VerifyError::Rejected("expired".into())),
        }
        serde_json::from_value(data.claims).map_err(|e| VerifyError::Rejected(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        let es = SigningKey::from_pkcs8(
            SigningAlg::ES256,
            &SigningKey::generate_pkcs8(SigningAlg::ES256).unwrap(),
        )
        .unwrap();
        let rs = SigningKey::from_pkcs8(
            SigningAlg::RS256,
            &SigningKey::generate_pkcs8(SigningAlg::RS256).unwrap(),
        )
        .unwrap();
        KeyRing::new(vec![
            KeyEntry {
                key: es,
                activates_at: 0,
                retired_at: None,
            },
            KeyEntry {
                key: rs,
                activates_at: 0,
                retired_at: None,
            },
        ])
    }

    #[test]
    fn sign_and_verify_each_algorithm() {
        let ring = ring();
        for alg in SigningAlg::ALL {
            let token = ring
                .sign(
                    alg,
                    "at+jwt",
                    &json!({"iss": "https://i", "exp": 2000, "sub": "a"}),
                    1000,
                )
                .unwrap();
            let claims: serde_json::Value =
                ring.verify(&token, "at+jwt", "https://i", 1000).unwrap();
            assert_eq!(claims["sub"], "a");
            assert!(matches!(
                ring.verify::<serde_json::Value>(&token, "at+jwt", "https://i", 2000),
                Err(VerifyError::Rejected(_))
            ));
            assert!(matches!(
                ring.verify::<serde_json::Value>(&token, "JWT", "https://i", 1000),
                Err(VerifyError::WrongType)
            ));
            assert!(matches!(
                ring.verify::<serde_json::Value>(&token, "at+jwt", "https://other", 1000),
                Err(VerifyError::Rejected(_))
            ));
        }
    }

    #[test]
    fn the_newest_active_key_signs_and_retired_keys_still_verify() {
        let key =
            |alg| SigningKey::from_pkcs8(alg, &SigningKey::generate_pkcs8(alg).unwrap()).unwrap();
        let (old, new) = (key(SigningAlg::ES256), key(SigningAlg::ES256));
        let (old_kid, new_kid) = (old.kid.clone(), new.kid.clone());
        // Rotated at 100 with a lead time of 50: new signs from 150.
        let ring = KeyRing::new(vec![
            KeyEntry {
                key: new,
                activates_at: 150,
                retired_at: None,
            },
            KeyEntry {
                key: old,
                activates_at: 0,
                retired_at: Some(150),
            },
        ]);
        assert_eq!(
            ring.signing_kid(SigningAlg::ES256, 120),
            Some(old_kid.as_str())
        );
        assert_eq!(
            ring.signing_kid(SigningAlg::ES256, 150),
            Some(new_kid.as_str())
        );
        let claims = json!({"iss": "https://i", "exp": 2000});
        let before = ring.sign(SigningAlg::ES256, "JWT", &claims, 120).unwrap();
        let after = ring.sign(SigningAlg::ES256, "JWT", &claims, 160).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&after).unwrap().kid.unwrap(),
            new_kid
        );
        assert!(
            ring.verify::<serde_json::Value>(&before, "JWT", "https://i", 170)
                .is_ok()
        );
        assert!(ring.signing_kid(SigningAlg::RS256, 120).is_none());
    }

    #[test]
    fn jwks_publishes_public_parts_only_with_thumbprint_kids() {
        let ring = ring();
        let jwks: serde_json::Value = serde_json::from_slice(&ring.jwks_json()).unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        for k in keys {
            assert!(k.get("d").is_none() && k.get("p").is_none());
            assert_eq!(k["use"], "sig");
            assert_eq!(k["kid"].as_str().unwrap().len(), 43);
        }
    }

    #[test]
    fn rfc7638_thumbprint_example() {
        // RFC 7638 section 3.1's RSA key has this thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let input = format!(r#"{{"e":"AQAB","kty":"RSA","n":"{n}"}}"#);
        assert_eq!(
            sha256_b64url(&input),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
