//! Ending SSO sessions: RP-Initiated Logout 1.0 (`/end_session`), and the notices that
//! reach every portal that was given a code under the session: Back-Channel Logout 1.0
//! (queued, see `backchannel.rs`) and Front-Channel Logout 1.0 (iframes on the page).

use serde::Deserialize;
use url::Url;

use super::authorize::Params;
use super::backchannel::Backchannel;
use super::error::OAuthError;
use super::keys::Keys;
use super::revocation::AccessTokens;
use super::tokens::Issuer;
use crate::model::{Client, Session};
use crate::store::Store;
use crate::store::{NewDelivery, sid_key};

/// Where to send the browser after logout: a post-logout redirect URI registered for
/// the client, with the request's `state`. Only [`validate`] builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRedirect {
    uri: String,
    state: Option<String>,
}

impl LogoutRedirect {
    /// Where the browser is sent, as a CSP source (see [`super::authorize::origin_of`]).
    pub fn origin(&self) -> String {
        super::authorize::origin_of(&self.uri)
    }

    pub fn url(&self) -> String {
        let mut url = Url::parse(&self.uri).expect("registered URIs are absolute");
        if let Some(state) = &self.state {
            url.query_pairs_mut().append_pair("state", state);
        }
        url.into()
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }
}

#[derive(Deserialize)]
struct HintClaims {
    sub: String,
    aud: super::tokens::Audience,
    sid: Option<String>,
}

/// A validated logout request.
#[derive(Debug, Default)]
pub struct LogoutRequest {
    pub client: Option<Client>,
    pub redirect: Option<LogoutRedirect>,
    /// A `post_logout_redirect_uri` was given but is not registered: never redirect.
    pub redirect_refused: bool,
    /// The `sid` and `sub` of a valid `id_token_hint`.
    hint: Option<(Option<String>, String)>,
    pub state: Option<String>,
    pub ui_locales: Vec<String>,
}

impl LogoutRequest {
    /// Whether the request provably comes from a portal of this very session (a valid
    /// `id_token_hint` naming it): then no confirmation is asked.
    pub fn is_from_session(&self, issuer: &Issuer, session: &Session) -> bool {
        match (&self.hint, &self.client) {
            (Some((Some(sid), _)), Some(client)) => crate::crypto::constant_time_eq(
                sid.as_bytes(),
                issuer.sid(&session.id, client).as_bytes(),
            ),
            _ => false,
        }
    }
}

/// RP-Initiated Logout section 2: checks `id_token_hint`, `client_id`,
/// `post_logout_redirect_uri` (registered only, exact match) and `state`.
pub async fn validate(
    keys: &Keys,
    store: &Store,
    params: &Params,
    now: i64,
) -> Result<LogoutRequest, OAuthError> {
    let hint = match params.get("id_token_hint")? {
        None => None,
        Some(token) => {
            let claims: HintClaims =
                keys.verify_own(token, "JWT", None, now)
                    .await
                    .map_err(|e| {
                        OAuthError::invalid_request(
                            "`id_token_hint` is not an ID token from this server",
                        )
                        .with_detail(e.to_string())
                    })?;
            Some(claims)
        }
    };
    let hinted_client = hint.as_ref().and_then(|h| h.aud.0.first().cloned());
    let client_id = match (params.get("client_id")?, hinted_client) {
        (Some(c), Some(h)) if c != h => {
            return Err(OAuthError::invalid_request(
                "`client_id` differs from the ID token's audience",
            ));
        }
        (Some(c), _) => Some(c.to_owned()),
        (None, h) => h,
    };
    let client = match &client_id {
        Some(id) => Some(
            store
                .clients()
                .get(id)
                .await?
                .ok_or_else(|| OAuthError::invalid_request("unknown client"))?,
        ),
        None => None,
    };
    let state = params
        .get("state")?
        .map(|s| s.chars().take(2048).collect::<String>());
    let (redirect, redirect_refused) = match (params.get("post_logout_redirect_uri")?, &client) {
        (None, _) => (None, false),
        (Some(uri), Some(c)) if c.post_logout_redirect_uris.iter().any(|r| r == uri) => (
            Some(LogoutRedirect {
                uri: uri.to_owned(),
                state: state.clone(),
            }),
            false,
        ),
        (Some(uri), _) => {
            tracing::info!(uri, client = ?client_id, "post_logout_redirect_uri not registered: no redirect");
            (None, true)
        }
    };
    let ui_locales = params
        .get("ui_locales")?
        .map(|l| {
            l.split(' ')
                .filter(|s| !s.is_empty())
                .take(10)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(LogoutRequest {
        client,
        redirect,
        redirect_refused,
        hint: hint.map(|h| (h.sid, h.sub)),
        state,
        ui_locales,
    })
}

/// Ends a session: revokes it, revokes the access tokens issued under it, queues a
/// back-channel logout for every portal that registered one, and answers the
/// front-channel logout URLs to load in iframes. It never waits on a portal. The first
/// three are one transaction (`Sessions::end`): should it fail, the session stays live
/// and a retry does it all.
pub async fn end_session(
    store: &Store,
    tokens: &AccessTokens,
    backchannel: &Backchannel,
    session: &Session,
    now: i64,
) -> Result<Vec<String>, OAuthError> {
    let portals = store.session_clients().of_session(&session.id).await?;
    let deny: Vec<(String, i64)> = portals
        .iter()
        .map(|p| (sid_key(&p.sid), tokens.deny_until(now)))
        .collect();
    let deliveries: Vec<NewDelivery<'_>> = portals
        .iter()
        .filter_map(|p| {
            Some(NewDelivery {
                client_id: p.client_id.as_str(),
                uri: p.backchannel_logout_uri.as_deref()?,
                sid: &p.sid,
                subject: &p.subject,
            })
        })
        .collect();
    if !store
        .sessions()
        .end(&session.id, now, &deny, &deliveries)
        .await?
    {
        return Ok(vec![]);
    }
    for (key, expires_at) in &deny {
        tokens.deny_list().remember(key, *expires_at);
    }
    let mut frontchannel = Vec::new();
    for p in &portals {
        if let Some(uri) = &p.frontchannel_logout_uri {
            if let Ok(mut url) = Url::parse(uri) {
                url.query_pairs_mut()
                    .append_pair("iss", tokens.issuer())
                    .append_pair("sid", &p.sid);
                frontchannel.push(url.to_string());
            }
        }
    }
    let portal_names: Vec<&str> = portals.iter().map(|p| p.client_id.as_str()).collect();
    store
        .audit()
        .record(
            now,
            "logout",
            Some(session.account_id.as_str()),
            None,
            &format!(
                "session {} ended; portals: {}",
                session.id,
                portal_names.join(" ")
            ),
        )
        .await?;
    backchannel.wake();
    Ok(frontchannel)
}
