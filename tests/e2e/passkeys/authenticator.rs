//! A software authenticator for the tests: what a platform authenticator does for
//! `navigator.credentials.create` and `.get` (WebAuthn Level 2, sections 6.1 and 6.5),
//! with an ES256 key of its own (aws-lc-rs) and "none" attestation, answering with the
//! JSON that `static/passkey.js` posts. The CBOR it needs (an attestation object and a
//! COSE key) is written by hand: a few definite-length items.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// One resident ES256 credential, made by [`Authenticator::register`].
pub struct Authenticator {
    origin: String,
    key: EcdsaKeyPair,
    credential_id: Vec<u8>,
    /// The user handle the registration gave (`user.id`), returned at each sign-in.
    user_handle: Option<Vec<u8>>,
    counter: u32,
}

// Authenticator data flags (section 6.1).
const USER_PRESENT: u8 = 0x01;
const USER_VERIFIED: u8 = 0x04;
const ATTESTED_CREDENTIAL: u8 = 0x40;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

/// A CBOR item's head: major type and argument (RFC 8949 section 3).
fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
    }
}

fn int(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        head(out, 0, i as u64);
    } else {
        head(out, 1, (-1 - i) as u64);
    }
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// The options a page carries in its `<script type="application/json">`.
pub fn options_in(html: &str) -> Value {
    let start = html
        .find("<script type=\"application/json\">")
        .unwrap_or_else(|| panic!("no WebAuthn options in {html}"))
        + "<script type=\"application/json\">".len();
    let end = html[start..].find("</script>").unwrap() + start;
    serde_json::from_str(&html[start..end]).unwrap()
}

fn challenge(options: &Value) -> String {
    options["publicKey"]["challenge"]
        .as_str()
        .expect("a challenge")
        .to_owned()
}

impl Authenticator {
    /// An authenticator for pages of `origin` (`http://localhost:PORT`), holding no
    /// credential yet.
    pub fn new(origin: &str) -> Self {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        Authenticator {
            origin: origin.to_owned(),
            key,
            credential_id: portico::random::bytes::<32>().to_vec(),
            user_handle: None,
            counter: 0,
        }
    }

    fn rp_id_hash(&self) -> Vec<u8> {
        let host = url::Url::parse(&self.origin).unwrap();
        sha256(host.host_str().unwrap().as_bytes())
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        }))
        .unwrap()
    }

    /// `navigator.credentials.create` with the registration page's options: the
    /// credential as the page posts it.
    pub fn register(&mut self, options: &Value) -> Value {
        let user_id = options["publicKey"]["user"]["id"]
            .as_str()
            .expect("user.id");
        self.user_handle = Some(URL_SAFE_NO_PAD.decode(user_id).unwrap());
        // The public key as COSE_Key (RFC 9053: EC2, ES256, P-256, x, y).
        let point = self.key.public_key().as_ref();
        assert_eq!(point.len(), 65, "an uncompressed P-256 point");
        let mut cose = Vec::new();
        head(&mut cose, 5, 5);
        for (label, value) in [(1, 2), (3, -7), (-1, 1)] {
            int(&mut cose, label);
            int(&mut cose, value);
        }
        int(&mut cose, -2);
        bytes(&mut cose, &point[1..33]);
        int(&mut cose, -3);
        bytes(&mut cose, &point[33..]);

        let mut auth_data = self.rp_id_hash();
        auth_data.push(USER_PRESENT | USER_VERIFIED | ATTESTED_CREDENTIAL);
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID: none
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(cose);

        let mut attestation = Vec::new();
        head(&mut attestation, 5, 3);
        text(&mut attestation, "fmt");
        text(&mut attestation, "none");
        text(&mut attestation, "attStmt");
        head(&mut attestation, 5, 0);
        text(&mut attestation, "authData");
        bytes(&mut attestation, &auth_data);

        let client_data = self.client_data("webauthn.create", &challenge(options));
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "extensions": {},
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&client_data),
                "transports": ["internal"],
            },
        })
    }

    /// `navigator.credentials.get` with the sign-in page's options (discoverable: the
    /// authenticator offers its credential): the assertion as the page posts it.
    pub fn sign(&mut self, options: &Value) -> Value {
        self.counter += 1;
        let mut auth_data = self.rp_id_hash();
        auth_data.push(USER_PRESENT | USER_VERIFIED);
        auth_data.extend(self.counter.to_be_bytes());
        let client_data = self.client_data("webauthn.get", &challenge(options));
        let mut signed = auth_data.clone();
        signed.extend(sha256(&client_data));
        let signature = self.key.sign(&SystemRandom::new(), &signed).unwrap();
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "extensions": {},
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.as_ref()),
                "userHandle": self.user_handle.as_deref().map(b64),
            },
        })
    }
}
