//! Local accounts: a username and an argon2id password. One form, no state between
//! requests.

use serde::{Deserialize, Serialize};

use super::{
    Advance, BeginContext, Field, FieldKind, Form, Input, Refusal, Rejection, SourceServices, Step,
};
use crate::config::SourceConfig;
use crate::model::{VerifiedIdentity, message_id};
use crate::secret::Secret;

#[derive(Debug, Clone)]
pub struct PasswordSource {
    pub config: SourceConfig,
}

/// Nothing to keep: the form is the whole ceremony.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {}

impl PasswordSource {
    pub fn new(config: &SourceConfig) -> Self {
        PasswordSource {
            config: config.clone(),
        }
    }

    /// The form, with the username filled in from a `login_hint` (or what was typed).
    pub fn form(username: &str) -> Form {
        Form {
            fields: vec![
                Field {
                    name: "username".into(),
                    label: message_id("login-username").into(),
                    kind: FieldKind::Text,
                    autocomplete: "username".into(),
                    value: username.to_owned(),
                },
                Field {
                    name: "password".into(),
                    label: message_id("login-password").into(),
                    kind: FieldKind::Password,
                    autocomplete: "current-password".into(),
                    value: String::new(),
                },
            ],
            submit: message_id("login-submit").into(),
            secondary: None,
        }
    }

    pub fn begin(&self, ctx: &BeginContext<'_>) -> super::Begin {
        super::Begin {
            step: Step::Form(Self::form(ctx.login_hint.unwrap_or_default())),
            state: super::AttemptState::Password(State {}),
        }
    }

    pub async fn advance(&self, services: &SourceServices<'_>, input: Input<'_>) -> Advance {
        let source_id = || self.config.id.clone();
        let rejected = |reason| {
            Advance::Refused(Refusal::Rejected {
                source_id: source_id(),
                reason,
            })
        };
        let username = input.get("username").unwrap_or_default().trim();
        let password = Secret::new(input.get("password").unwrap_or_default());
        if username.is_empty() {
            return rejected(Rejection::Incomplete { field: "username" });
        }
        if password.expose().is_empty() {
            return rejected(Rejection::Incomplete { field: "password" });
        }
        let stored = match services.store.accounts().password_hash(username).await {
            Ok(stored) => stored,
            Err(e) => {
                return Advance::Refused(Refusal::Unavailable {
                    source_id: source_id(),
                    detail: e.to_string(),
                });
            }
        };
        // An unknown username costs the same hash as a known one. A failure to hash (a
        // corrupt stored hash, a cancelled task) is an outage, not a wrong password.
        match services
            .passwords
            .verify(&password, stored.as_deref())
            .await
        {
            Ok(true) => Advance::Verified(VerifiedIdentity {
                source_id: source_id(),
                subject: username.to_owned(),
                loa: self.config.loa,
                amr: vec!["pwd".to_owned()],
                attributes: Vec::new(),
            }),
            Ok(false) => rejected(Rejection::BadCredentials),
            Err(e) => Advance::Refused(Refusal::Unavailable {
                source_id: source_id(),
                detail: e.to_string(),
            }),
        }
    }
}
