//! The master key: 256 random bits in `keys_dir/master.key`, created on first start
//! with mode 0600. Signing keys are sealed with AES-256-GCM under a key derived from
//! it, and other purposes (CSRF tokens) get their own derived keys, so one use can
//! never be turned against another.

use std::fs;
use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("master key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("sealed data is corrupt or was sealed under another master key")]
    Open,
}

/// The derived keys; the master key itself is dropped once they exist.
pub struct MasterKey {
    seal: LessSafeKey,
    csrf: hmac::Key,
    pairwise: hmac::Key,
    refresh: hmac::Key,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

struct Len(usize);
impl aws_lc_rs::hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl MasterKey {
    /// Reads `dir/master.key`, creating it (and `dir`) on first start.
    pub fn load_or_create(dir: &Path) -> Result<MasterKey, SealError> {
        let path = dir.join("master.key");
        let fail = |reason: String| SealError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        // The folder holds the key that unseals every signing key: Portico's user alone
        // may list or enter it, and the key file is that user's alone too.
        crate::private_files::create_dir(dir)
            .and_then(|_| crate::private_files::tighten(dir))
            .and_then(|_| crate::private_files::tighten(&path))
            .map_err(|e| fail(format!("cannot make private: {e}")))?;
        if !path.exists() {
            // Written whole to a private temporary file, then linked into place: a node
            // starting at the same moment sees either no key or the whole key, and the
            // first link wins (the loser reads the winner's key).
            let tmp = dir.join(format!(".master.key.{}", crate::ids::new_uuid()));
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let written = options.open(&tmp).and_then(|mut file| {
                file.write_all(STANDARD.encode(crate::random::bytes::<32>()).as_bytes())?;
                file.sync_all()
            });
            let linked = written.and_then(|_| fs::hard_link(&tmp, &path));
            let _ = fs::remove_file(&tmp);
            match linked {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(fail(format!("cannot create: {e}"))),
            }
        }
        let text = fs::read_to_string(&path).map_err(|e| fail(format!("cannot read: {e}")))?;
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| fail("is not base64; restore it from backup".into()))?;
        let raw: [u8; 32] = bytes
            .try_into()
            .map_err(|_| fail("must hold 32 bytes in base64; restore it from backup".into()))?;
        Ok(MasterKey::from_bytes(&raw))
    }

    pub fn from_bytes(raw: &[u8; 32]) -> MasterKey {
        let prk = Salt::new(HKDF_SHA256, b"portico master key v1").extract(raw);
        let derive = |info: &[u8]| {
            let mut out = [0u8; 32];
            prk.expand(&[info], Len(32))
                .and_then(|okm| okm.fill(&mut out))
                .expect("HKDF output of 32 bytes is always possible");
            out
        };
        let seal_key = derive(b"seal signing keys");
        let csrf_key = derive(b"csrf tokens");
        let pairwise_key = derive(b"pairwise subject identifiers");
        let refresh_key = derive(b"refresh token successors");
        MasterKey {
            seal: LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, &seal_key).expect("32-byte AES key"),
            ),
            csrf: hmac::Key::new(hmac::HMAC_SHA256, &csrf_key),
            pairwise: hmac::Key::new(hmac::HMAC_SHA256, &pairwise_key),
            refresh: hmac::Key::new(hmac::HMAC_SHA256, &refresh_key),
        }
    }

    /// AES-256-GCM with a random nonce; `context` is bound as associated data (the key
    /// id), so sealed blobs cannot be swapped between rows.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce_bytes = crate::random::bytes::<NONCE_LEN>();
        let mut data = plaintext.to_vec();
        self.seal
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(context.as_bytes()),
                &mut data,
            )
            .expect("AES-GCM sealing cannot fail for in-memory data");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&data);
        out
    }

    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut data = ciphertext.to_vec();
        let plain = self
            .seal
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut data)
            .map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }

    /// HMAC-SHA256 for CSRF tokens.
    pub fn csrf_mac(&self, message: &[u8]) -> hmac::Tag {
        hmac::sign(&self.csrf, message)
    }

    /// A pairwise subject (OIDC Core section 8.1): stable for one account and sector,
    /// unlinkable across sectors without this key.
    pub fn pairwise_subject(&self, sector: &str, account_id: &str) -> String {
        let tag = hmac::sign(&self.pairwise, format!("{sector}\n{account_id}").as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag)
    }

    /// The `sid` a client gets for a session: one per session and client, so that
    /// portals of different sectors cannot correlate a person through it.
    pub fn session_sid(&self, session_id: &str, client_id: &str) -> String {
        let tag = hmac::sign(
            &self.pairwise,
            format!("sid\n{session_id}\n{client_id}").as_bytes(),
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&tag.as_ref()[..18])
    }

    /// The successor of a refresh token, derived from it: a token presented again within
    /// its grace period gets the very same successor, with nothing extra stored.
    pub fn refresh_successor(&self, token: &str) -> crate::secret::Secret {
        let tag = hmac::sign(&self.refresh, token.as_bytes());
        crate::secret::Secret::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag))
    }

    pub fn csrf_verify(&self, message: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.csrf, message, tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_context_binding() {
        let k = MasterKey::from_bytes(&[7u8; 32]);
        let sealed = k.seal("kid-1", b"private key");
        assert_eq!(k.open("kid-1", &sealed).unwrap(), b"private key");
        assert!(k.open("kid-2", &sealed).is_err());
        let other = MasterKey::from_bytes(&[8u8; 32]);
        assert!(other.open("kid-1", &sealed).is_err());
    }

    #[test]
    fn nodes_starting_together_agree_on_one_master_key() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<MasterKey> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| MasterKey::load_or_create(dir.path()).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let sealed = keys[0].seal("k", b"secret");
        for k in &keys {
            assert_eq!(k.open("k", &sealed).unwrap(), b"secret");
        }
    }

    #[test]
    fn master_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = MasterKey::load_or_create(dir.path()).unwrap();
        let sealed = a.seal("x", b"y");
        let b = MasterKey::load_or_create(dir.path()).unwrap();
        assert_eq!(b.open("x", &sealed).unwrap(), b"y");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
