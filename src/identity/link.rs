//! Linking another login to a signed-in account (from `/account`), and removing one.
//! A login that belongs to another account is refused: accounts are never merged.

use crate::model::VerifiedIdentity;
use crate::store::{Linking, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Another account has this login.
    #[error("this login belongs to another account")]
    Elsewhere,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Attaches the verified login (its source and subject) to `account`; audited as
/// `identity_linked` (a login the account had already is not linked again).
pub async fn link(
    store: &Store,
    account: &str,
    verified: &VerifiedIdentity,
    now: i64,
) -> Result<(), LinkError> {
    match store
        .identities()
        .link(account, &verified.source_id, &verified.subject, now)
        .await?
    {
        Linking::Linked | Linking::AlreadyIts => Ok(()),
        Linking::Elsewhere => {
            tracing::info!(source = %verified.source_id, "link refused: the login is another account's");
            Err(LinkError::Elsewhere)
        }
    }
}
