//! The master keys' lifecycle, across the key file (`crypto::master_file`) and the
//! database: loading them at start (with the pairwise-subject key kept in
//! `sealed_secrets`), and the three steps of `portico keys`: stage a next key, rotate
//! (the next or a new key becomes current, the old one is kept as previous, and what
//! the database keeps long is re-sealed in one transaction), and drop the previous keys
//! once nothing live needs them.
//!
//! Dropping is a command of its own, never automatic after a rotation: a node that has
//! not taken the new file yet still seals login attempts under the old key, and a
//! refresh token rotated just before may come back within its grace period, so the
//! operator drops when every node runs the new file; the command refuses while live
//! login attempts are still sealed under a previous key.

use std::path::Path;

use crate::crypto::MasterKeyFile;
use crate::crypto::seal::{MasterKey, SealError, original_pairwise_key};
use crate::store::{Resealed, SealedItem, Store, StoreError};

/// The `sealed_secrets` row of the pairwise-subject key.
pub const PAIRWISE_SUBJECT_KEY: &str = "pairwise_subject_key";

/// The `sealed_secrets` row naming the keys of the file the last `portico keys`
/// command wrote (their ids, space-separated; not secret, but sealed like every row of
/// the table, which also makes it tamper-evident). A command run where that file has not
/// arrived yet refuses, instead of staging or rotating to a key no other node holds.
const LATEST_FILE: &str = "master_key_file_ids";

fn secret_context(name: &str) -> String {
    format!("sealed_secret:{name}")
}

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "{0}: no key in it opens this database's pairwise-subject key. Either another \
         node rotated the master key and this file predates it (copy master.key from \
         that node), or the file and `database_url` belong to different deployments"
    )]
    WrongFile(String),
    #[error(
        "{0} has been rotated (it holds previous keys) but the database has no \
         pairwise-subject key: this database is older than the rotation, or new. Restore \
         the database backup that goes with the key file; for a new deployment, remove \
         the `previous` lines first (every pairwise `sub` of the old one changes)"
    )]
    NoPairwiseKey(String),
    #[error(
        "a next master key is staged already ({0}): `portico keys rotate-master` makes \
         it current"
    )]
    AlreadyStaged(String),
    #[error("{0} holds no previous master key: nothing to drop")]
    NothingToDrop(String),
    #[error(
        "{count} login attempt(s) in progress are sealed under a previous master key \
         (the last expires at {until}): a node may still run with the old key file. Copy \
         the file to every node and run this again after {until}, or give --force (those \
         attempts then fail and the people start again)"
    )]
    StillInUse { count: usize, until: i64 },
    #[error(
        "{path} is older than the file the last `portico keys` command wrote: it lacks \
         master key(s) {missing}. Copy the newest master.key here (from the node where \
         that command ran) and run this again"
    )]
    StaleFile { path: String, missing: String },
    #[error(
        "master.key was rotated, but re-sealing the database failed ({0}); nothing is \
         lost (the file keeps the previous key): run `portico keys drop-old-master` \
         later, which re-seals before it drops"
    )]
    ResealFailed(StoreError),
}

fn path_text(dir: &Path) -> String {
    crate::crypto::master_file::path_in(dir)
        .display()
        .to_string()
}

/// The master keys at start: the file (created on first start) and the pairwise key
/// from the database (taken from the original master key the first time).
pub async fn load(dir: &Path, store: &Store, now: i64) -> Result<MasterKey, MasterKeyError> {
    let file = MasterKeyFile::load_or_create(dir)?;
    open_with(dir, &file, store, now).await
}

async fn open_with(
    dir: &Path,
    file: &MasterKeyFile,
    store: &Store,
    now: i64,
) -> Result<MasterKey, MasterKeyError> {
    let sealer = MasterKey::new(file, &original_pairwise_key(&file.current));
    let context = secret_context(PAIRWISE_SUBJECT_KEY);
    let secrets = store.sealed_secrets();
    let sealed = match secrets.get(PAIRWISE_SUBJECT_KEY).await? {
        Some(sealed) => sealed,
        None => {
            // Deriving from a key that replaced the original would change every `sub`.
            if !file.previous.is_empty() {
                return Err(MasterKeyError::NoPairwiseKey(path_text(dir)));
            }
            let key = original_pairwise_key(&file.current);
            secrets
                .insert_if_absent(PAIRWISE_SUBJECT_KEY, &sealer.seal(&context, &key), now)
                .await?;
            // Another node may have won the insert; both derived the same key.
            secrets
                .get(PAIRWISE_SUBJECT_KEY)
                .await?
                .ok_or_else(|| StoreError::Corrupt("the pairwise-subject key vanished".into()))?
        }
    };
    let key: [u8; 32] = sealer
        .open(&context, &sealed)
        .map_err(|_| MasterKeyError::WrongFile(path_text(dir)))?
        .try_into()
        .map_err(|_| StoreError::Corrupt("the pairwise-subject key is not 32 bytes".into()))?;
    Ok(MasterKey::new(file, &key))
}

/// Refuses a key file that lacks a key of the latest file `portico keys` wrote.
async fn check_latest(dir: &Path, keys: &MasterKey, store: &Store) -> Result<(), MasterKeyError> {
    let Some(sealed) = store.sealed_secrets().get(LATEST_FILE).await? else {
        return Ok(());
    };
    let stale = |missing: String| MasterKeyError::StaleFile {
        path: path_text(dir),
        missing,
    };
    // Sealed under a key this file lacks: newer than this file, whatever it says.
    let Ok(plain) = keys.open(&secret_context(LATEST_FILE), &sealed) else {
        return Err(stale("(the one that sealed the record)".into()));
    };
    let held = keys.key_ids();
    let missing: Vec<&str> = std::str::from_utf8(&plain)
        .map_err(|_| StoreError::Corrupt("the latest key file's ids".into()))?
        .split(' ')
        .filter(|id| !id.is_empty() && !held.iter().any(|h| h == id))
        .collect();
    match missing.is_empty() {
        true => Ok(()),
        false => Err(stale(missing.join(", "))),
    }
}

/// Records the keys of the file just written.
async fn record_latest(keys: &MasterKey, store: &Store, now: i64) -> Result<(), MasterKeyError> {
    let ids = keys.key_ids().join(" ");
    let sealed = keys.seal(&secret_context(LATEST_FILE), ids.as_bytes());
    store
        .sealed_secrets()
        .put(LATEST_FILE, &sealed, now)
        .await?;
    Ok(())
}

/// A running node's check for a changed key file (every `keys.refresh_interval`):
/// whether it took new keys.
pub fn reload_file(dir: &Path, keys: &MasterKey) -> Result<bool, SealError> {
    keys.replace_file(&MasterKeyFile::load(dir)?)
}

/// `portico keys stage-master`: a next key that every key file copied from now on
/// holds, opening but not sealing yet.
pub async fn stage(dir: &Path, store: &Store, now: i64) -> Result<String, MasterKeyError> {
    let mut file = MasterKeyFile::load(dir)?;
    let keys = open_with(dir, &file, store, now).await?;
    check_latest(dir, &keys, store).await?;
    if file.next.is_some() {
        return Err(MasterKeyError::AlreadyStaged(keys.key_ids()[1].clone()));
    }
    file.next = Some(crate::random::bytes::<32>());
    file.replace(dir)?;
    keys.replace_file(&file)?;
    record_latest(&keys, store, now).await?;
    Ok(keys.key_ids()[1].clone())
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotated {
    /// The key that seals now.
    pub current: String,
    /// Whether it was the staged key (else a new one).
    pub was_staged: bool,
    /// The keys kept for opening, newest first.
    pub previous: Vec<String>,
    pub resealed: Resealed,
}

/// `portico keys rotate-master`: the staged key (or a new one) becomes current, the
/// current one previous; then every signing key and sealed secret is re-sealed under
/// the new key in one transaction. The file is written first, so the database is never
/// sealed under a key that is not on disk.
pub async fn rotate(dir: &Path, store: &Store, now: i64) -> Result<Rotated, MasterKeyError> {
    let file = MasterKeyFile::load(dir)?;
    let keys = open_with(dir, &file, store, now).await?;
    check_latest(dir, &keys, store).await?;
    let was_staged = file.next.is_some();
    let rotated = MasterKeyFile {
        current: file.next.unwrap_or_else(crate::random::bytes::<32>),
        next: None,
        previous: std::iter::once(file.current)
            .chain(file.previous.iter().copied())
            .collect(),
    };
    rotated.replace(dir)?;
    keys.replace_file(&rotated)?;
    let resealed = reseal(store, &keys)
        .await
        .map_err(MasterKeyError::ResealFailed)?;
    record_latest(&keys, store, now).await?;
    let mut ids = keys.key_ids();
    let current = ids.remove(0);
    Ok(Rotated {
        current,
        was_staged,
        previous: ids,
        resealed,
    })
}

/// What dropping did.
#[derive(Debug)]
pub struct Dropped {
    pub current: String,
    pub dropped: Vec<String>,
    pub resealed: Resealed,
    /// Live login attempts left unreadable (with `--force`).
    pub abandoned: usize,
}

/// `portico keys drop-old-master`: re-seals what is still under a previous key, checks
/// that no live login attempt needs one, and writes the file without them.
pub async fn drop_previous(
    dir: &Path,
    store: &Store,
    now: i64,
    force: bool,
) -> Result<Dropped, MasterKeyError> {
    let file = MasterKeyFile::load(dir)?;
    if file.previous.is_empty() {
        return Err(MasterKeyError::NothingToDrop(path_text(dir)));
    }
    let keys = open_with(dir, &file, store, now).await?;
    check_latest(dir, &keys, store).await?;
    let resealed = reseal(store, &keys).await?;
    let mut abandoned = 0;
    let mut until = 0;
    for (handle_hash, sealed, expires_at) in store.login_attempts().live_sealed(now).await? {
        let context = crate::login::attempt_sealing_context(&handle_hash);
        if !keys.sealed_by_current(&context, &sealed) && keys.open(&context, &sealed).is_ok() {
            abandoned += 1;
            until = until.max(expires_at);
        }
    }
    if abandoned > 0 && !force {
        return Err(MasterKeyError::StillInUse {
            count: abandoned,
            until,
        });
    }
    let ids = keys.key_ids();
    let staged = usize::from(file.next.is_some());
    let kept = MasterKeyFile {
        previous: Vec::new(),
        ..file
    };
    kept.replace(dir)?;
    keys.replace_file(&kept)?;
    record_latest(&keys, store, now).await?;
    Ok(Dropped {
        current: ids[0].clone(),
        dropped: ids[1 + staged..].to_vec(),
        resealed,
        abandoned,
    })
}

/// Seals anew under the current key whatever the database keeps long under another.
async fn reseal(store: &Store, keys: &MasterKey) -> Result<Resealed, StoreError> {
    store
        .sealed_secrets()
        .reseal_all(|item, sealed| {
            let context = match item {
                SealedItem::SigningKey { kid } => kid.to_owned(),
                SealedItem::Secret { name } => secret_context(name),
            };
            if keys.sealed_by_current(&context, sealed) {
                return Ok(None);
            }
            let plain = keys
                .open(&context, sealed)
                .map_err(|_| "no master key held opens it".to_owned())?;
            Ok(Some(keys.seal(&context, &plain)))
        })
        .await
}
