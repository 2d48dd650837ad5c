//! A source for the end-to-end tests only (feature `test-sources`): a redirect to
//! another origin that comes back with the hand-off token, then a form asking a code,
//! then a verified identity. It exercises every part of the contract a real ceremony
//! uses (state across requests and nodes, a one-time hand-off, a retried form).

use serde::{Deserialize, Serialize};

use super::{Advance, BeginContext, Field, FieldKind, Form, Input, Refusal, Rejection, Step};
use crate::config::{SourceConfig, TestTwoStepConfig};
use crate::model::{Attribute, VerifiedIdentity, message_id};

#[derive(Debug, Clone)]
pub struct TestTwoStepSource {
    pub config: SourceConfig,
    pub kind: TestTwoStepConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// Sent to the other origin with this nonce, which must come back.
    AwaitingReturn {
        nonce: String,
    },
    AwaitingCode,
}

impl TestTwoStepSource {
    pub fn new(config: &SourceConfig, kind: &TestTwoStepConfig) -> Self {
        TestTwoStepSource {
            config: config.clone(),
            kind: kind.clone(),
        }
    }

    pub fn begin(&self, ctx: &BeginContext<'_>) -> super::Begin {
        let nonce = crate::random::token().expose().to_owned();
        let mut url = self.kind.other_origin.clone();
        url.query_pairs_mut()
            .append_pair("handoff", ctx.handle)
            .append_pair("nonce", &nonce)
            .append_pair("return", ctx.callback_url);
        super::Begin {
            step: Step::Redirect { url: url.into() },
            state: super::AttemptState::TestTwoStep(State::AwaitingReturn { nonce }),
        }
    }

    pub fn advance(&self, state: State, input: Input<'_>) -> Advance {
        let refuse = |reason| {
            Advance::Refused(Refusal::Rejected {
                source_id: self.config.id.clone(),
                reason,
            })
        };
        match (state, input) {
            (State::AwaitingReturn { nonce }, Input::Returned(_)) => {
                if input.get("nonce") != Some(nonce.as_str()) {
                    return refuse(Rejection::WrongAnswer);
                }
                Advance::Continue {
                    step: Step::Form(Form {
                        fields: vec![Field {
                            name: "code".into(),
                            label: message_id("login-code").into(),
                            kind: FieldKind::OneTimeCode,
                            autocomplete: "one-time-code".into(),
                            value: String::new(),
                        }],
                        submit: message_id("login-submit").into(),
                        secondary: None,
                    }),
                    state: super::AttemptState::TestTwoStep(State::AwaitingCode),
                }
            }
            (State::AwaitingCode, Input::Form(_)) => {
                let given = input.get("code").unwrap_or_default();
                if !crate::crypto::constant_time_eq(given.as_bytes(), self.kind.code.as_bytes()) {
                    return refuse(Rejection::WrongAnswer);
                }
                Advance::Verified(VerifiedIdentity {
                    source_id: self.config.id.clone(),
                    subject: self.kind.subject.clone(),
                    loa: self.config.loa,
                    amr: vec!["otp".into()],
                    attributes: self
                        .kind
                        .attributes
                        .iter()
                        .map(|(claim, value)| Attribute {
                            claim: claim.clone(),
                            value: value.clone(),
                            verified: true,
                        })
                        .collect(),
                })
            }
            // A step's answer came by the wrong way (a form for a redirect step...).
            _ => Advance::Refused(Refusal::Expired {
                source_id: self.config.id.clone(),
            }),
        }
    }
}
