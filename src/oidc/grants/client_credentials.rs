//! The client credentials grant (RFC 6749 section 4.4) for portal back-ends, with
//! resource indicators (RFC 8707) choosing the audience.

use super::super::authorize::Params;
use super::super::error::{ErrorCode, OAuthError};
use super::super::scopes::{ScopeSet, is_user_scope, is_valid_scope_token};
use super::super::tokens::{AccessTokenClaims, Audience, Issuer, TokenResponse};
use crate::model::Client;

pub async fn exchange(
    issuer: &Issuer,
    client: &Client,
    params: &Params,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::unauthorized_client(
            "public clients cannot use client_credentials",
        ));
    }
    let registered = ScopeSet::parse(&client.scopes.join(" ")).filter(|s| !is_user_scope(s));
    let scope = match params.get("scope")? {
        None => registered.clone(),
        Some(raw) => {
            if !raw
                .split(' ')
                .filter(|s| !s.is_empty())
                .all(is_valid_scope_token)
            {
                return Err(OAuthError::invalid_scope("`scope` has invalid characters"));
            }
            let asked = ScopeSet::parse(raw);
            if !asked.is_subset_of(&registered) {
                let extra: Vec<&str> = asked.iter().filter(|s| !registered.contains(s)).collect();
                return Err(OAuthError::invalid_scope(format!(
                    "this client may not request: {}",
                    extra.join(" ")
                )));
            }
            asked
        }
    };
    let audience = audience(client, params.all("resource"))?;
    let ttl = issuer.ttl().access_token_ttl.as_secs() as i64;
    let claims = AccessTokenClaims {
        iss: issuer.url().to_owned(),
        // RFC 9068 section 2.2: with no resource owner, `sub` is the client.
        sub: client.client_id.to_string(),
        aud: audience,
        exp: now + ttl,
        iat: now,
        jti: crate::ids::new_uuid(),
        client_id: client.client_id.to_string(),
        scope: scope.to_string(),
        grant_id: None,
        auth_time: None,
        acr: None,
        amr: None,
        sid: None,
        userinfo_claims: Vec::new(),
    };
    Ok(TokenResponse {
        access_token: issuer.sign_access_token(&claims, now)?,
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token: None,
        id_token: None,
        scope: scope.to_string(),
    })
}

/// The requested resources, each registered for the client; none requested means all
/// registered ones.
fn audience(client: &Client, resources: &[String]) -> Result<Audience, OAuthError> {
    let invalid_target = |d: String| OAuthError::new(ErrorCode::InvalidTarget, d);
    if resources.is_empty() {
        if client.audiences.is_empty() {
            return Err(invalid_target(
                "no resource is registered for this client; register one with --audience".into(),
            ));
        }
        return Ok(Audience(client.audiences.clone()));
    }
    for r in resources {
        let ok = url::Url::parse(r).is_ok_and(|u| u.fragment().is_none());
        if !ok {
            return Err(invalid_target(format!(
                "`{r}` is not an absolute URI without a fragment"
            )));
        }
        if !client.audiences.contains(r) {
            return Err(invalid_target(format!(
                "this client may not ask for the resource `{r}`"
            )));
        }
    }
    let mut unique = resources.to_vec();
    unique.sort();
    unique.dedup();
    Ok(Audience(unique))
}
