//! The authorization code flow from request to redirect: check the session, ask for a
//! login or consent when needed (through a pending request bound to the browser), and
//! issue the code. Pages and cookies are `http`'s business; this module decides.

use serde::{Deserialize, Serialize};

use super::authorize::{AuthorizationRequest, AuthorizeError, Decision, Params};
use super::error::{ErrorCode, OAuthError};
use crate::crypto::sha256_b64url;
use crate::identity::{self, IdentityError, consent};
use crate::ids::{GrantId, PendingId};
use crate::provider::Provider;
use crate::secret::Secret;
use crate::sources::{Callback, Source, SourceRefusal};
use crate::store::{
    AuthorizationCode, Client, PendingAuthorization, Session, SessionPortal, StoreError,
};

/// Where the browser goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
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

/// What the pending row keeps: the original parameters, validated again on resume so
/// that a client changed in between is judged by its current registration.
#[derive(Serialize, Deserialize)]
struct StoredRequest {
    params: Params,
    /// A login for the account page itself, not for a client.
    #[serde(default)]
    account_page: bool,
}

/// What a pending request continues.
enum Resumed {
    Authorization {
        client: Box<Client>,
        req: Box<AuthorizationRequest>,
    },
    AccountPage,
}

/// What the login page shows.
#[derive(Debug, Clone)]
pub struct LoginView {
    pub pending_id: PendingId,
    pub client_name: String,
    /// A login for the account page, not for a portal (`client_name` is then empty): the
    /// page says so in its own language.
    pub for_account: bool,
    pub login_hint: Option<String>,
    pub ui_locales: Vec<String>,
    /// (id, display name) of each source that can satisfy the request.
    pub sources: Vec<(String, String)>,
}

/// What the consent page shows.
#[derive(Debug, Clone)]
pub struct ConsentView {
    pub pending_id: PendingId,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub ui_locales: Vec<String>,
}

pub enum LoginOutcome {
    /// Signed in: set this session cookie and go on.
    SignedIn { step: Step, session_token: Secret },
    /// The source refused: show the form again with the reason.
    Refused {
        view: LoginView,
        refusal: SourceRefusal,
    },
}

async fn load_client(provider: &Provider, client_id: &str) -> Result<Client, AuthorizeError> {
    provider
        .client(client_id)
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

/// The sources whose level of assurance meets the request.
fn eligible_sources(provider: &Provider, req: &AuthorizationRequest) -> Vec<Source> {
    provider
        .config
        .sources
        .iter()
        .filter(|s| req.min_loa.is_none_or(|min| s.loa >= min))
        .map(Source::from_config)
        .collect()
}

async fn consent_given(
    provider: &Provider,
    client: &Client,
    session: &Session,
    req: &AuthorizationRequest,
) -> Result<bool, StoreError> {
    Ok(client.first_party
        || consent::covers(
            provider,
            &session.account_id,
            &client.client_id,
            &req.scopes,
        )
        .await?)
}

/// `/authorize`: validate, then log in, ask consent, or issue a code at once.
pub async fn authorize(
    provider: &Provider,
    params: Params,
    session: Option<&Session>,
    browser_binding: &str,
    now: i64,
) -> Result<Step, AuthorizeError> {
    let client_id = params.client_id().map_err(AuthorizeError::Page)?.to_owned();
    let client = load_client(provider, &client_id).await?;
    let req = AuthorizationRequest::validate(&params, &client, &provider.config.oauth)?;
    let redirect = |error: OAuthError| AuthorizeError::Redirect {
        target: req.target.clone(),
        error,
    };
    if eligible_sources(provider, &req).is_empty() {
        return Err(redirect(OAuthError::new(
            ErrorCode::UnmetAuthenticationRequirements,
            "no identity source reaches the requested level of assurance",
        )));
    }
    let hinted_other = match (&req.id_token_hint, session) {
        (Some(hint), Some(s)) => !hint_names(provider, &client, hint, s)
            .await
            .map_err(redirect)?,
        _ => false,
    };
    // OIDC Core section 3.1.2.1: a session of someone other than the hinted person does
    // not count (prompt=none then answers login_required).
    let session_ok = req.session_suffices(session, now) && !hinted_other;
    let consented = match (session_ok, session) {
        (true, Some(s)) => consent_given(provider, &client, s, &req)
            .await
            .map_err(|e| redirect(e.into()))?,
        _ => false,
    };
    let decision = req.decide(session_ok, consented).map_err(redirect)?;
    let pending = |session| PendingAuthorization {
        id: PendingId::generate(),
        request: serde_json::to_string(&StoredRequest {
            params: params.clone(),
            account_page: false,
        })
        .expect("parameters serialise"),
        browser_binding: browser_binding.to_owned(),
        session_id: session,
        expires_at: now + provider.config.session.login_timeout.as_secs() as i64,
    };
    match (decision, session) {
        (Decision::IssueCode, Some(s)) => issue_code(provider, &client, &req, s, now)
            .await
            .map(Step::Redirect)
            .map_err(redirect),
        (Decision::Consent, Some(s)) => {
            let p = pending(Some(s.id.clone()));
            provider
                .store
                .pending()
                .insert(&p, now)
                .await
                .map_err(|e| redirect(e.into()))?;
            Ok(Step::Consent(p.id))
        }
        _ => {
            let p = pending(None);
            provider
                .store
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
    provider: &Provider,
    client: &Client,
    hint: &str,
    session: &Session,
) -> Result<bool, OAuthError> {
    #[derive(Deserialize)]
    struct Hint {
        sub: String,
        aud: super::tokens::Audience,
    }
    let claims: Hint = provider.verify_own(hint, "JWT", None).await.map_err(|e| {
        OAuthError::invalid_request("`id_token_hint` is not a valid ID token")
            .with_detail(e.to_string())
    })?;
    if !claims.aud.contains(client.client_id.as_str()) {
        return Err(OAuthError::invalid_request(
            "`id_token_hint` was issued to another client",
        ));
    }
    let sub = super::subject::subject_for(provider, client, &session.account_id);
    Ok(crate::crypto::constant_time_eq(
        sub.as_bytes(),
        claims.sub.as_bytes(),
    ))
}

/// Loads a pending request for this browser and validates it again.
async fn resume(
    provider: &Provider,
    id: &PendingId,
    browser_binding: &str,
    now: i64,
) -> Result<(PendingAuthorization, Resumed), FlowError> {
    let pending = provider
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
    if stored.account_page {
        return Ok((pending, Resumed::AccountPage));
    }
    let client_id = stored
        .params
        .client_id()
        .map_err(AuthorizeError::Page)?
        .to_owned();
    let client = load_client(provider, &client_id).await?;
    let req = AuthorizationRequest::validate(&stored.params, &client, &provider.config.oauth)?;
    Ok((
        pending,
        Resumed::Authorization {
            client: Box::new(client),
            req: Box::new(req),
        },
    ))
}

/// A login for the account page: a pending request that ends on `/account`.
pub async fn start_account_login(
    provider: &Provider,
    browser_binding: &str,
    now: i64,
) -> Result<PendingId, StoreError> {
    let p = PendingAuthorization {
        id: PendingId::generate(),
        request: serde_json::to_string(&StoredRequest {
            params: Params::default(),
            account_page: true,
        })
        .expect("serialises"),
        browser_binding: browser_binding.to_owned(),
        session_id: None,
        expires_at: now + provider.config.session.login_timeout.as_secs() as i64,
    };
    provider.store.pending().insert(&p, now).await?;
    Ok(p.id)
}

pub async fn login_view(
    provider: &Provider,
    id: &PendingId,
    browser_binding: &str,
    now: i64,
) -> Result<LoginView, FlowError> {
    let (pending, resumed) = resume(provider, id, browser_binding, now).await?;
    Ok(view_for_login(provider, &pending, &resumed))
}

fn sources_for(provider: &Provider, resumed: &Resumed) -> Vec<Source> {
    match resumed {
        Resumed::Authorization { req, .. } => eligible_sources(provider, req),
        Resumed::AccountPage => provider
            .config
            .sources
            .iter()
            .map(Source::from_config)
            .collect(),
    }
}

fn view_for_login(
    provider: &Provider,
    pending: &PendingAuthorization,
    resumed: &Resumed,
) -> LoginView {
    let sources = sources_for(provider, resumed)
        .iter()
        .map(|s| (s.config().id.clone(), s.config().display_name.clone()))
        .collect();
    match resumed {
        Resumed::Authorization { client, req } => LoginView {
            pending_id: pending.id.clone(),
            client_name: client.name.clone(),
            for_account: false,
            login_hint: req.login_hint.clone(),
            ui_locales: req.ui_locales.clone(),
            sources,
        },
        Resumed::AccountPage => LoginView {
            pending_id: pending.id.clone(),
            client_name: String::new(),
            for_account: true,
            login_hint: None,
            ui_locales: vec![],
            sources,
        },
    }
}

/// The login form was submitted to `source_id`.
#[allow(clippy::too_many_arguments)]
pub async fn login(
    provider: &Provider,
    id: &PendingId,
    browser_binding: &str,
    source_id: &str,
    callback: Callback,
    current_session: Option<&Session>,
    user_agent: Option<&str>,
    now: i64,
) -> Result<LoginOutcome, FlowError> {
    let (pending, resumed) = resume(provider, id, browser_binding, now).await?;
    let view = view_for_login(provider, &pending, &resumed);
    let source = sources_for(provider, &resumed)
        .into_iter()
        .find(|s| s.config().id == source_id)
        .ok_or_else(|| {
            FlowError::Authorize(AuthorizeError::Page(OAuthError::invalid_request(
                "that identity source is not offered for this request",
            )))
        })?;
    let verified = match source.complete(provider, callback).await {
        Ok(v) => v,
        Err(refusal) => return Ok(LoginOutcome::Refused { view, refusal }),
    };
    let signed_in =
        match identity::sign_in(provider, &verified, current_session, user_agent, now).await {
            Ok(done) => done,
            Err(IdentityError::Store(e)) => return Err(e.into()),
            Err(IdentityError::NotLinked { .. }) => {
                let refusal = SourceRefusal::BadCredentials {
                    source_name: source.config().display_name.clone(),
                };
                return Ok(LoginOutcome::Refused { view, refusal });
            }
        };
    // Someone else signed in on this browser: the previous person's portals hear of it.
    if let Some(previous) = &signed_in.displaced {
        super::logout::end_session(provider, previous, now)
            .await
            .map_err(|e| FlowError::Authorize(AuthorizeError::Page(e)))?;
    }
    let (session, session_token) = (signed_in.session, signed_in.token);
    let (client, req) = match resumed {
        Resumed::Authorization { client, req } => (*client, *req),
        Resumed::AccountPage => {
            provider.store.pending().take(&pending.id, now).await?;
            return Ok(LoginOutcome::SignedIn {
                step: Step::Redirect("/account".into()),
                session_token,
            });
        }
    };
    let consented = consent_given(provider, &client, &session, &req).await?;
    let step = match req.decide(true, consented) {
        Ok(Decision::Consent) => {
            // The consent page resumes the request under this session only. (A request
            // that needs no consent is finished now: nothing to attach.)
            provider
                .store
                .pending()
                .attach_session(&pending.id, &session.id)
                .await?;
            Step::Consent(pending.id)
        }
        Ok(_) => finish(provider, &client, &pending.id, &req, &session, now).await?,
        Err(error) => Step::Redirect(req.target.with_error(&error, provider.issuer())),
    };
    Ok(LoginOutcome::SignedIn {
        step,
        session_token,
    })
}

/// Checks that the consent page is used by the session that logged in for it.
async fn resume_for_consent(
    provider: &Provider,
    id: &PendingId,
    browser_binding: &str,
    session: Option<&Session>,
    now: i64,
) -> Result<(Client, AuthorizationRequest), FlowError> {
    let (pending, resumed) = resume(provider, id, browser_binding, now).await?;
    let Resumed::Authorization { client, req } = resumed else {
        return Err(FlowError::Expired);
    };
    match (session, &pending.session_id) {
        (Some(s), Some(expected)) if &s.id == expected => Ok((*client, *req)),
        _ => Err(FlowError::NotYourSession),
    }
}

pub async fn consent_view(
    provider: &Provider,
    id: &PendingId,
    browser_binding: &str,
    session: Option<&Session>,
    now: i64,
) -> Result<ConsentView, FlowError> {
    let (client, req) = resume_for_consent(provider, id, browser_binding, session, now).await?;
    Ok(ConsentView {
        pending_id: id.clone(),
        client_name: client.name,
        scopes: req.scopes.iter().map(str::to_owned).collect(),
        ui_locales: req.ui_locales,
    })
}

/// The person allowed or denied the request on the consent page.
pub async fn consent(
    provider: &Provider,
    id: &PendingId,
    browser_binding: &str,
    session: Option<&Session>,
    allow: bool,
    now: i64,
) -> Result<Step, FlowError> {
    let (client, req) = resume_for_consent(provider, id, browser_binding, session, now).await?;
    let session = session.expect("resume_for_consent checked the session");
    if !allow {
        provider.store.pending().take(id, now).await?;
        let error = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        return Ok(Step::Redirect(
            req.target.with_error(&error, provider.issuer()),
        ));
    }
    consent::grant(
        provider,
        &session.account_id,
        &client.client_id,
        &req.scopes,
        now,
    )
    .await?;
    finish(provider, &client, id, &req, session, now).await
}

/// Takes the pending request out (once) and issues the code.
async fn finish(
    provider: &Provider,
    client: &Client,
    id: &PendingId,
    req: &AuthorizationRequest,
    session: &Session,
    now: i64,
) -> Result<Step, FlowError> {
    // The request is taken in the same write as the code: one request, one code.
    match write_code(provider, client, req, session, Some(id), now).await {
        Ok(Some(url)) => Ok(Step::Redirect(url)),
        Ok(None) => Err(FlowError::Expired),
        Err(error) => Ok(Step::Redirect(
            req.target.with_error(&error, provider.issuer()),
        )),
    }
}

/// Issues a single-use code bound to the client, redirect URI, PKCE challenge and
/// session, records the client as a portal of the session (logout must reach it, with
/// the `sid` and `sub` its tokens will carry), and answers the redirect URL.
pub async fn issue_code(
    provider: &Provider,
    client: &Client,
    req: &AuthorizationRequest,
    session: &Session,
    now: i64,
) -> Result<String, OAuthError> {
    let url = write_code(provider, client, req, session, None, now).await?;
    Ok(url.expect("a code that finishes no pending request is always written"))
}

/// [`issue_code`], taking the pending request `finishing` in the same write; `None`
/// when that request was already taken or has expired (and no code was written).
async fn write_code(
    provider: &Provider,
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
        created_at: now,
        expires_at: now + provider.config.tokens.code_ttl.as_secs() as i64,
    };
    let portal = SessionPortal {
        sid: provider
            .master
            .session_sid(session.id.as_str(), client.client_id.as_str()),
        subject: super::subject::subject_for(provider, client, &session.account_id),
    };
    if !provider
        .store
        .codes()
        .insert(&row, &portal, finishing)
        .await?
    {
        return Ok(None);
    }
    Ok(Some(req.target.with_code(code.expose(), provider.issuer())))
}
