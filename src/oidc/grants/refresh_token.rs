//! The refresh token grant (RFC 6749 section 6) with rotation: every use returns a new
//! refresh token; presenting a rotated one again revokes the whole family (RFC 9700
//! section 4.14.2), except within the client's grace period, where it gets the same
//! successor (for portals refreshing from several tabs at once).

use super::super::authorize::Params;
use super::super::error::OAuthError;
use super::super::scopes::ScopeSet;
use super::super::tokens::{TokenResponse, UserGrant};
use super::{GrantServices, required};
use crate::crypto::sha256_b64url;
use crate::model::{Client, GrantType};
use crate::secret::Secret;
use crate::store::{RefreshToken, Rotation, Successor};

pub async fn exchange(
    services: &GrantServices<'_>,
    client: &Client,
    params: &Params,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let presented = required(params, "refresh_token")?;
    let presented_hash = sha256_b64url(presented);
    let mut successor = services.issuer.secrets().refresh_successor(presented);
    let successor_hash = sha256_b64url(successor.expose());
    let asked_scope = params.get("scope")?.map(ScopeSet::parse);
    // The scope asked is checked inside the rotation, on the row it rotates: a refusal
    // changes nothing. Without one, nothing needs checking between the two writes.
    let scope_granted = |current: &RefreshToken| !exceeds_grant(current, asked_scope.as_ref());
    // The refresh's audit event, committed with the rotation.
    let audit = |old: &RefreshToken, session_live: bool| {
        let (grant, at_scope) = granted(client, old, session_live, asked_scope.as_ref());
        services
            .issuer
            .issued_event(client, &grant, &at_scope, true, now)
    };
    let rotation = services
        .store
        .refresh_tokens()
        .rotate(
            &presented_hash,
            &client.client_id,
            &Successor {
                token_hash: &successor_hash,
                id: crate::ids::new_uuid(),
                idle_secs: services.issuer.ttl().refresh_idle_ttl.as_secs() as i64,
            },
            now,
            asked_scope.is_some().then_some(&scope_granted as _),
            &audit,
        )
        .await?;
    let (row, session_live, account, audited) = match rotation {
        Rotation::Rotated {
            old,
            session_live,
            account,
        } => (*old, session_live, account, true),
        // Only `scope_granted` refuses.
        Rotation::Refused => return Err(scope_exceeded()),
        Rotation::NotLive(Some(old)) if old.client_id != client.client_id => {
            return Err(invalid().with_detail(format!(
                "token of {} presented by {}",
                old.client_id, client.client_id
            )));
        }
        Rotation::NotLive(Some(old)) if old.revoked_at.is_none() && old.rotated_at.is_some() => {
            let rotated_at = old.rotated_at.unwrap_or(now);
            let within_grace =
                client.refresh_grace_secs > 0 && now - rotated_at <= client.refresh_grace_secs;
            // The successor it was given: under the current master key, or under a
            // previous one when it was rotated before a master-key rotation.
            let mut given = None;
            if within_grace {
                for candidate in services.issuer.secrets().refresh_successors(presented) {
                    let hash = sha256_b64url(candidate.expose());
                    let row = services.store.refresh_tokens().get(&hash).await?;
                    if row.is_some_and(|s| s.is_live(now)) {
                        given = Some(candidate);
                        break;
                    }
                }
            }
            let Some(given) = given else {
                return Err(reuse_detected(services, client, &old, now).await?);
            };
            successor = given;
            if exceeds_grant(&old, asked_scope.as_ref()) {
                return Err(scope_exceeded());
            }
            let session_live = match &old.session_id {
                Some(id) => services.store.sessions().get_live(id, now).await?.is_some(),
                None => false,
            };
            // Within the grace period: the account is read if claims need it, and the
            // event, with no rotation to join, is written on its own.
            (*old, session_live, None, false)
        }
        Rotation::NotLive(_) => return Err(invalid()),
    };
    let (grant, at_scope) = granted(client, &row, session_live, asked_scope.as_ref());
    let grant = UserGrant { account, ..grant };
    if !audited {
        let event = services
            .issuer
            .issued_event(client, &grant, &at_scope, true, now);
        services.issuer.record_issued(event).await;
    }
    services
        .issuer
        .for_user(
            client,
            &grant,
            &at_scope,
            Some(Secret::new(successor.expose())),
            now,
        )
        .await
}

/// The grant a refresh carries on from `row` (the presented token), and the access
/// token's scope.
fn granted(
    client: &Client,
    row: &RefreshToken,
    session_live: bool,
    asked_scope: Option<&ScopeSet>,
) -> (UserGrant, ScopeSet) {
    // The family's scope, less what the client may no longer ask for: a client whose
    // registered scopes were narrowed keeps no more than it could be granted now (RFC
    // 6749 section 6: never beyond the original grant; the row keeps that grant, so a
    // client widened again gets back at most what the person granted).
    let family_scope = still_registered(client, ScopeSet::parse(&row.scope));
    // RFC 6749 section 6: a narrower scope for this access token; the refresh token
    // keeps the grant's scope (checked by `refuse`).
    let at_scope = asked_scope
        .map(|asked| still_registered(client, asked.clone()))
        .unwrap_or_else(|| family_scope.clone());
    // No account check: deleting an account deletes its refresh tokens (foreign key).
    // Offline access outlives the session: tokens refreshed after logout carry no sid.
    let session_id = row.session_id.clone().filter(|_| session_live);
    let grant = UserGrant {
        grant_id: row.family_id.clone(),
        account_id: row.account_id.clone(),
        session_id,
        scope: family_scope,
        auth_time: row.auth_time,
        acr: row.acr.clone(),
        amr: row.amr.clone(),
        // OIDC Core section 12.2: no nonce in a refreshed ID token.
        nonce: None,
        claims: row.claims.clone(),
        account: None,
        records_subject: false,
        via: GrantType::RefreshToken,
    };
    (grant, at_scope)
}

/// The scopes of `scope` the client's current registration holds.
pub(crate) fn still_registered(client: &Client, scope: ScopeSet) -> ScopeSet {
    scope.filter(|s| client.scopes.iter().any(|c| c == s))
}

/// The one answer for a token that cannot be used, whatever the reason (the detail
/// goes to the log only).
fn invalid() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
}

/// Whether the scope asked exceeds the grant's (a refresh may narrow it, never widen
/// it; RFC 6749 section 6). Another client's token never reaches here: the store
/// rotates only the presenting client's tokens.
fn exceeds_grant(token: &RefreshToken, asked: Option<&ScopeSet>) -> bool {
    asked.is_some_and(|asked| !asked.is_subset_of(&ScopeSet::parse(&token.scope)))
}

fn scope_exceeded() -> OAuthError {
    OAuthError::invalid_scope("the scope exceeds what was granted")
}

/// A rotated token came back: someone holds a copy. Revoke the whole family (the newest
/// token too) and record it.
async fn reuse_detected(
    services: &GrantServices<'_>,
    client: &Client,
    token: &RefreshToken,
    now: i64,
) -> Result<OAuthError, OAuthError> {
    services.tokens.revoke_grant(&token.family_id, now).await?;
    tracing::warn!(client_id = %client.client_id, family = %token.family_id, "refresh token reuse; family revoked");
    services
        .store
        .audit()
        .record(
            now,
            "refresh_token_reuse",
            Some(token.account_id.as_str()),
            Some(client.client_id.as_str()),
            &format!("family {} revoked", token.family_id),
        )
        .await?;
    Ok(OAuthError::invalid_grant(
        "the refresh token was already used; every token of this grant is now revoked",
    ))
}
