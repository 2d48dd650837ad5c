//! Consent: remembered per account and client as the set of scopes granted so far.

use crate::ids::{AccountId, ClientId};
use crate::oidc::scopes::ScopeSet;
use crate::provider::Provider;
use crate::store::StoreError;

/// Whether the account has already granted every scope in `requested` to the client.
pub async fn covers(
    provider: &Provider,
    account: &AccountId,
    client: &ClientId,
    requested: &ScopeSet,
) -> Result<bool, StoreError> {
    let granted = provider.store.consents().granted(account, client).await?;
    Ok(granted.is_some_and(|g| requested.is_subset_of(&ScopeSet::parse(&g))))
}

/// Records the grant of `scopes`, adding to what was granted before.
pub async fn grant(
    provider: &Provider,
    account: &AccountId,
    client: &ClientId,
    scopes: &ScopeSet,
    now: i64,
) -> Result<(), StoreError> {
    let before = provider.store.consents().granted(account, client).await?;
    let all = match before {
        Some(b) => ScopeSet::parse(&b).union(scopes),
        None => scopes.clone(),
    };
    provider
        .store
        .consents()
        .grant(account, client, &all.to_string(), now)
        .await
}
