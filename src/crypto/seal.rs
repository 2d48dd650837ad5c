//! The master keys (`keys_dir/master.key`, see [`super::master_file`]), derived. Each
//! key gives a sealing key (AES-256-GCM, for the signing keys and login attempts), a
//! CSRF key and a refresh-successor key, so one use can never be turned against
//! another. The newest key seals and signs; every key in the file opens and verifies,
//! so what was sealed before a rotation stays readable until it is re-sealed or expires.
//!
//! The pairwise-subject key is not derived from the current master key: it is the one
//! secret that must never change (a new one would change every pairwise `sub`), so it is
//! kept sealed in the database (`sealed_secrets`) and survives every rotation.

use std::sync::{Arc, RwLock};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::master_file::MasterKeyFile;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("master key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("sealed data is corrupt or was sealed under another master key")]
    Open,
    #[error(
        "the new master key file lacks the key this node seals with ({0}); it was not \
         taken (copy the file written by `portico keys` on the node that rotated)"
    )]
    Unrelated(String),
}

/// The keys derived from one master key; the master key itself is dropped once they
/// exist.
struct Generation {
    /// Names the master key in logs, the audit trail and `portico keys`, revealing
    /// nothing of it (an HKDF output of its own).
    id: String,
    seal: LessSafeKey,
    csrf: hmac::Key,
    refresh: hmac::Key,
}

struct Len(usize);
impl aws_lc_rs::hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA256 of a master key for one purpose. The salt and the `info` strings are
/// those of the first version, so keys derived before rotation existed are unchanged.
fn derive<const N: usize>(raw: &[u8; 32], info: &[u8]) -> [u8; N] {
    let prk = Salt::new(HKDF_SHA256, b"portico master key v1").extract(raw);
    let mut out = [0u8; N];
    prk.expand(&[info], Len(N))
        .and_then(|okm| okm.fill(&mut out))
        .expect("HKDF output of at most 32 bytes is always possible");
    out
}

/// The pairwise-subject key as the first version derived it from the master key:
/// taken once from the original master key, then kept in the database.
pub fn original_pairwise_key(raw: &[u8; 32]) -> [u8; 32] {
    derive(raw, b"pairwise subject identifiers")
}

impl Generation {
    fn new(raw: &[u8; 32]) -> Generation {
        Generation {
            id: URL_SAFE_NO_PAD.encode(derive::<6>(raw, b"key id")),
            seal: LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, &derive::<32>(raw, b"seal signing keys"))
                    .expect("32-byte AES key"),
            ),
            csrf: hmac::Key::new(hmac::HMAC_SHA256, &derive::<32>(raw, b"csrf tokens")),
            refresh: hmac::Key::new(
                hmac::HMAC_SHA256,
                &derive::<32>(raw, b"refresh token successors"),
            ),
        }
    }

    fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
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
}

/// The master keys in memory, the sealing one first.
pub struct MasterKey {
    generations: RwLock<Arc<Vec<Generation>>>,
    pairwise: hmac::Key,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

fn generations_of(file: &MasterKeyFile) -> Vec<Generation> {
    file.keys().map(Generation::new).collect()
}

impl MasterKey {
    /// The keys of `file`, with the pairwise-subject key kept in the database.
    pub fn new(file: &MasterKeyFile, pairwise_key: &[u8; 32]) -> MasterKey {
        MasterKey {
            generations: RwLock::new(Arc::new(generations_of(file))),
            pairwise: hmac::Key::new(hmac::HMAC_SHA256, pairwise_key),
        }
    }

    /// One master key, never rotated (unit tests, and the pairwise key it derives).
    pub fn from_bytes(raw: &[u8; 32]) -> MasterKey {
        let file = MasterKeyFile {
            current: *raw,
            next: None,
            previous: Vec::new(),
        };
        MasterKey::new(&file, &original_pairwise_key(raw))
    }

    fn generations(&self) -> Arc<Vec<Generation>> {
        self.generations
            .read()
            .expect("master key lock poisoned")
            .clone()
    }

    /// Takes the keys of a changed key file (another node rotated, or the CLI did).
    /// Returns whether anything changed. A file without the key this node seals with
    /// is refused: every legitimate change (staging, rotating, dropping) keeps it, and
    /// taking an unrelated file would seal data no other node could open.
    pub fn replace_file(&self, file: &MasterKeyFile) -> Result<bool, SealError> {
        let incoming = generations_of(file);
        let running = self.generations();
        let ids = |g: &[Generation]| g.iter().map(|g| g.id.clone()).collect::<Vec<_>>();
        if ids(&incoming) == ids(&running) {
            return Ok(false);
        }
        if !incoming.iter().any(|g| g.id == running[0].id) {
            return Err(SealError::Unrelated(running[0].id.clone()));
        }
        *self.generations.write().expect("master key lock poisoned") = Arc::new(incoming);
        Ok(true)
    }

    /// The id of the key that seals, then of every other key held.
    pub fn key_ids(&self) -> Vec<String> {
        self.generations().iter().map(|g| g.id.clone()).collect()
    }

    /// AES-256-GCM under the current key with a random nonce; `context` is bound as
    /// associated data (the key id, the attempt's handle), so sealed blobs cannot be
    /// swapped between rows.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let generations = self.generations();
        let nonce_bytes = crate::random::bytes::<NONCE_LEN>();
        let mut data = plaintext.to_vec();
        generations[0]
            .seal
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

    /// Opens data sealed under any key held (GCM's tag tells a wrong key apart).
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        self.generations()
            .iter()
            .find_map(|g| g.open(context, sealed).ok())
            .ok_or(SealError::Open)
    }

    /// Whether the current key opens it (else only an older key does, or none).
    pub fn sealed_by_current(&self, context: &str, sealed: &[u8]) -> bool {
        self.generations()[0].open(context, sealed).is_ok()
    }

    /// HMAC-SHA256 for CSRF tokens, under the current key.
    pub fn csrf_mac(&self, message: &[u8]) -> hmac::Tag {
        hmac::sign(&self.generations()[0].csrf, message)
    }

    /// A CSRF tag made under any key held: a form shown before a rotation still posts.
    pub fn csrf_verify(&self, message: &[u8], tag: &[u8]) -> bool {
        self.generations()
            .iter()
            .any(|g| hmac::verify(&g.csrf, message, tag).is_ok())
    }

    /// A pairwise subject (OIDC Core section 8.1): stable for one account and sector,
    /// unlinkable across sectors without this key.
    pub fn pairwise_subject(&self, sector: &str, account_id: &str) -> String {
        let tag = hmac::sign(&self.pairwise, format!("{sector}\n{account_id}").as_bytes());
        URL_SAFE_NO_PAD.encode(tag)
    }

    /// The `sid` a client gets for a session: one per session and client, so that
    /// portals of different sectors cannot correlate a person through it. Under the
    /// stable pairwise key: a portal matches a logout token's `sid` with the one its ID
    /// token carried, whatever rotation happened in between.
    pub fn session_sid(&self, session_id: &str, client_id: &str) -> String {
        let tag = hmac::sign(
            &self.pairwise,
            format!("sid\n{session_id}\n{client_id}").as_bytes(),
        );
        URL_SAFE_NO_PAD.encode(&tag.as_ref()[..18])
    }

    /// The successor of a refresh token, derived from it under the current key: a token
    /// presented again within its grace period gets the very same successor, with
    /// nothing extra stored.
    pub fn refresh_successor(&self, token: &str) -> crate::secret::Secret {
        successor(&self.generations()[0], token)
    }

    /// The successors the token may have been given, under each key held (current
    /// first): a token rotated before a master-key rotation, presented again within
    /// its grace period, finds the successor it was given then.
    pub fn refresh_successors(&self, token: &str) -> Vec<crate::secret::Secret> {
        self.generations()
            .iter()
            .map(|g| successor(g, token))
            .collect()
    }
}

fn successor(generation: &Generation, token: &str) -> crate::secret::Secret {
    let tag = hmac::sign(&generation.refresh, token.as_bytes());
    crate::secret::Secret::new(URL_SAFE_NO_PAD.encode(tag))
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
    fn after_a_rotation_the_new_key_seals_and_every_key_opens() {
        let (old, new) = ([1u8; 32], [2u8; 32]);
        let before = MasterKey::from_bytes(&old);
        let sealed_before = before.seal("k", b"secret");
        let tag_before = before.csrf_mac(b"form");
        let successor_before = before.refresh_successor("rt").expose().to_owned();
        let rotated = MasterKeyFile {
            current: new,
            next: None,
            previous: vec![old],
        };
        assert!(before.replace_file(&rotated).unwrap());
        assert!(!before.replace_file(&rotated).unwrap(), "unchanged");
        let after = before;
        assert_eq!(after.open("k", &sealed_before).unwrap(), b"secret");
        assert!(!after.sealed_by_current("k", &sealed_before));
        let sealed_after = after.seal("k", b"secret");
        assert!(after.sealed_by_current("k", &sealed_after));
        assert!(
            MasterKey::from_bytes(&old)
                .open("k", &sealed_after)
                .is_err()
        );
        assert!(after.csrf_verify(b"form", tag_before.as_ref()));
        assert!(!after.csrf_verify(b"other form", tag_before.as_ref()));
        let successors: Vec<String> = after
            .refresh_successors("rt")
            .iter()
            .map(|s| s.expose().to_owned())
            .collect();
        assert_eq!(successors.len(), 2);
        assert_ne!(successors[0], successor_before, "the new key derives anew");
        assert_eq!(successors[1], successor_before);
        assert_eq!(
            after.pairwise_subject("tax.example", "acc-1"),
            MasterKey::from_bytes(&old).pairwise_subject("tax.example", "acc-1"),
            "the pairwise key is not the current master key's"
        );
    }

    #[test]
    fn pairwise_subjects_are_those_of_the_first_version() {
        // HKDF-SHA256(salt "portico master key v1", info "pairwise subject identifiers")
        // then HMAC-SHA256 of "sector\naccount", computed apart from this code: a
        // deployment upgraded from before rotation existed keeps every `sub`.
        let k = MasterKey::from_bytes(&[3u8; 32]);
        assert_eq!(
            k.pairwise_subject("tax.example", "acc-1"),
            "G0YPkNUYEKsxzwqK7VLeMr-qjyFv2t4U9831LzFxVI0"
        );
    }

    #[test]
    fn a_key_file_without_the_sealing_key_is_refused() {
        let k = MasterKey::from_bytes(&[1u8; 32]);
        let ids = k.key_ids();
        let unrelated = MasterKeyFile {
            current: [9; 32],
            next: None,
            previous: vec![[8; 32]],
        };
        assert!(matches!(
            k.replace_file(&unrelated),
            Err(SealError::Unrelated(_))
        ));
        assert_eq!(k.key_ids(), ids);
    }

    #[test]
    fn nodes_starting_together_agree_on_one_master_key() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<MasterKeyFile> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| MasterKeyFile::load_or_create(dir.path()).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let keys: Vec<MasterKey> = files
            .iter()
            .map(|f| MasterKey::from_bytes(&f.current))
            .collect();
        let sealed = keys[0].seal("k", b"secret");
        for k in &keys {
            assert_eq!(k.open("k", &sealed).unwrap(), b"secret");
        }
    }

    #[test]
    fn master_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = MasterKeyFile::load_or_create(dir.path()).unwrap();
        let b = MasterKeyFile::load_or_create(dir.path()).unwrap();
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
