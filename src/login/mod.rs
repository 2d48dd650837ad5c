//! Login: drives the identity sources for a pending request, the way node `oidc-services`'s
//! interactions and Hydra's login accept do. `oidc` ends a request that needs a login as
//! [`flow::Step::Login`] with its requirements; this module offers the sources that can meet
//! them (and refuses to start the others), begins one, advances it with what comes back until
//! it answers a verified identity or a refusal, hands the identity to `identity` for an account
//! and a session, and asks `oidc` to finish the request with that session
//! ([`flow::finish_login`]). A login for the account page is the same ([`ReturnTo::Account`]).
mod attempts;
pub mod handoff;
mod outcome;
pub mod passkey_registration;
mod throttle;
mod webauthn_step;

use serde::{Deserialize, Serialize};

use crate::config::{BruteForceConfig, SessionConfig};
use crate::crypto::MasterKey;
use crate::identity::{self, IdentityError};
use crate::ids::PendingId;
use crate::oidc::backchannel::Backchannel;
use crate::oidc::flow::{self, FlowError, LoginRequirements};
use crate::oidc::revocation::AccessTokens;
use crate::sources::Sources;
use crate::sources::{
    Advance, AttemptState, BeginContext, Form, Input, Refusal, Source, SourceServices, Step,
};
use crate::store::{Store, StoreError};

pub use attempts::MAX_TRIES;
pub use outcome::{Chooser, Next, Notice, Offer, Outcome, SignedInAs, StepView};

/// Where a login goes once it succeeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnTo {
    /// Finish this pending authorization request.
    Authorization(PendingId),
    /// The account page's own login.
    Account,
}

impl ReturnTo {
    /// What CSRF tokens of the login forms are bound to.
    pub fn key(&self) -> &str {
        match self {
            ReturnTo::Authorization(id) => id.as_str(),
            ReturnTo::Account => "account",
        }
    }
}

#[derive(Debug)]
pub enum LoginError {
    /// The pending request cannot go on (expired, another browser's, invalid now).
    Flow(FlowError),
    /// The source is not configured, or cannot meet this request.
    NotOffered,
    /// The attempt is unknown, finished or replayed.
    AttemptGone,
    /// The attempt was begun in another browser.
    WrongBrowser,
    /// The source cannot check anything now (a database or hashing failure, an
    /// upstream down): an outage, never "wrong password".
    SourceUnavailable {
        source_id: String,
        detail: String,
    },
    Store(StoreError),
}

impl From<StoreError> for LoginError {
    fn from(e: StoreError) -> Self {
        LoginError::Store(e)
    }
}

impl From<FlowError> for LoginError {
    fn from(e: FlowError) -> Self {
        LoginError::Flow(e)
    }
}

/// What a login uses: the authorization flow it finishes, the sources and what they
/// use, the secrets that seal attempts, and what ending a displaced session needs.
pub struct LoginServices<'a> {
    pub flow: crate::oidc::flow::FlowServices<'a>,
    pub sources: &'a Sources,
    pub source: SourceServices<'a>,
    pub secrets: &'a MasterKey,
    pub tokens: &'a AccessTokens,
    pub backchannel: &'a Backchannel,
    pub session: &'a SessionConfig,
    pub brute_force: &'a BruteForceConfig,
}

impl LoginServices<'_> {
    fn store(&self) -> &Store {
        self.flow.store
    }
}

/// What the login must meet, and for whom it is.
async fn context(
    services: &LoginServices<'_>,
    return_to: &ReturnTo,
    browser_binding: &str,
    now: i64,
) -> Result<(Option<String>, LoginRequirements), LoginError> {
    match return_to {
        ReturnTo::Authorization(id) => {
            let c = flow::login_context(&services.flow, id, browser_binding, now).await?;
            Ok((Some(c.client_name), c.requirements))
        }
        ReturnTo::Account => Ok((None, LoginRequirements::default())),
    }
}

/// The sources that can meet the requirements.
fn eligible<'a>(
    services: &'a LoginServices<'a>,
    req: &'a LoginRequirements,
) -> impl Iterator<Item = &'a Source> + 'a {
    services
        .sources
        .iter()
        .filter(move |s| s.meets(req.min_loa, req.login_hint.as_deref()))
}

fn offered<'a>(
    services: &'a LoginServices<'a>,
    req: &LoginRequirements,
    source_id: &str,
) -> Result<&'a Source, LoginError> {
    services
        .sources
        .get(source_id)
        .filter(|s| s.meets(req.min_loa, req.login_hint.as_deref()))
        .ok_or(LoginError::NotOffered)
}

fn callback_url(services: &LoginServices<'_>, source_id: &str) -> String {
    format!("{}/login/{source_id}/callback", services.flow.issuer.url())
}

/// The login page for a request.
pub async fn chooser(
    services: &LoginServices<'_>,
    return_to: &ReturnTo,
    browser_binding: &str,
    now: i64,
) -> Result<Chooser, LoginError> {
    let (client_name, req) = context(services, return_to, browser_binding, now).await?;
    chooser_for(services, return_to, client_name, &req, &[]).await
}

/// The login page; `typed` refills the inline forms' text fields (never a password).
async fn chooser_for(
    services: &LoginServices<'_>,
    return_to: &ReturnTo,
    client_name: Option<String>,
    req: &LoginRequirements,
    typed: &[(String, String)],
) -> Result<Chooser, LoginError> {
    let mut offers = Vec::new();
    for source in eligible(services, req) {
        let form = if source.is_inline() {
            inline_form(services, source, req).await.map(|mut form| {
                refill(&mut form, typed);
                form
            })
        } else {
            None
        };
        offers.push(Offer {
            source_id: source.id().to_owned(),
            display_name: source.display_name().clone(),
            form,
        });
    }
    Ok(Chooser {
        return_to: return_to.clone(),
        client_name,
        ui_locales: req.ui_locales.clone(),
        redirect_origin: req.redirect_origin.clone(),
        offers,
    })
}

async fn inline_form(
    services: &LoginServices<'_>,
    source: &Source,
    req: &LoginRequirements,
) -> Option<Form> {
    let callback = callback_url(services, source.id());
    let begun = source
        .begin(&BeginContext {
            handle: "",
            callback_url: &callback,
            login_hint: req.login_hint.as_deref(),
        })
        .await
        .ok()?;
    match begun.step {
        Step::Form(form) if begun.state.is_stateless() => Some(form),
        _ => None,
    }
}

fn refill(form: &mut Form, typed: &[(String, String)]) {
    for field in &mut form.fields {
        if field.kind == crate::sources::FieldKind::Text {
            if let Some((_, v)) = typed.iter().find(|(k, _)| *k == field.name) {
                field.value = v.clone();
            }
        }
    }
}

/// `GET /login/{source_id}`: begins an attempt at the source.
pub async fn start(
    services: &LoginServices<'_>,
    source_id: &str,
    return_to: &ReturnTo,
    browser_binding: &str,
    now: i64,
) -> Result<Outcome, LoginError> {
    let (client_name, req) = context(services, return_to, browser_binding, now).await?;
    let source = offered(services, &req, source_id)?;
    let handle = crate::random::token();
    let callback = callback_url(services, source_id);
    let begun = source
        .begin(&BeginContext {
            handle: handle.expose(),
            callback_url: &callback,
            login_hint: req.login_hint.as_deref(),
        })
        .await;
    match begun {
        Ok(b) => {
            let at = At {
                services,
                source,
                return_to,
                browser_binding,
                requirements: &req,
                now,
            };
            at.present(handle.expose(), b.step, b.state).await
        }
        Err(refusal) => refused(services, return_to, client_name, &req, refusal, &[]).await,
    }
}

/// `POST /login/{source_id}` (and `POST /login`): a source's form was submitted, with
/// the attempt's handle unless it is the login page's own form.
#[allow(clippy::too_many_arguments)]
pub async fn submit(
    services: &LoginServices<'_>,
    source_id: &str,
    return_to: &ReturnTo,
    browser_binding: &str,
    attempt: Option<&str>,
    fields: &[(String, String)],
    signed_in: SignedInAs<'_>,
    now: i64,
) -> Result<Outcome, LoginError> {
    let (client_name, req) = context(services, return_to, browser_binding, now).await?;
    let source = offered(services, &req, source_id)?;
    let at = At {
        services,
        source,
        return_to,
        browser_binding,
        requirements: &req,
        now,
    };
    let Some(handle) = attempt else {
        // The login page's own form: its source keeps no state, so begin afresh.
        let callback = callback_url(services, source_id);
        let begun = source
            .begin(&BeginContext {
                handle: "",
                callback_url: &callback,
                login_hint: None,
            })
            .await
            .map_err(|_| LoginError::AttemptGone)?;
        if !begun.state.is_stateless() {
            return Err(LoginError::AttemptGone);
        }
        let trier = throttle::Trier::new(source_id, fields, signed_in.address);
        let run = source.advance(&services.source, begun.state, Input::Form(fields));
        let advance = match throttle::guarded(services, &trier, now, run).await? {
            Ok(a) => a,
            Err(b) => {
                return throttle::try_later(services, return_to, client_name, &req, b, fields)
                    .await;
            }
        };
        return match advance {
            Advance::Refused(refusal) => {
                refused(services, return_to, client_name, &req, refusal, fields).await
            }
            Advance::Verified(v) => at.sign_in(v, signed_in, client_name, &req).await,
            Advance::Continue { step, state } => {
                let handle = crate::random::token();
                at.present(handle.expose(), step, state).await
            }
        };
    };
    let trier = throttle::Trier::new(source_id, fields, signed_in.address);
    let source_id = source_id.to_owned();
    let attempt = match attempts::count_try(services.store(), services.secrets, handle, now).await?
    {
        attempts::Found::Attempt(a) => a,
        found @ (attempts::Found::TooManyTries | attempts::Found::Expired) => {
            let refusal = match found {
                attempts::Found::Expired => Refusal::Expired { source_id },
                _ => Refusal::TooManyAttempts { source_id },
            };
            throttle::audit_failure(services.store(), &trier, throttle::reason(&refusal), now)
                .await;
            return refused(services, return_to, client_name, &req, refusal, &[]).await;
        }
        attempts::Found::Missing => return Err(LoginError::AttemptGone),
    };
    at.check(&attempt).await?;
    let credential = webauthn_step::credential(&attempt.sealed.step, fields);
    let input = webauthn_step::input(credential.as_ref(), fields);
    let state = attempt.sealed.state.clone();
    let run = source.advance(&services.source, state, input);
    let advance = match throttle::guarded(services, &trier, now, run).await? {
        Ok(a) => a,
        Err(b) => {
            return throttle::try_later(services, return_to, client_name, &req, b, &[]).await;
        }
    };
    match advance {
        Advance::Refused(refusal) if credential.is_some() => {
            attempts::delete(services.store(), &attempt.handle_hash).await?;
            refused(services, return_to, client_name, &req, refusal, &[]).await
        }
        Advance::Refused(refusal @ Refusal::Rejected { .. })
            if matches!(attempt.sealed.step, Step::Form(_)) && attempt.tries < MAX_TRIES =>
        {
            // Try the same step again; the try was counted.
            let Step::Form(form) = attempt.sealed.step else {
                unreachable!("matched above")
            };
            Ok(Outcome::Step(at.view(
                form,
                Some(handle.to_owned()),
                Some(Notice::Refused(refusal)),
            )))
        }
        Advance::Refused(Refusal::Rejected { source_id, .. }) => {
            attempts::delete(services.store(), &attempt.handle_hash).await?;
            let refusal = Refusal::TooManyAttempts { source_id };
            refused(services, return_to, client_name, &req, refusal, &[]).await
        }
        other => {
            // Finished, failed or moved on: this handle is done (taken once).
            if !attempts::delete(services.store(), &attempt.handle_hash).await? {
                return Err(LoginError::AttemptGone);
            }
            at.after(other, signed_in, client_name, &req).await
        }
    }
}

/// `/login/{source_id}/callback`: another origin sends the browser back with the
/// attempt's handle (`state` from an upstream provider, or `handoff`).
pub async fn callback(
    services: &LoginServices<'_>,
    source_id: &str,
    params: &[(String, String)],
    browser_binding: &str,
    signed_in: SignedInAs<'_>,
    now: i64,
) -> Result<Outcome, LoginError> {
    let handle = params
        .iter()
        .find(|(k, _)| k == "state" || k == "handoff")
        .map(|(_, v)| v.as_str())
        .ok_or(LoginError::AttemptGone)?;
    let attempt = match attempts::take(services.store(), services.secrets, handle, now).await? {
        attempts::Found::Attempt(a) => a,
        _ => return Err(LoginError::AttemptGone),
    };
    let source = services
        .sources
        .get(source_id)
        .ok_or(LoginError::NotOffered)?;
    let return_to = attempt.return_to.clone();
    let (client_name, req) = context(services, &return_to, browser_binding, now).await?;
    let at = At {
        services,
        source,
        return_to: &return_to,
        browser_binding,
        requirements: &req,
        now,
    };
    at.check(&attempt).await?;
    let advance = source
        .advance(
            &services.source,
            attempt.sealed.state,
            Input::Returned(params),
        )
        .await;
    at.after(advance, signed_in, client_name, &req).await
}

async fn refused(
    services: &LoginServices<'_>,
    return_to: &ReturnTo,
    client_name: Option<String>,
    req: &LoginRequirements,
    refusal: Refusal,
    typed: &[(String, String)],
) -> Result<Outcome, LoginError> {
    tracing::info!(source = refusal.source_id(), "login refused: {refusal}");
    if let Refusal::Unavailable { source_id, detail } = refusal {
        return Err(LoginError::SourceUnavailable { source_id, detail });
    }
    Ok(Outcome::Choose {
        chooser: chooser_for(services, return_to, client_name, req, typed).await?,
        notice: Notice::Refused(refusal),
    })
}

/// One attempt's surroundings.
struct At<'a> {
    services: &'a LoginServices<'a>,
    source: &'a Source,
    return_to: &'a ReturnTo,
    browser_binding: &'a str,
    requirements: &'a LoginRequirements,
    now: i64,
}

impl At<'_> {
    fn view(&self, form: Form, attempt: Option<String>, notice: Option<Notice>) -> StepView {
        StepView {
            return_to: self.return_to.clone(),
            source_id: self.source.id().to_owned(),
            display_name: self.source.display_name().clone(),
            form,
            attempt,
            notice,
            ui_locales: self.requirements.ui_locales.clone(),
            redirect_origin: self.requirements.redirect_origin.clone(),
            webauthn: None,
        }
    }

    /// The attempt belongs to this source, request and browser; otherwise it is ended.
    async fn check(&self, attempt: &attempts::Attempt) -> Result<(), LoginError> {
        let same_browser = crate::crypto::constant_time_eq(
            attempt.browser_binding.as_bytes(),
            self.browser_binding.as_bytes(),
        );
        if attempt.source_id != self.source.id() || &attempt.return_to != self.return_to {
            attempts::delete(self.services.store(), &attempt.handle_hash).await?;
            return Err(LoginError::AttemptGone);
        }
        if !same_browser {
            attempts::delete(self.services.store(), &attempt.handle_hash).await?;
            return Err(LoginError::WrongBrowser);
        }
        Ok(())
    }

    /// Shows a step; its state is stored under `handle` unless there is none to keep.
    async fn present(
        &self,
        handle: &str,
        step: Step,
        state: AttemptState,
    ) -> Result<Outcome, LoginError> {
        if let (Step::Form(form), true) = (&step, state.is_stateless()) {
            return Ok(Outcome::Step(self.view(form.clone(), None, None)));
        }
        let p = self.services;
        let expires_at = self.now + p.session.login_timeout.as_secs() as i64;
        let sealed = attempts::Sealed { state, step };
        attempts::store(
            p.store(),
            p.secrets,
            handle,
            self.source.id(),
            self.return_to,
            self.browser_binding,
            &sealed,
            self.now,
            expires_at,
        )
        .await?;
        match sealed.step {
            Step::Form(form) => Ok(Outcome::Step(self.view(
                form,
                Some(handle.to_owned()),
                None,
            ))),
            Step::Redirect { url } => Ok(Outcome::Away(url)),
            Step::WebAuthn { options } => Ok(Outcome::Step(webauthn_step::view(
                self.view(webauthn_step::form(), Some(handle.to_owned()), None),
                options,
            ))),
        }
    }

    /// After a step whose attempt is already ended: go on, sign in, or say why not.
    async fn after(
        &self,
        advance: Advance,
        signed_in: SignedInAs<'_>,
        client_name: Option<String>,
        req: &LoginRequirements,
    ) -> Result<Outcome, LoginError> {
        match advance {
            Advance::Continue { step, state } => {
                // A new handle for the next step: each one is good once.
                let handle = crate::random::token();
                self.present(handle.expose(), step, state).await
            }
            Advance::Verified(v) => self.sign_in(v, signed_in, client_name, req).await,
            Advance::Refused(refusal) => {
                refused(
                    self.services,
                    self.return_to,
                    client_name,
                    req,
                    refusal,
                    &[],
                )
                .await
            }
        }
    }

    /// `identity` makes the account and session; `oidc` finishes the request.
    async fn sign_in(
        &self,
        verified: crate::model::VerifiedIdentity,
        signed_in: SignedInAs<'_>,
        client_name: Option<String>,
        req: &LoginRequirements,
    ) -> Result<Outcome, LoginError> {
        let p = self.services;
        let lifetime_secs = p.session.lifetime.as_secs() as i64;
        let done = match identity::sign_in(
            p.store(),
            lifetime_secs,
            &verified,
            self.source.link_policy(),
            signed_in.current,
            signed_in.user_agent,
            self.now,
        )
        .await
        {
            Ok(done) => done,
            Err(IdentityError::Store(e)) => return Err(e.into()),
            Err(IdentityError::NoAccount { source_id }) => {
                tracing::info!(source = %source_id, "login verified, but no account has it");
                return Ok(Outcome::Choose {
                    chooser: chooser_for(p, self.return_to, client_name, req, &[]).await?,
                    notice: Notice::NoAccount { source_id },
                });
            }
        };
        // Someone else signed in on this browser: the previous person's portals hear of it.
        if let Some(previous) = &done.displaced {
            crate::oidc::logout::end_session(
                p.store(),
                p.tokens,
                p.backchannel,
                previous,
                self.now,
            )
            .await
            .map_err(|e| {
                LoginError::Flow(FlowError::Authorize(
                    crate::oidc::authorize::AuthorizeError::Page(e),
                ))
            })?;
        }
        let next = match self.return_to {
            ReturnTo::Authorization(id) => Next::Authorization(
                flow::finish_login(&p.flow, id, self.browser_binding, &done.session, self.now)
                    .await?,
            ),
            ReturnTo::Account => Next::AccountPage,
        };
        Ok(Outcome::SignedIn {
            next,
            session_token: done.token,
        })
    }
}
