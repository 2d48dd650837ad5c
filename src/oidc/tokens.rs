//! Minting ID tokens (OIDC Core section 2) and access tokens (RFC 9068 JWT profile),
//! and issuing refresh tokens. Access tokens are signed and returned, never stored: the
//! deny list (`store::revocations`) is what revokes them.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::OAuthError;
use super::scopes::ScopeSet;
use crate::crypto::{SigningAlg, sha256_b64url};
use crate::ids::{AccountId, GrantId, SessionId};
use std::sync::Arc;

use super::keys::Keys;
use crate::config::TokenConfig;
use crate::crypto::MasterKey;
use crate::model::{Client, GrantType, RequestedClaims};
use crate::secret::Secret;
use crate::store::Store;
use crate::store::{Account, NewEvent, RefreshToken};

/// `aud`: one string when there is one audience, an array otherwise (RFC 7519 4.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience(pub Vec<String>);

impl Audience {
    pub fn contains(&self, value: &str) -> bool {
        self.0.iter().any(|a| a == value)
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(Audience(match OneOrMany::deserialize(d)? {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }))
    }
}

/// RFC 9068 section 2.2 claims. The user-related ones are absent from
/// `client_credentials` tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    /// The authorization this token came from: revoking it revokes the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// A private claim (RFC 7519 section 4.3): the claims the person allowed by name for
    /// UserInfo (OIDC Core section 5.5), so UserInfo releases them without a read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub userinfo_claims: Vec<String>,
}

#[derive(Debug, Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    acr: &'a str,
    amr: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    at_hash: String,
    /// The claims asked for the ID token by name, with the account's values.
    #[serde(flatten)]
    requested: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

/// A person's authorization, as a code or a refresh token carries it.
#[derive(Debug, Clone)]
pub struct UserGrant {
    pub grant_id: GrantId,
    pub account_id: AccountId,
    pub session_id: Option<SessionId>,
    pub scope: ScopeSet,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    pub nonce: Option<String>,
    /// The claims asked for by name (OIDC Core section 5.5) and allowed.
    pub claims: RequestedClaims,
    /// The account, when the store returned it with the code or refresh token (it does
    /// when `claims` names some): the ID token's claims need no read of their own.
    pub account: Option<Box<Account>>,
    /// Whether issuing records the client's pairwise subject (a code exchange does; a
    /// refresh finds it recorded).
    pub records_subject: bool,
    /// The grant presented at the token endpoint, for the audit trail.
    pub via: GrantType,
}

/// OIDC Core section 3.1.3.6: base64url of the left half of the hash of the access
/// token, with the hash of the ID token's algorithm (SHA-256 for ES256 and RS256).
pub fn at_hash(access_token: &str, alg: SigningAlg) -> String {
    match alg {
        SigningAlg::ES256 | SigningAlg::RS256 => {
            let d = digest(&SHA256, access_token.as_bytes());
            URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
        }
    }
}

/// Who mints tokens: the keys that sign them (and the issuer they name), the secrets
/// that derive `sub` and `sid`, the token lifetimes, and the store for what must be
/// kept (pairwise subjects, refresh families). Built once at start-up.
pub struct Issuer {
    keys: Arc<Keys>,
    secrets: Arc<MasterKey>,
    store: Store,
    ttl: TokenConfig,
}

impl Issuer {
    pub fn new(keys: Arc<Keys>, secrets: Arc<MasterKey>, store: Store, ttl: TokenConfig) -> Issuer {
        Issuer {
            keys,
            secrets,
            store,
            ttl,
        }
    }

    /// The issuer identifier.
    pub fn url(&self) -> &str {
        self.keys.issuer()
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn secrets(&self) -> &MasterKey {
        &self.secrets
    }

    pub fn ttl(&self) -> &TokenConfig {
        &self.ttl
    }

    /// The `sub` this client sees for the account.
    pub fn subject_for(&self, client: &Client, account: &AccountId) -> String {
        super::subject::subject_for(&self.secrets, client, account)
    }

    /// The `sid` this client is given for the session.
    pub fn sid(&self, session: &SessionId, client: &Client) -> String {
        self.secrets
            .session_sid(session.as_str(), client.client_id.as_str())
    }

    /// Signs an access token.
    pub fn sign_access_token(
        &self,
        claims: &AccessTokenClaims,
        now: i64,
    ) -> Result<String, OAuthError> {
        Ok(self
            .keys
            .ring()
            .sign(SigningAlg::ES256, "at+jwt", claims, now)?)
    }

    /// The response to a person's grant: an access token, an ID token when `openid` is
    /// in `at_scope`, and `refresh_token` if one was issued.
    pub async fn for_user(
        &self,
        client: &Client,
        grant: &UserGrant,
        at_scope: &ScopeSet,
        refresh_token: Option<Secret>,
        now: i64,
    ) -> Result<TokenResponse, OAuthError> {
        let issuer = self.url();
        let sub = self.subject_for(client, &grant.account_id);
        if grant.records_subject {
            super::subject::record(&self.store, client, &grant.account_id, &sub).await?;
        }
        // The session recorded this client, with this sid, when it issued the code
        // (flow::issue_code): logout reaches it.
        let sid = grant
            .session_id
            .as_ref()
            .map(|session| self.sid(session, client));
        let ttl = self.ttl.access_token_ttl.as_secs() as i64;
        let claims = AccessTokenClaims {
            iss: issuer.to_owned(),
            sub: sub.clone(),
            aud: Audience(vec![issuer.to_owned()]),
            exp: now + ttl,
            iat: now,
            jti: crate::ids::new_uuid(),
            client_id: client.client_id.to_string(),
            scope: at_scope.to_string(),
            grant_id: Some(grant.grant_id.to_string()),
            auth_time: Some(grant.auth_time),
            acr: Some(grant.acr.clone()),
            amr: Some(grant.amr.clone()),
            sid: sid.clone(),
            userinfo_claims: grant.claims.userinfo.clone(),
        };
        let access_token = self.sign_access_token(&claims, now)?;
        let id_token = if at_scope.contains("openid") {
            let requested = self.id_token_claims(grant).await?;
            let id_claims = IdTokenClaims {
                iss: issuer,
                sub: &sub,
                aud: client.client_id.as_str(),
                exp: now + self.ttl.id_token_ttl.as_secs() as i64,
                iat: now,
                auth_time: grant.auth_time,
                nonce: grant.nonce.as_deref(),
                acr: &grant.acr,
                amr: &grant.amr,
                sid: sid.as_deref(),
                at_hash: at_hash(&access_token, client.id_token_alg),
                requested,
            };
            Some(
                self.keys
                    .ring()
                    .sign(client.id_token_alg, "JWT", &id_claims, now)?,
            )
        } else {
            None
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: ttl,
            refresh_token: refresh_token.map(|t| t.expose().to_owned()),
            id_token,
            scope: at_scope.to_string(),
        })
    }

    /// The audit event of tokens issued to a person (a code exchange or a refresh): the
    /// grant, the scope, the level and the session's `sid`, never a token. The store
    /// commits it with the write that grants them where there is one (the code spent,
    /// the refresh token rotated), so it adds no commit to the exchange.
    pub fn issued_event(
        &self,
        client: &Client,
        grant: &UserGrant,
        at_scope: &ScopeSet,
        with_refresh: bool,
        now: i64,
    ) -> NewEvent {
        let sid = grant
            .session_id
            .as_ref()
            .map(|session| self.sid(session, client));
        NewEvent {
            occurred_at: now,
            event: "token_issued".to_owned(),
            account_id: Some(grant.account_id.to_string()),
            client_id: Some(client.client_id.to_string()),
            detail: format!(
                "grant={} via={} scope={:?} acr={} sid={} refresh_token={}",
                grant.grant_id,
                grant.via.as_str(),
                at_scope.to_string(),
                grant.acr,
                sid.as_deref().unwrap_or("-"),
                if with_refresh { "issued" } else { "none" },
            ),
        }
    }

    /// Records an issuance that joins no granting write (a refresh family's first
    /// tokens, after the replay check; a refresh within the grace period). The tokens
    /// stand whatever happens here (the code is spent, the family written): a failure
    /// to record is logged, not returned.
    pub async fn record_issued(&self, event: NewEvent) {
        let client = event.client_id.clone();
        if let Err(e) = self.store.audit().record_queued(event).await {
            tracing::error!(
                client_id = client.as_deref().unwrap_or("-"),
                "tokens issued but not audited: {e}"
            );
        }
    }

    /// The claims asked for the ID token by name, with the account's values; absent
    /// when the account lacks them. The account comes with the grant (read in the
    /// statement that spent the code or rotated the refresh token); it is read here
    /// only when it did not (a refresh within the grace period).
    async fn id_token_claims(
        &self,
        grant: &UserGrant,
    ) -> Result<serde_json::Map<String, serde_json::Value>, OAuthError> {
        let mut out = serde_json::Map::new();
        if grant.claims.id_token.is_empty() {
            return Ok(out);
        }
        // Deleting an account deletes its codes and refresh tokens; one gone in between
        // releases nothing.
        let read;
        let account = match &grant.account {
            Some(account) => Some(&**account),
            None => {
                read = self.store.accounts().get(&grant.account_id).await?;
                read.as_ref()
            }
        };
        if let Some(account) = account {
            super::claims::release(
                account,
                &ScopeSet::default(),
                &grant.claims.id_token,
                &mut out,
            );
            if grant.claims.id_token.iter().any(|c| c == "represents") {
                if let Some(list) = super::userinfo::represents(&self.store, &account.id).await? {
                    out.insert("represents".into(), list);
                }
            }
        }
        Ok(out)
    }

    /// Starts a refresh token family for a grant; answers the token.
    pub async fn start_refresh_family(
        &self,
        client: &Client,
        grant: &UserGrant,
        now: i64,
    ) -> Result<Secret, OAuthError> {
        let token = crate::random::token();
        let tokens = &self.ttl;
        let family_expires_at = now + tokens.refresh_absolute_ttl.as_secs() as i64;
        let row = RefreshToken {
            id: crate::ids::new_uuid(),
            family_id: grant.grant_id.clone(),
            client_id: client.client_id.clone(),
            account_id: grant.account_id.clone(),
            session_id: grant.session_id.clone(),
            scope: grant.scope.to_string(),
            auth_time: grant.auth_time,
            acr: grant.acr.clone(),
            amr: grant.amr.clone(),
            claims: grant.claims.clone(),
            created_at: now,
            expires_at: (now + tokens.refresh_idle_ttl.as_secs() as i64).min(family_expires_at),
            family_expires_at,
            rotated_at: None,
            revoked_at: None,
        };
        self.store
            .refresh_tokens()
            .insert(&row, &sha256_b64url(token.expose()))
            .await?;
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_oidc_core_example() {
        // OIDC Core appendix A.3: the at_hash of this access token (RS256).
        assert_eq!(
            at_hash(
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
                SigningAlg::RS256
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn audience_is_a_string_when_single() {
        assert_eq!(
            serde_json::to_string(&Audience(vec!["a".into()])).unwrap(),
            "\"a\""
        );
        assert_eq!(
            serde_json::to_string(&Audience(vec!["a".into(), "b".into()])).unwrap(),
            "[\"a\",\"b\"]"
        );
        let back: Audience = serde_json::from_str("\"a\"").unwrap();
        assert!(back.contains("a"));
    }
}
