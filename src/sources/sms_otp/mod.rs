//! `kind = "sms_otp"`: a six-digit code sent by text message to a mobile number.
//!
//! Two pages, one question each: the number (normalised to E.164, `number.rs`), then
//! the code. The code comes from the operating system's CSPRNG; only its HMAC-SHA-256
//! under a random key of the attempt is kept, in the attempt's sealed state, and it is
//! compared in constant time. It is good for [`CODE_LIFETIME_SECS`]. Wrong tries are
//! counted by `login` (five, then the attempt is deleted and the sixth is refused even
//! if right). The code page's second button sends a new code: not within
//! [`store::SendLimits::min_interval_secs`] of the last message to that number, and
//! within the hourly limits per number, per client address and per source, which the
//! database keeps (`sms_sends`) so that every node counts the same. The client's
//! address comes in the step's [`StepContext`], which `login` fills from the request.

mod gateway;
pub mod number;

use std::sync::Arc;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::{
    Advance, BeginContext, Field, FieldKind, Form, Input, Refusal, Rejection, SourceServices, Step,
    StepContext,
};
use crate::clock::Clock;
use crate::config::{Lang, SmsOtpSourceConfig, SourceConfig};
use crate::model::{Attribute, VerifiedIdentity, message_id};
use crate::store::{Reserved, SendKey, SendLimits};

/// How long a code is good for.
pub const CODE_LIFETIME_SECS: i64 = 300;
/// No second message to a number within this many seconds.
pub const RESEND_AFTER_SECS: i64 = 60;
/// Codes one attempt may send (the first and the new ones asked for).
pub const SENDS_PER_ATTEMPT: u32 = 3;

/// The text of the message, in the person's language, from the catalogues (the
/// composition root supplies it: the catalogues live with the pages).
pub trait SmsTexts: Send + Sync {
    fn code_message(&self, lang: Lang, code: &str, minutes: i64) -> String;
}

#[derive(Clone)]
pub struct SmsOtpSource {
    pub config: SourceConfig,
    pub kind: SmsOtpSourceConfig,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SmsOtpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsOtpSource")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    AwaitingNumber,
    AwaitingCode {
        /// E.164.
        number: String,
        /// base64url of the attempt's random HMAC key.
        key: String,
        /// base64url of HMAC-SHA-256(key, code).
        mac: String,
        expires_at: i64,
        sends: u32,
    },
}

fn mac(key: &[u8], code: &str) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), code.as_bytes())
        .as_ref()
        .to_vec()
}

/// Six digits, uniform (rejection sampling over 32-bit draws).
fn six_digits() -> String {
    const LIMIT: u32 = u32::MAX - (u32::MAX % 1_000_000);
    loop {
        let n = u32::from_le_bytes(crate::random::bytes::<4>());
        if n < LIMIT {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

impl SmsOtpSource {
    pub fn new(config: &SourceConfig, kind: &SmsOtpSourceConfig, clock: &Arc<dyn Clock>) -> Self {
        if matches!(kind.gateway, crate::config::SmsGateway::Log) {
            tracing::warn!(source = %config.id, "sms_otp source with gateway = \"log\": codes are written to the log, not sent (development only)");
        }
        SmsOtpSource {
            config: config.clone(),
            kind: kind.clone(),
            clock: clock.clone(),
        }
    }

    fn number_form(value: &str) -> Form {
        Form {
            fields: vec![Field {
                name: "phone".into(),
                label: message_id("sms-number").into(),
                kind: FieldKind::Tel,
                autocomplete: "tel".into(),
                value: value.to_owned(),
            }],
            submit: message_id("sms-send-code").into(),
            secondary: None,
        }
    }

    fn code_form() -> Form {
        Form {
            fields: vec![Field {
                name: "code".into(),
                label: message_id("sms-code").into(),
                kind: FieldKind::OneTimeCode,
                autocomplete: "one-time-code".into(),
                value: String::new(),
            }],
            submit: message_id("login-submit").into(),
            secondary: Some(message_id("sms-resend").into()),
        }
    }

    pub fn begin(&self, ctx: &BeginContext<'_>) -> super::Begin {
        let hint = ctx
            .login_hint
            .and_then(|h| number::normalise(h, self.kind.numbers))
            .unwrap_or_default();
        super::Begin {
            step: Step::Form(Self::number_form(&hint)),
            state: super::AttemptState::SmsOtp(Box::new(State::AwaitingNumber)),
        }
    }

    fn refuse(&self, reason: Rejection) -> Advance {
        Advance::Refused(Refusal::Rejected {
            source_id: self.config.id.clone(),
            reason,
        })
    }

    pub async fn advance(
        &self,
        services: &SourceServices<'_>,
        context: StepContext,
        state: State,
        input: Input<'_>,
    ) -> Advance {
        let now = self.clock.now();
        match (state, input) {
            (State::AwaitingNumber, Input::Form(_)) => {
                let typed = input.get("phone").unwrap_or_default();
                if typed.trim().is_empty() {
                    return self.refuse(Rejection::Incomplete { field: "phone" });
                }
                let Some(number) = number::normalise(typed, self.kind.numbers) else {
                    return self.refuse(Rejection::NotAMobileNumber);
                };
                self.send(services, context, input, number, 0, now).await
            }
            (
                State::AwaitingCode {
                    number,
                    key,
                    mac: expected,
                    expires_at,
                    sends,
                },
                Input::Form(_),
            ) => {
                if input.get("action") == Some("secondary") {
                    if sends >= SENDS_PER_ATTEMPT {
                        return self.refuse(Rejection::SendLimit);
                    }
                    return self
                        .send(services, context, input, number, sends, now)
                        .await;
                }
                if now >= expires_at {
                    return Advance::Refused(Refusal::Expired {
                        source_id: self.config.id.clone(),
                    });
                }
                let given = input.get("code").unwrap_or_default().trim();
                let (Ok(key), Ok(expected)) = (
                    URL_SAFE_NO_PAD.decode(&key),
                    URL_SAFE_NO_PAD.decode(&expected),
                ) else {
                    return Advance::Refused(Refusal::Expired {
                        source_id: self.config.id.clone(),
                    });
                };
                if given.len() != 6
                    || !crate::crypto::constant_time_eq(&mac(&key, given), &expected)
                {
                    return self.refuse(Rejection::WrongAnswer);
                }
                Advance::Verified(VerifiedIdentity {
                    source_id: self.config.id.clone(),
                    subject: number.clone(),
                    loa: self.config.loa,
                    // RFC 8176: "sms", confirmation by a text message to the number.
                    amr: vec!["sms".into()],
                    attributes: vec![Attribute {
                        claim: "phone_number".into(),
                        value: number,
                        verified: true,
                    }],
                })
            }
            _ => Advance::Refused(Refusal::Expired {
                source_id: self.config.id.clone(),
            }),
        }
    }

    /// Sends a fresh code to `number` within the limits, and asks for it.
    async fn send(
        &self,
        services: &SourceServices<'_>,
        context: StepContext,
        input: Input<'_>,
        number: String,
        sends: u32,
        now: i64,
    ) -> Advance {
        let source_id = self.config.id.clone();
        let number_hash = crate::crypto::sha256_b64url(&number);
        let address_hash = context
            .client_address
            .map(|a| crate::crypto::sha256_b64url(&crate::model::address::counted_as(a)));
        let limits = SendLimits {
            min_interval_secs: RESEND_AFTER_SECS,
            per_number_per_hour: i64::from(self.kind.per_number_per_hour),
            per_source_per_hour: i64::from(self.kind.per_source_per_hour),
            per_address_per_hour: i64::from(self.kind.per_address_per_hour),
        };
        let sms = services.store.sms_sends();
        let key = SendKey {
            source_id: &source_id,
            number_hash: &number_hash,
            address_hash: address_hash.as_deref(),
        };
        match sms.reserve(key, limits, now).await {
            Ok(Reserved::Granted) => {}
            Ok(Reserved::TooSoon) => return self.refuse(Rejection::ResendTooSoon),
            Ok(Reserved::AddressLimit) => {
                // The log says which limit; the person's page says "too many messages".
                tracing::info!(source = %source_id, "sms_otp: the client address had its hourly share");
                return self.refuse(Rejection::SendLimit);
            }
            Ok(Reserved::NumberLimit | Reserved::SourceLimit) => {
                return self.refuse(Rejection::SendLimit);
            }
            Err(e) => {
                return Advance::Refused(Refusal::Unavailable {
                    source_id,
                    detail: e.to_string(),
                });
            }
        }
        let code = six_digits();
        let lang = match input.get("lang") {
            Some("en") => Lang::En,
            _ => Lang::Vi,
        };
        let text = services
            .sms_texts
            .code_message(lang, &code, CODE_LIFETIME_SECS / 60);
        if let Err(e) = gateway::send(
            services.http,
            &self.kind.gateway,
            self.kind.sender.as_deref(),
            self.kind.timeout,
            &number,
            &text,
        )
        .await
        {
            // Nothing went: the number may be tried again at once.
            let _ = sms.release(&number_hash, now).await;
            return Advance::Refused(Refusal::Unavailable {
                source_id,
                detail: format!("sending the code: {e}"),
            });
        }
        tracing::info!(source = %source_id, "sms_otp code sent");
        let key = crate::random::bytes::<32>();
        Advance::Continue {
            step: Step::Form(Self::code_form()),
            state: super::AttemptState::SmsOtp(Box::new(State::AwaitingCode {
                mac: URL_SAFE_NO_PAD.encode(mac(&key, &code)),
                key: URL_SAFE_NO_PAD.encode(key),
                number,
                expires_at: now + CODE_LIFETIME_SECS,
                sends: sends + 1,
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_six_digits() {
        for _ in 0..200 {
            let c = super::six_digits();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn the_mac_is_keyed() {
        assert_ne!(super::mac(b"k1", "123456"), super::mac(b"k2", "123456"));
        assert_eq!(super::mac(b"k1", "123456"), super::mac(b"k1", "123456"));
    }
}
