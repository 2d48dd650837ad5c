//! The authorization code flow from request to redirect: check the session, end in
//! "needs a login" (with the request's [`LoginRequirements`]) or "needs consent" when
//! it must (through a pending request bound to the browser), and issue the code. This
//! module does not authenticate anyone: `login` drives the identity sources and then
//! calls [`finish_login`] with the session it made. Pages and cookies are `http`'s
//! business; this module decides.

use serde::{Deserialize, Serialize};

use super::authorize::{AuthorizationRequest, AuthorizeError, Decision, Params};
use super::clients::ClientCache;
use super::error::{ErrorCode, OAuthError};
use super::tokens::Issuer;
use crate::config::OAuthConfig;
use crate::crypto::sha256_b64url;
use crate::identity::consent;
use crate::ids::{GrantId, PendingId};
use crate::model::Loa;
use crate::model::{Client, Session};
use crate::store::Store;
use crate::store::{AuthorizationCode, PendingAuthorization, SessionPortal, StoreError};

/// Where the browser goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Needs a login: `login` reads the requirements ([`login_context`]) and comes back
    /// with a session ([`finish_login`]).
    Login(PendingId),
    Consent(PendingId),
    /// Back to the client, with a code or an error.
    Redirect(String),
}

/// Why a login or consent page cannot go on.
#[derive(Debug)]
pub enum FlowError {
    /// The request failed: a page or an error redirect, as for `/authorize`.
    Authorize(AuthorizeError),
    /// Unknown, expired or already finished.
    Expired,
    /// Started in another browser.
    WrongBrowser,
    /// The consent page was opened without the session that logged in for it.
    NotYourSession,
}

impl From<StoreError> for FlowError {
    fn from(e: StoreError) -> Self {
        FlowError::Authorize(AuthorizeError::Page(e.into()))
    }
}

impl From<AuthorizeError> for FlowError {
    fn from(e: AuthorizeError) -> Self {
        FlowError::Authorize(e)
    }
}

/// What the pending row keeps: the parameters the request uses (unknown ones dropped,
/// each bounded by the validation), validated again on resume so that a client changed
/// in between is judged by its current registration.
#[derive(Serialize, Deserialize)]
struct StoredRequest {
    params: Params,
}

/// What a login for a pending request must meet (OIDC Core section 3.1.2.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginRequirements {
    /// The lowest level of assurance among the recognised `acr_values`.
    pub min_loa: Option<Loa>,
    /// The `acr_values` as asked, in order of preference.
    pub acr_values: Vec<String>,
    pub max_age: Option<i64>,
    pub prompt: super::authorize::Prompt,
    pub login_hint: Option<String>,
    pub ui_locales: Vec<String>,
    /// The claims the `claims` parameter marks essential, in either member (OIDC Core
    /// section 5.5.1), sorted. An essential `acr` is already in `min_loa` and
    /// `acr_values`; the others are for `login` to prefer a source that asserts them.
    pub essential_claims: Vec<String>,
    /// Not a requirement but where the login leads: the origin of the redirect URI,
    /// which the login pages' forms must be allowed to reach (CSP `form-action`).
    pub redirect_origin: Option<String>,
}

/// A pending request that needs a login: who asks, and what the login must meet.
#[derive(Debug, Clone)]
pub struct LoginContext {
    pub pending_id: PendingId,
    pub client_name: String,
    pub requirements: LoginRequirements,
}

/// What the consent page shows.
#[derive(Debug, Clone)]
pub struct ConsentView {
    pub pending_id: PendingId,
    pub client_name: String,
    pub scopes: Vec<String>,
    /// The claims asked for by name beyond what the scopes give (OIDC Core section 5.5).
    pub claims: Vec<String>,
    pub ui_locales: Vec<String>,
    /// The origin of the redirect URI, which the consent form leads to.
    pub redirect_origin: String,
}

/// What the authorization flow uses, assembled by the composition root.
pub struct FlowServices<'a> {
    pub store: &'a Store,
    pub clients: &'a ClientCache,
    pub issuer: &'a Issuer,
    pub oauth: &'a OAuthConfig,
    /// Seconds a pending request waits for its login and consent.
    pub login_timeout: i64,
    /// The highest level of assurance a configured source reaches.
    pub max_loa: Option<Loa>,
}

async fn load_client(
    flow: &FlowServices<'_>,
    client_id: &str,
    now: i64,
) -> Result<Client, AuthorizeError> {
    flow.clients
        .get(client_id, now)
        .await
        .map_err(|e| AuthorizeError::Page(e.into()))?
        .map(|c| (*c).clone())
        .ok_or_else(|| {
            AuthorizeError::Page(
                OAuthError::new(ErrorCode::InvalidClient, "unknown client")
                    .with_detail(format!("client_id={client_id}")),
            )
        })
}

/// Whether some configured source reaches the request's level of assurance.
fn level_reachable(flow: &FlowServices<'_>, req: &AuthorizationRequest) -> bool {
    req.min_loa
        .is_none_or(|min| flow.max_loa.is_some_and(|max| max >= min))
}

/// The claims asked for by name that the request's scopes do not give: each needs the
/// person's consent as a scope does.
fn claims_to_consent(req: &AuthorizationRequest) -> Vec<String> {
    let asked = req.claims.requested();
    let mut names: Vec<String> = asked
        .id_token
        .into_iter()
        .chain(asked.userinfo)
        .filter(|c| !super::claims::given_by(&req.scopes, c))
        .collect();
    names.sort();
    names.dedup();
    names
}

async fn consent_given(
    flow: &FlowServices<'_>,
    client: &Client,
    session: &Session,
    req: &AuthorizationRequest,
) -> Result<bool, StoreError> {
    Ok(client.first_party
        || consent::covers(
            flow.store,
            &session.account_id,
            &client.client_id,
            &req.scopes,
            &claims_to_consent(req),
        )
        .await?)
}

/// Whether the session's person is not the one a `claims` request names as the ID
/// token's `sub` (OIDC Core section 5.5.1): their session does not count, and a login
/// as someone else is refused.
fn other_subject(
    flow: &FlowServices<'_>,
    client: &Client,
    req: &AuthorizationRequest,
    session: &Session,
) -> bool {
    req.claims.id_token_sub().is_some_and(|wanted| {
        let sub = flow.issuer.subject_for(client, &session.account_id);
        !crate::crypto::constant_time_eq(sub.as_bytes(), wanted.as_bytes())
    })
}

/// `/authorize`: validate, then log in, ask consent, or issue a code at once.
pub async fn authorize(
    flow: &FlowServices<'_>,
    params: Params,
    session: Option<&Session>,
    browser_binding: &str,
    now: i64,
) -> Result<Step, AuthorizeError> {
    let client_id = params.client_id().map_err(AuthorizeError::Page)?.to_owned();
    let client = load_client(flow, &client_id, now).await?;
    let req = AuthorizationRequest::validate(&params, &client, flow.oauth)?;
    let redirect = |error: OAuthError| AuthorizeError::Redirect {
        target: req.target.clone(),
        error,
    };
    if !level_reachable(flow, &req) {
        return Err(redirect(OAuthError::new(
            ErrorCode::UnmetAuthenticationRequirements,
            "no identity source reaches the requested level of assurance",
        )));
    }
    let hinted_other = match (&req.id_token_hint, session) {
        (Some(hint), Some(s)) => !hint_names(flow, &client, hint, s, now)
            .await
            .map_err(redirect)?,
        _ => false,
    };
    // OIDC Core section 3.1.2.1: a session of someone other than the hinted person does
    // not count (prompt=none then answers login_required), nor, by section 5.5.1, one
    // of someone other than the `sub` the `claims` parameter names.
    let asked_other = session.is_some_and(|s| other_subject(flow, &client, &req, s));
    let session_ok = req.session_suffices(session, now) && !hinted_other && !asked_other;
    let consented = match (session_ok, session) {
        (true, Some(s)) => consent_given(flow, &client, s, &req)
            .await
            .map_err(|e| redirect(e.into()))?,
        _ => false,
    };
    let decision = req.decide(session_ok, consented).map_err(redirect)?;
    let pending = |session| PendingAuthorization {
        id: PendingId::generate(),
        // `claims` as read, not as sent: what Portico ignores is not stored.
        request: serde_json::to_string(&StoredRequest {
            params: params
                .authorization_only()
                .replaced("claims", req.claims.to_json()),
        })
        .expect("parameters serialise"),
        browser_binding: browser_binding.to_owned(),
        session_id: session,
        expires_at: now + flow.login_timeout,
    };
    match (decision, session) {
        (Decision::IssueCode, Some(s)) => issue_code(flow, &client, &req, s, now)
            .await
            .map(Step::Redirect)
            .map_err(redirect),
        (Decision::Consent, Some(s)) => {
            let p = pending(Some(s.id.clone()));
            flow.store
                .pending()
                .insert(&p, now)
                .await
                .map_err(|e| redirect(e.into()))?;
            Ok(Step::Consent(p.id))
        }
        _ => {
            let p = pending(None);
            flow.store
                .pending()
                .insert(&p, now)
                .await
                .map_err(|e| redirect(e.into()))?;
            Ok(Step::Login(p.id))
        }
    }
}

/// Whether an `id_token_hint` (ours, for this client, possibly expired) names the
/// session's person.
async fn hint_names(
    flow: &FlowServices<'_>,
    client: &Client,
    hint: &str,
    session: &Session,
    now: i64,
) -> Result<bool, OAuthError> {
    #[derive(Deserialize)]
    struct Hint {
        sub: String,
        aud: super::tokens::Audience,
    }
    let claims: Hint = flow
        .issuer
        .keys()
        .verify_own(hint, "JWT", None, now)
        .await
        .map_err(|e| {
            OAuthError::invalid_request("`id_token_hint` is not a valid ID token")
                .with_detail(e.to_string())
        })?;
    if !claims.aud.contains(client.client_id.as_str()) {
        return Err(OAuthError::invalid_request(
            "`id_token_hint` was issued to another client",
        ));
    }
    let sub = flow.issuer.subject_for(client, &session.account_id);
    Ok(crate::crypto::constant_time_eq(
        sub.as_bytes(),
        claims.sub.as_bytes(),
    ))
}

/// Loads a pending request for this browser and validates it again.
async fn resume(
    flow: &FlowServices<'_>,
    id: &PendingId,
    browser_binding: &str,
    now: i64,
) -> Result<(PendingAuthorization, Client, AuthorizationRequest), FlowError> {
    let pending = flow
        .store
        .pending()
        .get(id, now)
        .await?
        .ok_or(FlowError::Expired)?;
    if !crate::crypto::constant_time_eq(
        pending.browser_binding.as_bytes(),
        browser_binding.as_bytes(),
    ) {
        return Err(FlowError::WrongBrowser);
    }
    let stored: StoredRequest = serde_json::from_str(&pending.request)
        .map_err(|e| FlowError::from(StoreError::Corrupt(format!("pending request: {e}"))))?;
    let client_id = stored
        .params
        .client_id()
        .map_err(AuthorizeError::Page)?
        .to_owned();
    let client = load_client(flow, &client_id, now).await?;
    let req = AuthorizationRequest::validate(&stored.params, &client, flow.oauth)?;
    Ok((pending, client, req))
}

/// What the login for a pending request must meet, and for whom it is.
pub async fn login_context(
    flow: &FlowServices<'_>,
    id: &PendingId,
    browser_binding: &str,
    now: i64,
) -> Result<LoginContext, FlowError> {
    let (pending, client, req) = resume(flow, id, browser_binding, now).await?;
    Ok(LoginContext {
        pending_id: pending.id,
        client_name: client.name,
        requirements: LoginRequirements {
            min_loa: req.min_loa,
            acr_values: req.acr_values,
            max_age: req.max_age,
            prompt: req.prompt,
            login_hint: req.login_hint,
            ui_locales: req.ui_locales,
            essential_claims: req.claims.essential(),
            redirect_origin: Some(req.target.origin()),
        },
    })
}

/// `login` signed someone in for a pending request: ask consent or issue the code.
pub async fn finish_login(
    flow: &FlowServices<'_>,
    id: &PendingId,
    browser_binding: &str,
    session: &Session,
    now: i64,
) -> Result<Step, FlowError> {
    let (pending, client, req) = resume(flow, id, browser_binding, now).await?;
    // `login` offers only sources that reach the level; the protocol checks it anyway.
    if req
        .min_loa
        .is_some_and(|min| Loa::from_acr(&session.acr).is_none_or(|have| have < min))
    {
        flow.store.pending().take(&pending.id, now).await?;
        let error = OAuthError::new(
            ErrorCode::UnmetAuthenticationRequirements,
            "the login does not reach the requested level of assurance",
        );
        return Ok(Step::Redirect(
            req.target.with_error(&error, flow.issuer.url()),
        ));
    }
    // OIDC Core section 5.5.1: no ID token or access token for anyone but the `sub`
    // asked, even one who has just logged in. RFC 6749 section 4.1.2.1's
    // `access_denied`: the server refuses this request for this person.
    if other_subject(flow, &client, &req, session) {
        flow.store.pending().take(&pending.id, now).await?;
        let error = OAuthError::new(
            ErrorCode::AccessDenied,
            "the person who logged in is not the `sub` the claims parameter asked for",
        );
        return Ok(Step::Redirect(
            req.target.with_error(&error, flow.issuer.url()),
        ));
    }
    let consented = consent_given(flow, &client, session, &req).await?;
    Ok(match req.decide(true, consented) {
        Ok(Decision::Consent) => {
            // The consent page resumes the request under this session only. (A request
            // that needs no consent is finished now: nothing to attach.)
            flow.store
                .pending()
                .attach_session(&pending.id, &session.id)
                .await?;
            Step::Consent(pending.id)
        }
        Ok(_) => finish(flow, &client, &pending.id, &req, session, now).await?,
        Err(error) => Step::Redirect(req.target.with_error(&error, flow.issuer.url())),
    })
}

/// Checks that the consent page is used by the session that logged in for it.
async fn resume_for_consent(
    flow: &FlowServices<'_>,
    id: &PendingId,
    browser_binding: &str,
    session: Option<&Session>,
    now: i64,
) -> Result<(Client, AuthorizationRequest), FlowError> {
    let (pending, client, req) = resume(flow, id, browser_binding, now).await?;
    match (session, &pending.session_id) {
        (Some(s), Some(expected)) if &s.id == expected => Ok((client, req)),
        _ => Err(FlowError::NotYourSession),
    }
}

pub async fn consent_view(
    flow: &FlowServices<'_>,
    id: &PendingId,
    browser_binding: &str,
    session: Option<&Session>,
    now: i64,
) -> Result<ConsentView, FlowError> {
    let (client, req) = resume_for_consent(flow, id, browser_binding, session, now).await?;
    Ok(ConsentView {
        pending_id: id.clone(),
        client_name: client.name,
        scopes: req.scopes.iter().map(str::to_owned).collect(),
        claims: claims_to_consent(&req),
        ui_locales: req.ui_locales,
        redirect_origin: req.target.origin(),
    })
}

/// The person allowed or denied the request on the consent page.
pub async fn consent(
    flow: &FlowServices<'_>,
    id: &PendingId,
    browser_binding: &str,
    session: Option<&Session>,
    allow: bool,
    now: i64,
) -> Result<Step, FlowError> {
    let (client, req) = resume_for_consent(flow, id, browser_binding, session, now).await?;
    let session = session.expect("resume_for_consent checked the session");
    if !allow {
        flow.store.pending().take(id, now).await?;
        let error = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        return Ok(Step::Redirect(
            req.target.with_error(&error, flow.issuer.url()),
        ));
    }
    consent::grant(
        flow.store,
        &session.account_id,
        &client.client_id,
        &req.scopes,
        &claims_to_consent(&req),
        now,
    )
    .await?;
    finish(flow, &client, id, &req, session, now).await
}

/// Takes the pending request out (once) and issues the code.
async fn finish(
    flow: &FlowServices<'_>,
    client: &Client,
    id: &PendingId,
    req: &AuthorizationRequest,
    session: &Session,
    now: i64,
) -> Result<Step, FlowError> {
    // The request is taken in the same write as the code: one request, one code.
    match write_code(flow, client, req, session, Some(id), now).await {
        Ok(Some(url)) => Ok(Step::Redirect(url)),
        Ok(None) => Err(FlowError::Expired),
        Err(error) => Ok(Step::Redirect(
            req.target.with_error(&error, flow.issuer.url()),
        )),
    }
}

/// Issues a single-use code bound to the client, redirect URI, PKCE challenge and
/// session, records the client as a portal of the session (logout must reach it, with
/// the `sid` and `sub` its tokens will carry), and answers the redirect URL.
pub async fn issue_code(
    flow: &FlowServices<'_>,
    client: &Client,
    req: &AuthorizationRequest,
    session: &Session,
    now: i64,
) -> Result<String, OAuthError> {
    let url = write_code(flow, client, req, session, None, now).await?;
    Ok(url.expect("a code that finishes no pending request is always written"))
}

/// [`issue_code`], taking the pending request `finishing` in the same write; `None`
/// when that request was already taken or has expired (and no code was written).
async fn write_code(
    flow: &FlowServices<'_>,
    client: &Client,
    req: &AuthorizationRequest,
    session: &Session,
    finishing: Option<&PendingId>,
    now: i64,
) -> Result<Option<String>, OAuthError> {
    let code = crate::random::token();
    let row = AuthorizationCode {
        code_hash: sha256_b64url(code.expose()),
        grant_id: GrantId::generate(),
        client_id: crate::ids::ClientId::new(&req.client_id),
        account_id: session.account_id.clone(),
        session_id: session.id.clone(),
        redirect_uri: req.target.uri().to_owned(),
        scope: req.scopes.to_string(),
        nonce: req.nonce.clone(),
        code_challenge: req.code_challenge.clone(),
        auth_time: session.auth_time,
        acr: session.acr.clone(),
        amr: session.amr.clone(),
        claims: req.claims.requested(),
        created_at: now,
        expires_at: now + flow.issuer.ttl().code_ttl.as_secs() as i64,
    };
    let portal = SessionPortal {
        sid: flow.issuer.sid(&session.id, client),
        subject: flow.issuer.subject_for(client, &session.account_id),
    };
    if !flow.store.codes().insert(&row, &portal, finishing).await? {
        return Ok(None);
    }
    Ok(Some(req.target.with_code(code.expose(), flow.issuer.url())))
}
