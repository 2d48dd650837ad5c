//! Consent: remembered per account and client as the set of scopes granted so far.

use crate::ids::{AccountId, ClientId};
use crate::model::ScopeSet;
use crate::store::{Store, StoreError};

/// Whether the account has already granted every scope in `requested` to the client.
pub async fn covers(
    store: &Store,
    account: &AccountId,
    client: &ClientId,
    requested: &ScopeSet,
) -> Result<bool, StoreError> {
    let granted = store.consents().granted(account, client).await?;
    Ok(!granted.is_empty() && requested.iter().all(|s| granted.iter().any(|g| g == s)))
}

/// Records the grant of `scopes`, adding to what was granted before (in the database,
/// in one statement: two grants at once both count), and audits it as `consent_given`.
pub async fn grant(
    store: &Store,
    account: &AccountId,
    client: &ClientId,
    scopes: &ScopeSet,
    now: i64,
) -> Result<(), StoreError> {
    let scopes: Vec<&str> = scopes.iter().collect();
    store
        .consents()
        .grant(account, client, &scopes, now)
        .await?;
    store
        .audit()
        .record(
            now,
            "consent_given",
            Some(account.as_str()),
            Some(client.as_str()),
            &format!("scopes: {}", scopes.join(" ")),
        )
        .await
}
