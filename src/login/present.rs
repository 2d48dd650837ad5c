//! One attempt's surroundings: showing a step (sealing its state under a handle),
//! going on after a step, signing in through `identity`, and saying why not.

use super::{
    LoginError, LoginServices, Next, Notice, Outcome, ReturnTo, SignedInAs, StepView, attempts,
    callback_url, chooser_for, eligible,
};
use crate::identity::{self, IdentityError};
use crate::oidc::flow::{self, FlowError, LoginRequirements};
use crate::sources::{Advance, AttemptState, BeginContext, Form, Refusal, Rejection, Source, Step};

pub(super) async fn refused(
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
pub(super) struct At<'a> {
    pub services: &'a LoginServices<'a>,
    pub source: &'a Source,
    pub return_to: &'a ReturnTo,
    pub browser_binding: &'a str,
    pub requirements: &'a LoginRequirements,
    pub now: i64,
}

impl At<'_> {
    pub fn view(&self, form: Form, attempt: Option<String>, notice: Option<Notice>) -> StepView {
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
    pub async fn check(&self, attempt: &attempts::Attempt) -> Result<(), LoginError> {
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
    pub async fn present(
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
            Step::WebAuthn { options } => Ok(Outcome::Step(super::webauthn_step::view(
                self.view(super::webauthn_step::form(), Some(handle.to_owned()), None),
                options,
            ))),
        }
    }

    /// After a step whose attempt is already ended: go on, sign in, or say why not.
    pub async fn after(
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
            Advance::Restart { login_hint } => self.restart(&login_hint, client_name, req).await,
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

    /// Begins again with the number the person typed, at the operator serving it: this
    /// source if it does, else another one this request may use (the number decides,
    /// since the approval goes to that phone). No operator serving it: the number page
    /// again, saying so.
    async fn restart(
        &self,
        login_hint: &str,
        client_name: Option<String>,
        req: &LoginRequirements,
    ) -> Result<Outcome, LoginError> {
        let p = self.services;
        let source = std::iter::once(self.source)
            .chain(eligible(p, self.return_to, req))
            .find(|s| s.serves_number(login_hint) && s.meets(req.min_loa, Some(login_hint)));
        let (source, login_hint, notice) = match source {
            Some(s) => (s, Some(login_hint), None),
            None => {
                let reason = Rejection::NoOperator;
                let source_id = self.source.id().to_owned();
                (
                    self.source,
                    None,
                    Some(Refusal::Rejected { source_id, reason }),
                )
            }
        };
        let handle = crate::random::token();
        let begun = source
            .begin(&BeginContext {
                handle: handle.expose(),
                callback_url: &callback_url(p, source.id()),
                login_hint,
                conditional: false,
            })
            .await;
        let at = At { source, ..*self };
        let begun = match begun {
            Ok(b) => b,
            Err(refusal) => {
                return refused(p, self.return_to, client_name, req, refusal, &[]).await;
            }
        };
        match at.present(handle.expose(), begun.step, begun.state).await? {
            Outcome::Step(mut view) if notice.is_some() => {
                view.notice = notice.map(Notice::Refused);
                Ok(Outcome::Step(view))
            }
            other => Ok(other),
        }
    }

    /// `identity` makes the account and session; `oidc` finishes the request.
    pub async fn sign_in(
        &self,
        verified: crate::model::VerifiedIdentity,
        signed_in: SignedInAs<'_>,
        client_name: Option<String>,
        req: &LoginRequirements,
    ) -> Result<Outcome, LoginError> {
        let p = self.services;
        if let ReturnTo::Link(account) = self.return_to {
            return self
                .link(account, verified, signed_in, client_name, req)
                .await;
        }
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
            Err(IdentityError::PhoneAmbiguous { source_id }) => {
                tracing::info!(source = %source_id, "login verified, but several accounts hold its number");
                return Ok(Outcome::Choose {
                    chooser: chooser_for(p, self.return_to, client_name, req, &[]).await?,
                    notice: Notice::PhoneAmbiguous { source_id },
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
            ReturnTo::Account | ReturnTo::Link(_) => Next::AccountPage,
        };
        Ok(Outcome::SignedIn {
            next,
            session_token: done.token,
        })
    }

    /// Links the verified login to the account that began the link, which must still be
    /// the browser's; `identity` refuses a login another account has.
    async fn link(
        &self,
        account: &str,
        verified: crate::model::VerifiedIdentity,
        signed_in: SignedInAs<'_>,
        client_name: Option<String>,
        req: &LoginRequirements,
    ) -> Result<Outcome, LoginError> {
        if signed_in
            .current
            .is_none_or(|s| s.account_id.as_str() != account)
        {
            return Err(LoginError::AttemptGone);
        }
        let p = self.services;
        match identity::link(p.store(), account, &verified, self.now).await {
            Ok(()) => Ok(Outcome::Linked {
                source_id: verified.source_id,
            }),
            Err(identity::LinkError::Elsewhere) => Ok(Outcome::Choose {
                chooser: chooser_for(p, self.return_to, client_name, req, &[]).await?,
                notice: Notice::LinkedElsewhere {
                    source_id: verified.source_id,
                },
            }),
            Err(identity::LinkError::Store(e)) => Err(e.into()),
        }
    }
}
