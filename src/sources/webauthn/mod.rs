//! Passkeys (`kind = "webauthn"`, webauthn-rs): sign-in with a discoverable credential
//! registered from `/account`. The relying party id is the issuer's host and the only
//! allowed origin the issuer's origin.
//!
//! `begin` answers a WebAuthn step (the request options, no credential list: the
//! authenticator offers the person's passkeys) with webauthn-rs's ceremony state as the
//! attempt's state, sealed in `login_attempts` and taken once by `login`, so a replayed
//! assertion finds no attempt. `advance` finds the passkey by its credential id, checks
//! that the user handle is the one it was registered with, verifies the assertion
//! (signature, challenge, origin, user verification required), writes back the counter
//! and backup flags, and vouches for the login (this source, the user handle).
//!
//! `amr` (RFC 8176): `swk` for a backup-eligible (synchronised) passkey, whose key can
//! leave the device, else `hwk` (a device-bound key; no attestation is asked, so this
//! is what the authenticator's flags say, not a proof of hardware); plus `user`, since
//! every ceremony requires user verification and webauthn-rs refuses one without it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use webauthn_rs::Webauthn;
use webauthn_rs::prelude::{DiscoverableAuthentication, Passkey, PublicKeyCredential, Url};

use super::{Advance, BeginContext, Input, Refusal, Rejection, SourceServices, Step};
use crate::config::SourceConfig;
use crate::model::VerifiedIdentity;

mod registration;

pub use registration::{Registration, RegistrationError, RegistrationState};

#[derive(Clone)]
pub struct WebauthnSource {
    pub config: SourceConfig,
    webauthn: std::sync::Arc<Webauthn>,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
}

impl std::fmt::Debug for WebauthnSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebauthnSource")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The ceremony in progress: webauthn-rs's `DiscoverableAuthentication`, serialised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    ceremony: serde_json::Value,
}

/// The relying party for an issuer: its host as the rp id, its origin as the only
/// allowed origin.
pub fn relying_party(issuer: &str) -> Result<Webauthn, String> {
    let url = Url::parse(issuer).map_err(|e| format!("the issuer is not a URL: {e}"))?;
    let host = url
        .host_str()
        .ok_or_else(|| "the issuer has no host".to_owned())?
        .to_owned();
    let origin = Url::parse(&url.origin().ascii_serialization())
        .map_err(|e| format!("the issuer's origin: {e}"))?;
    webauthn_rs::WebauthnBuilder::new(&host, &origin)
        .and_then(|b| b.rp_name("Portico").build())
        .map_err(|e| format!("WebAuthn relying party for {host}: {e}"))
}

/// The user handle an account's passkeys carry: a UUID derived from the account id, so
/// every passkey of an account names the same WebAuthn user.
pub fn user_handle(account_id: &str) -> uuid::Uuid {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, account_id.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

impl WebauthnSource {
    /// `issuer` was validated at start-up (an https URL, or http on a loopback host),
    /// so the relying party always builds from it.
    pub fn new(config: &SourceConfig, deps: &super::SourceDeps<'_>) -> Self {
        let webauthn = relying_party(deps.issuer).expect("the issuer is a valid WebAuthn origin");
        WebauthnSource {
            config: config.clone(),
            webauthn: std::sync::Arc::new(webauthn),
            clock: deps.clock.clone(),
        }
    }

    pub fn relying_party(&self) -> &Webauthn {
        &self.webauthn
    }

    fn unavailable(&self, detail: impl std::fmt::Display) -> Refusal {
        Refusal::Unavailable {
            source_id: self.config.id.clone(),
            detail: detail.to_string(),
        }
    }

    fn rejected(&self) -> Advance {
        Advance::Refused(Refusal::Rejected {
            source_id: self.config.id.clone(),
            reason: Rejection::BadCredentials,
        })
    }

    pub fn begin(&self, ctx: &BeginContext<'_>) -> Result<super::Begin, Refusal> {
        let (mut options, ceremony) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| self.unavailable(e))?;
        // webauthn-rs asks for conditional mediation (autofill): kept when the login
        // page's script asks from the username field; a button asks with the browser's
        // own dialogue, which conditional mediation would never open.
        if !ctx.conditional {
            options.mediation = None;
        }
        let options = serde_json::to_value(&options).map_err(|e| self.unavailable(e))?;
        let ceremony = serde_json::to_value(&ceremony).map_err(|e| self.unavailable(e))?;
        Ok(super::Begin {
            step: Step::WebAuthn { options },
            state: super::AttemptState::Webauthn(State { ceremony }),
        })
    }

    pub async fn advance(
        &self,
        services: &SourceServices<'_>,
        state: State,
        input: Input<'_>,
    ) -> Advance {
        let now = self.clock.now();
        let Input::WebAuthn(credential) = input else {
            return self.rejected();
        };
        let Ok(credential) = serde_json::from_value::<PublicKeyCredential>(credential.clone())
        else {
            return self.rejected();
        };
        let ceremony: DiscoverableAuthentication = match serde_json::from_value(state.ceremony) {
            Ok(c) => c,
            Err(e) => return Advance::Refused(self.unavailable(e)),
        };
        let Ok((handle, credential_id)) = self
            .webauthn
            .identify_discoverable_authentication(&credential)
        else {
            return self.rejected();
        };
        let credential_id = URL_SAFE_NO_PAD.encode(credential_id);
        let stored = match services
            .store
            .passkeys()
            .by_credential_id(&credential_id)
            .await
        {
            Ok(Some(stored)) => stored,
            Ok(None) => return self.rejected(),
            Err(e) => return Advance::Refused(self.unavailable(e)),
        };
        if stored.user_handle != handle.to_string() {
            return self.rejected();
        }
        let mut passkey: Passkey = match serde_json::from_str(&stored.credential) {
            Ok(p) => p,
            Err(e) => return Advance::Refused(self.unavailable(e)),
        };
        let result = match self.webauthn.finish_discoverable_authentication_v2(
            &credential,
            ceremony,
            &passkey,
        ) {
            Ok(result) => result,
            Err(e) => {
                tracing::info!(source = %self.config.id, error = %e, "passkey assertion refused");
                return self.rejected();
            }
        };
        passkey.update_credential(&result);
        let updated = match serde_json::to_string(&passkey) {
            Ok(u) => u,
            Err(e) => return Advance::Refused(self.unavailable(e)),
        };
        if let Err(e) = services
            .store
            .passkeys()
            .record_use(
                &stored.id,
                &updated,
                i64::from(result.counter()),
                result.backup_eligible(),
                result.backup_state(),
                now,
            )
            .await
        {
            return Advance::Refused(self.unavailable(e));
        }
        let mut amr = vec![
            if result.backup_eligible() {
                "swk"
            } else {
                "hwk"
            }
            .to_owned(),
        ];
        if result.user_verified() {
            amr.push("user".to_owned());
        }
        Advance::Verified(VerifiedIdentity {
            source_id: self.config.id.clone(),
            subject: stored.user_handle,
            loa: self.config.loa,
            amr,
            attributes: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::Store;

    fn source() -> WebauthnSource {
        let config =
            Config::from_parts("[[sources]]\nid = \"passkey\"\nkind = \"webauthn\"\n", &[])
                .unwrap();
        let clock: std::sync::Arc<dyn crate::clock::Clock> =
            std::sync::Arc::new(crate::clock::SystemClock);
        let http = reqwest::Client::new();
        let deps = super::super::SourceDeps {
            http: &http,
            issuer: "http://localhost:8080/",
            clock: &clock,
        };
        WebauthnSource::new(&config.sources[0], &deps)
    }

    #[test]
    fn the_relying_party_is_the_issuers_host_and_origin() {
        let rp = relying_party("https://id.example.gov/").unwrap();
        assert_eq!(
            rp.get_allowed_origins()
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>(),
            ["https://id.example.gov/"]
        );
        let begun = source()
            .begin(&BeginContext {
                handle: "h",
                callback_url: "http://localhost:8080/login/passkey/callback",
                login_hint: None,
                conditional: false,
            })
            .unwrap();
        let Step::WebAuthn { options } = begun.step else {
            panic!("not a WebAuthn step: {:?}", begun.step);
        };
        let public_key = &options["publicKey"];
        assert_eq!(public_key["rpId"], "localhost");
        assert_eq!(public_key["userVerification"], "required");
        // Discoverable: no credential list; a button, so no conditional mediation.
        assert!(
            public_key["allowCredentials"]
                .as_array()
                .is_none_or(|a| a.is_empty())
        );
        assert!(options.get("mediation").is_none_or(|m| m.is_null()));
        assert!(
            public_key["challenge"]
                .as_str()
                .is_some_and(|c| c.len() >= 22)
        );
        let autofill = source()
            .begin(&BeginContext {
                handle: "h",
                callback_url: "",
                login_hint: None,
                conditional: true,
            })
            .unwrap();
        let Step::WebAuthn { options } = autofill.step else {
            panic!("not a WebAuthn step: {:?}", autofill.step);
        };
        assert_eq!(options["mediation"], "conditional");
        assert_ne!(options["publicKey"]["challenge"], public_key["challenge"]);
    }

    #[tokio::test]
    async fn what_is_not_a_passkey_assertion_is_refused_as_bad_credentials() {
        let source = source();
        let store = Store::in_memory().await;
        let passwords = crate::crypto::password::PasswordHasherPool::new(
            &Config::from_parts("", &[]).unwrap().password,
        )
        .unwrap();
        let http = reqwest::Client::new();
        struct NoTexts;
        impl crate::sources::SmsTexts for NoTexts {
            fn code_message(&self, _: crate::config::Lang, _: &str, _: i64) -> String {
                unreachable!("a passkey sends no message")
            }
        }
        let services = SourceServices {
            store: &store,
            passwords: &passwords,
            http: &http,
            sms_texts: &NoTexts,
        };
        let ctx = BeginContext {
            handle: "h",
            callback_url: "",
            login_hint: None,
            conditional: false,
        };
        let super::super::AttemptState::Webauthn(state) = source.begin(&ctx).unwrap().state else {
            panic!("not a passkey state");
        };
        let not_a_credential = serde_json::json!({"id": "x"});
        let advance = source
            .advance(&services, state, Input::WebAuthn(&not_a_credential))
            .await;
        assert!(
            matches!(
                advance,
                Advance::Refused(Refusal::Rejected {
                    reason: Rejection::BadCredentials,
                    ..
                })
            ),
            "{advance:?}"
        );
    }
}
