//! `[[sources]]`: one table per identity source, a variant per `kind` with its own keys.
//! Unknown keys are refused per kind (each variant's raw struct denies them), naming
//! the key.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{ConfigError, err};
use crate::model::{Loa, message_id};

mod oidc;

pub use oidc::{ATTRIBUTES, MobileConnect, OidcSourceConfig, SecretMethod, UpstreamClientAuth};

/// A configured identity source: what every kind has, and its kind's own settings.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub id: String,
    pub display_name: DisplayName,
    /// Sent as `acr` = `urn:portico:loa:N` for logins at this source.
    pub loa: Loa,
    pub kind: SourceKindConfig,
}

/// What a person reads as the source's name: a catalogue message (the built-in
/// sources' default), or the operator's text in each language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisplayName {
    Message(&'static str),
    Text { vi: String, en: String },
}

#[derive(Debug, Clone)]
pub enum SourceKindConfig {
    Password(PasswordSourceConfig),
    /// An upstream OpenID provider (Portico is its relying party).
    Oidc(OidcSourceConfig),
    /// A two-step source that exists only in test builds: it shows that the contract
    /// carries a ceremony across requests, nodes and another origin.
    #[cfg(feature = "test-sources")]
    TestTwoStep(TestTwoStepConfig),
    /// Certificate login on a TLS listener of its own (`config::x509`).
    X509(Box<super::x509::X509SourceConfig>),
    /// A six-digit code by text message to a mobile number (`config::sms_otp`).
    SmsOtp(Box<super::sms_otp::SmsOtpSourceConfig>),
    /// Passkeys (WebAuthn discoverable credentials) registered from `/account`.
    Webauthn(WebauthnSourceConfig),
}

impl SourceKindConfig {
    pub fn name(&self) -> &'static str {
        match self {
            SourceKindConfig::Password(_) => "password",
            SourceKindConfig::Oidc(_) => "oidc",
            #[cfg(feature = "test-sources")]
            SourceKindConfig::TestTwoStep(_) => "test_two_step",
            SourceKindConfig::X509(_) => "x509",
            SourceKindConfig::SmsOtp(_) => "sms_otp",
            SourceKindConfig::Webauthn(_) => "webauthn",
        }
    }
}

/// Passkeys: the relying party id and the allowed origin are the issuer's host and
/// origin; nothing else to configure.
#[derive(Debug, Clone, Default)]
pub struct WebauthnSourceConfig {}

/// Local accounts: nothing of its own to configure yet.
#[derive(Debug, Clone, Default)]
pub struct PasswordSourceConfig {}

#[cfg(feature = "test-sources")]
#[derive(Debug, Clone)]
pub struct TestTwoStepConfig {
    /// Where the first step sends the browser (a page of "another origin" that the test
    /// plays), with the one-time hand-off token.
    pub other_origin: url::Url,
    /// The code the second step's form must be given.
    pub code: String,
    /// The subject the source vouches for.
    pub subject: String,
    /// Attributes asserted (claim = value), all verified.
    pub attributes: BTreeMap<String, String>,
    pub trusted_for_linking: bool,
    /// May a login no account knows create one?
    pub creates_accounts: bool,
}

/// The raw table as written, tagged by `kind`.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum RawSource {
    Password(RawPassword),
    #[cfg(feature = "test-sources")]
    TestTwoStep(RawTestTwoStep),
    Oidc(Box<oidc::RawOidc>),
    X509(Box<super::x509::RawX509>),
    SmsOtp(Box<super::sms_otp::RawSmsOtp>),
    Webauthn(RawWebauthn),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawDisplayName {
    One(String),
    PerLanguage(RawPerLanguage),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPerLanguage {
    vi: String,
    en: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPassword {
    id: String,
    /// default: "Username and password" from the catalogue
    display_name: Option<RawDisplayName>,
    /// default 2
    loa: Option<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebauthn {
    id: String,
    /// default: "Passkey" from the catalogue
    display_name: Option<RawDisplayName>,
    /// default 3
    loa: Option<u8>,
}

#[cfg(feature = "test-sources")]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTestTwoStep {
    id: String,
    display_name: Option<RawDisplayName>,
    loa: Option<u8>,
    other_origin: String,
    code: String,
    subject: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    trusted_for_linking: bool,
    creates_accounts: Option<bool>,
}

/// The default when no `[[sources]]` is given: local passwords.
fn default_sources() -> Vec<RawSource> {
    vec![RawSource::Password(RawPassword {
        id: "password".to_owned(),
        display_name: None,
        loa: None,
    })]
}

fn display_name(raw: Option<RawDisplayName>, default: &'static str) -> DisplayName {
    match raw {
        None => DisplayName::Message(default),
        Some(RawDisplayName::One(text)) => DisplayName::Text {
            vi: text.clone(),
            en: text,
        },
        Some(RawDisplayName::PerLanguage(p)) => DisplayName::Text { vi: p.vi, en: p.en },
    }
}

fn loa(key: &str, raw: Option<u8>) -> Result<Loa, ConfigError> {
    Loa::new(raw.unwrap_or(2)).ok_or_else(|| err(key, "must be a level of assurance from 1 to 4"))
}

pub(super) fn validate(raw: Option<Vec<RawSource>>) -> Result<Vec<SourceConfig>, ConfigError> {
    let raw = raw.unwrap_or_else(default_sources);
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for (i, s) in raw.into_iter().enumerate() {
        let key = |field: &str| format!("sources[{i}].{field}");
        let source = match s {
            RawSource::Password(p) => SourceConfig {
                display_name: display_name(p.display_name, message_id("source-password")),
                loa: loa(&key("loa"), p.loa)?,
                id: p.id,
                kind: SourceKindConfig::Password(PasswordSourceConfig {}),
            },
            #[cfg(feature = "test-sources")]
            RawSource::TestTwoStep(t) => SourceConfig {
                display_name: display_name(t.display_name, message_id("source-password")),
                loa: loa(&key("loa"), t.loa)?,
                id: t.id,
                kind: SourceKindConfig::TestTwoStep(TestTwoStepConfig {
                    other_origin: url::Url::parse(&t.other_origin)
                        .map_err(|e| err(key("other_origin"), format!("not a URL: {e}")))?,
                    code: t.code,
                    subject: t.subject,
                    attributes: t.attributes,
                    trusted_for_linking: t.trusted_for_linking,
                    creates_accounts: t.creates_accounts.unwrap_or(true),
                }),
            },
            RawSource::Oidc(mut o) => SourceConfig {
                display_name: match o.display_name.take() {
                    None => {
                        return Err(err(
                            key("display_name"),
                            "is needed: the name people see on the login page (text, or { vi = \"...\", en = \"...\" })",
                        ));
                    }
                    raw => display_name(raw, message_id("source-password")),
                },
                loa: loa(&key("loa"), o.loa)?,
                id: o.id.clone(),
                kind: SourceKindConfig::Oidc(oidc::validate(&key, *o)?),
            },
            RawSource::X509(mut x) => {
                let loa = Loa::new(x.loa.unwrap_or(4))
                    .ok_or_else(|| err(key("loa"), "must be a level of assurance from 1 to 4"))?;
                SourceConfig {
                    display_name: display_name(x.display_name.take(), message_id("source-x509")),
                    loa,
                    id: x.id.clone(),
                    kind: SourceKindConfig::X509(Box::new(super::x509::validate(key, loa, *x)?)),
                }
            }
            RawSource::SmsOtp(mut m) => SourceConfig {
                display_name: display_name(m.display_name.take(), message_id("source-sms-otp")),
                loa: loa(&key("loa"), m.loa)?,
                id: m.id.clone(),
                kind: SourceKindConfig::SmsOtp(Box::new(super::sms_otp::validate(&key, *m)?)),
            },
            RawSource::Webauthn(w) => SourceConfig {
                display_name: display_name(w.display_name, message_id("source-webauthn")),
                loa: Loa::new(w.loa.unwrap_or(3))
                    .ok_or_else(|| err(key("loa"), "must be a level of assurance from 1 to 4"))?,
                id: w.id,
                kind: SourceKindConfig::Webauthn(WebauthnSourceConfig {}),
            },
        };
        if source.id.is_empty()
            || !source
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(err(
                key("id"),
                "must be non-empty letters, digits, `-` or `_`",
            ));
        }
        if seen.insert(source.id.clone(), i).is_some() {
            return Err(err(
                key("id"),
                format!("`{}` is used twice; ids must be unique", source.id),
            ));
        }
        out.push(source);
    }
    if out.is_empty() {
        return Err(err("sources", "at least one identity source is needed"));
    }
    Ok(out)
}

/// A passkey source's relying party id is the issuer's host, which WebAuthn requires
/// to be a domain name: an issuer on an IP address cannot have one.
pub(super) fn check_webauthn_issuer(
    sources: &[SourceConfig],
    issuer: &url::Url,
) -> Result<(), ConfigError> {
    let on_ip = !matches!(issuer.host(), Some(url::Host::Domain(_)));
    match sources
        .iter()
        .position(|s| matches!(s.kind, SourceKindConfig::Webauthn(_)))
    {
        Some(i) if on_ip => Err(err(
            format!("sources[{i}].kind"),
            "a webauthn source needs the issuer on a domain name (passkeys take no IP \
             address as relying party id); set issuer to https://your.domain (or \
             http://localhost:PORT for development)",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn each_kind_refuses_keys_it_does_not_have() {
        let e = Config::from_parts(
            "[[sources]]\nid = \"p\"\nkind = \"password\"\nissuer = \"https://x\"\n",
            &[],
        )
        .unwrap_err();
        assert!(e.key.starts_with("sources[0]"), "{e}");
        assert!(e.message.contains("issuer"), "{e}");
        let e = Config::from_parts("[[sources]]\nid = \"p\"\nkind = \"carrier_pigeon\"\n", &[])
            .unwrap_err();
        assert!(e.message.contains("carrier_pigeon"), "{e}");
        // A kind's required keys are named when missing.
        let e = Config::from_parts("[[sources]]\nid = \"p\"\nkind = \"x509\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "sources[0]", "{e}");
        assert!(e.message.contains("listen"), "{e}");
    }

    #[test]
    fn a_webauthn_source_defaults_to_level_3_and_refuses_other_keys() {
        let c = Config::from_parts(
            "[[sources]]\nid = \"passkey\"\nkind = \"webauthn\"\ndisplay_name = \"Passkey\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.sources[0].loa.level(), 3);
        assert_eq!(c.sources[0].kind.name(), "webauthn");
        let c = Config::from_parts(
            "[[sources]]\nid = \"pk\"\nkind = \"webauthn\"\nloa = 4\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.sources[0].loa.level(), 4);
        assert_eq!(
            c.sources[0].display_name,
            super::DisplayName::Message("source-webauthn")
        );
        let e = Config::from_parts(
            "[[sources]]\nid = \"pk\"\nkind = \"webauthn\"\nrp_name = \"x\"\n",
            &[],
        )
        .unwrap_err();
        assert!(e.key.starts_with("sources[0]"), "{e}");
        assert!(e.message.contains("rp_name"), "{e}");
        let e = Config::from_parts(
            "[[sources]]\nid = \"pk\"\nkind = \"webauthn\"\nloa = 5\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.key, "sources[0].loa");
    }

    #[test]
    fn a_display_name_is_one_text_or_one_per_language() {
        use super::DisplayName;
        let c = Config::from_parts(
            "[[sources]]\nid = \"a\"\nkind = \"password\"\ndisplay_name = \"Tài khoản\"\n\
             [[sources]]\nid = \"b\"\nkind = \"password\"\ndisplay_name = { vi = \"Mật khẩu\", en = \"Password\" }\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            c.sources[1].display_name,
            DisplayName::Text {
                vi: "Mật khẩu".into(),
                en: "Password".into()
            }
        );
        assert_eq!(c.sources[0].loa.level(), 2);
        let c = Config::from_parts("", &[]).unwrap();
        assert_eq!(
            c.sources[0].display_name,
            DisplayName::Message("source-password")
        );
    }
}
