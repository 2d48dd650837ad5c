//! Consent: remembered per account and client as the set of scopes granted so far, and
//! of the claims granted by name (OIDC Core section 5.5) beyond what those scopes give.

use crate::ids::{AccountId, ClientId};
use crate::model::ScopeSet;
use crate::store::{Store, StoreError};

/// Whether the account has already granted every scope in `requested` and every claim
/// in `claims` to the client.
pub async fn covers(
    store: &Store,
    account: &AccountId,
    client: &ClientId,
    requested: &ScopeSet,
    claims: &[String],
) -> Result<bool, StoreError> {
    let granted = store.consents().granted(account, client).await?;
    Ok(!granted.scopes.is_empty()
        && requested
            .iter()
            .all(|s| granted.scopes.iter().any(|g| g == s))
        && claims.iter().all(|c| granted.claims.contains(c)))
}

/// Records the grant of `scopes` and `claims`, adding to what was granted before (in
/// the database, without a read: two grants at once both count), and audits it as
/// `consent_given`.
pub async fn grant(
    store: &Store,
    account: &AccountId,
    client: &ClientId,
    scopes: &ScopeSet,
    claims: &[String],
    now: i64,
) -> Result<(), StoreError> {
    let scopes: Vec<&str> = scopes.iter().collect();
    let claims: Vec<&str> = claims.iter().map(String::as_str).collect();
    store
        .consents()
        .grant(account, client, &scopes, &claims, now)
        .await?;
    let mut detail = format!("scopes: {}", scopes.join(" "));
    if !claims.is_empty() {
        detail.push_str(&format!("; claims: {}", claims.join(" ")));
    }
    store
        .audit()
        .record(
            now,
            "consent_given",
            Some(account.as_str()),
            Some(client.as_str()),
            &detail,
        )
        .await
}
