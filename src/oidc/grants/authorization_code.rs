//! The authorization code grant (RFC 6749 section 4.1.3, RFC 7636 section 4.6).

use super::super::authorize::Params;
use super::super::error::OAuthError;
use super::super::pkce;
use super::super::scopes::ScopeSet;
use super::super::tokens::{TokenResponse, UserGrant};
use super::{GrantServices, required};
use crate::crypto::sha256_b64url;
use crate::model::{Client, GrantType};
use crate::store::{AuthorizationCode, ConsumeOutcome};

pub async fn exchange(
    services: &GrantServices<'_>,
    client: &Client,
    params: &Params,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let code = required(params, "code")?;
    let redirect_uri = required(params, "redirect_uri")?;
    let verifier = params.get("code_verifier")?;
    let issues_refresh = |scope: &ScopeSet| {
        scope.contains("offline_access") && client.allows_grant(GrantType::RefreshToken)
    };
    // The exchange's audit event is committed with the spending of the code when the
    // code passes every check and issues no refresh token. One that starts a refresh
    // family is recorded once the family has survived the replay check below, so that
    // no more than the spending stands between the family and that check.
    let audit = |code: &AuthorizationCode, session_live: bool| {
        let grant = judge(code, session_live, redirect_uri, verifier, now).ok()?;
        (!issues_refresh(&grant.scope)).then(|| {
            services
                .issuer
                .issued_event(client, &grant, &grant.scope, false, now)
        })
    };
    // Spend the code first: whatever is wrong below, it cannot be tried again. Only a
    // code of this client is found, so another client's code answers `invalid_grant`
    // and changes nothing, and only its own client's replay revokes the grant.
    let grant = match services
        .store
        .codes()
        .consume(&sha256_b64url(code), &client.client_id, now, &audit)
        .await?
    {
        ConsumeOutcome::Consumed {
            code,
            session_live,
            account,
        } => UserGrant {
            account,
            ..judge(&code, session_live, redirect_uri, verifier, now)?
        },
        ConsumeOutcome::Replayed(grant) => {
            // RFC 6749 section 4.1.2: a replayed code revokes what it issued. The
            // revocation stands although this request fails.
            services.tokens.revoke_grant(&grant, now).await?;
            tracing::warn!(grant_id = %grant, client_id = %client.client_id, "authorization code replayed; grant revoked");
            let _ = services
                .store
                .audit()
                .record(
                    now,
                    "code_replayed",
                    None,
                    Some(client.client_id.as_str()),
                    &format!("grant {grant} revoked"),
                )
                .await;
            return Err(
                OAuthError::invalid_grant("the authorization code was already used")
                    .with_detail(format!("replay of grant {grant}")),
            );
        }
        ConsumeOutcome::NotFound => {
            return Err(OAuthError::invalid_grant(
                "the authorization code is invalid",
            ));
        }
    };
    let scope = grant.scope.clone();
    let refresh = if issues_refresh(&scope) {
        let token = services
            .issuer
            .start_refresh_family(client, &grant, now)
            .await?;
        // The code was spent in another write: a replay in between revoked the
        // grant (deny list, then families) before this family existed. Each side
        // writes, then reads the other's write, so at least one sees the other: the
        // replay's family revocation finds this family, or this check finds the
        // replay's revocation and revokes the family itself.
        if services
            .store
            .revocations()
            .grant_revoked(grant.grant_id.as_str())
            .await?
        {
            services.tokens.revoke_grant(&grant.grant_id, now).await?;
            return Err(
                OAuthError::invalid_grant("the authorization code was already used")
                    .with_detail(format!("grant {} revoked by a replay", grant.grant_id)),
            );
        }
        let event = services
            .issuer
            .issued_event(client, &grant, &scope, true, now);
        services.issuer.record_issued(event).await;
        Some(token)
    } else {
        None
    };
    services
        .issuer
        .for_user(client, &grant, &scope, refresh, now)
        .await
}

/// The grant a spent code carries, if the request's bindings hold: unexpired, the same
/// `redirect_uri`, the PKCE verifier, the session still live. The account read with the
/// code is the caller's to add.
fn judge(
    code: &AuthorizationCode,
    session_live: bool,
    redirect_uri: &str,
    verifier: Option<&str>,
    now: i64,
) -> Result<UserGrant, OAuthError> {
    if code.expires_at <= now {
        return Err(OAuthError::invalid_grant(
            "the authorization code has expired",
        ));
    }
    if code.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "`redirect_uri` differs from the one in the authorization request",
        ));
    }
    match (&code.code_challenge, verifier) {
        (Some(challenge), Some(v)) if pkce::verify_s256(v, challenge) => {}
        (Some(_), Some(_)) => return Err(OAuthError::invalid_grant("PKCE verification failed")),
        (Some(_), None) => return Err(OAuthError::invalid_grant("`code_verifier` is missing")),
        // RFC 9700 section 2.1.1: a verifier without a challenge is a downgrade attempt.
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "`code_verifier` sent but the authorization request had no challenge",
            ));
        }
        (None, None) => {}
    }
    // A logout between the code and its exchange ends the grant too.
    if !session_live {
        return Err(OAuthError::invalid_grant(
            "the session this code was issued in has ended",
        ));
    }
    // No account check: deleting an account deletes its codes (foreign key).
    Ok(UserGrant {
        grant_id: code.grant_id.clone(),
        account_id: code.account_id.clone(),
        session_id: Some(code.session_id.clone()),
        scope: ScopeSet::parse(&code.scope),
        auth_time: code.auth_time,
        acr: code.acr.clone(),
        amr: code.amr.clone(),
        nonce: code.nonce.clone(),
        claims: code.claims.clone(),
        account: None,
        records_subject: true,
        via: GrantType::AuthorizationCode,
    })
}
