//! `kind = "oidc"`: an upstream OpenID provider Portico is the relying party of
//! (issue 19). Its keys are a contract with operators; see docs/configuration.md.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::{ConfigError, RawDisplayName, err};
use crate::crypto::{SigningAlg, SigningKey};
use crate::secret::Secret;

/// The Portico attributes a source may map an upstream claim to (the names of
/// `VerifiedIdentity.attributes`, as `identity/` reads them).
pub const ATTRIBUTES: [&str; 13] = [
    "given_name",
    "family_name",
    "name",
    "birthdate",
    "gender",
    "email",
    "phone_number",
    "national_id",
    "tax_code",
    "address",
    "place_of_birth",
    "nationalities",
    "middle_name",
];

/// Mapped when `[sources.claims]` is absent: the standard claims (OIDC Core 5.1) by
/// their own names. A national id is never guessed: it is mapped only when configured.
const DEFAULT_CLAIMS: [&str; 7] = [
    "given_name",
    "family_name",
    "name",
    "birthdate",
    "gender",
    "email",
    "phone_number",
];

#[derive(Debug, Clone)]
pub struct OidcSourceConfig {
    /// The upstream's issuer identifier; discovery is at
    /// `{issuer}/.well-known/openid-configuration`. Kept as written: the upstream's
    /// `iss` must be exactly this text (OIDC Discovery section 4.3).
    pub issuer: String,
    pub client_id: String,
    pub client_auth: UpstreamClientAuth,
    /// Always contains `openid`.
    pub scopes: Vec<String>,
    pub trusted_for_linking: bool,
    /// Portico attribute = upstream claim.
    pub claims: BTreeMap<String, String>,
    /// Read the upstream's userinfo endpoint when it has one.
    pub userinfo: bool,
    /// Each upstream call (discovery, JWKS, token, userinfo) is cut off after this.
    pub timeout: Duration,
    /// How long the discovery document and JWKS are reused before a refetch.
    pub discovery_ttl: Duration,
    /// `profile = "mobile_connect"`: a telecom operator (GSMA Mobile Connect).
    pub mobile_connect: Option<MobileConnect>,
}

/// A Mobile Connect operator: the numbers it serves and what its `acr` values mean.
#[derive(Debug, Clone)]
pub struct MobileConnect {
    /// E.164 prefixes (`+8496`...) of the numbers it serves.
    pub msisdn_prefixes: Vec<String>,
    /// Upstream `acr` value = Portico level (default `"2" = 2`, `"3" = 3`).
    pub acr_values: BTreeMap<String, u8>,
}

/// How Portico authenticates at the upstream's token endpoint.
#[derive(Debug, Clone)]
pub enum UpstreamClientAuth {
    /// `client_secret_basic`, or `client_secret_post` when the upstream's metadata
    /// lists only that (`method` forces one).
    Secret {
        secret: Secret,
        method: Option<SecretMethod>,
    },
    /// `private_key_jwt` (RFC 7523) signed with the key in `signing_key_file`; its
    /// `kid` is the RFC 7638 thumbprint (`portico sources list` prints the public JWK).
    PrivateKeyJwt {
        /// The PKCS#8 DER of the private key (RSA or EC P-256), base64.
        key_pkcs8: Secret,
        alg: SigningAlg,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretMethod {
    Basic,
    Post,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(in crate::config) enum RawDuration {
    Text(String),
    Seconds(u64),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::config) struct RawOidc {
    pub(super) id: String,
    pub(super) display_name: Option<RawDisplayName>,
    pub(super) loa: Option<u8>,
    issuer: String,
    client_id: String,
    client_secret: Option<Secret>,
    /// "client_secret_basic", "client_secret_post" or "private_key_jwt"
    client_auth: Option<String>,
    /// PEM (PKCS#8, "BEGIN PRIVATE KEY") private key for `private_key_jwt`
    signing_key_file: Option<PathBuf>,
    /// default ["openid"]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    trusted_for_linking: bool,
    claims: Option<BTreeMap<String, String>>,
    /// default true
    userinfo: Option<bool>,
    /// default "10s"
    timeout: Option<RawDuration>,
    /// default "1h"
    discovery_ttl: Option<RawDuration>,
    /// "oidc" (default) or "mobile_connect"
    profile: Option<String>,
    /// mobile_connect: the E.164 prefixes the operator serves
    msisdn_prefixes: Option<Vec<String>>,
    /// mobile_connect: upstream acr value = Portico level
    acr_values: Option<BTreeMap<String, u8>>,
}

fn duration(
    key: &str,
    raw: Option<RawDuration>,
    default: u64,
    min: u64,
    max: u64,
) -> Result<Duration, ConfigError> {
    let d = match raw {
        None => Duration::from_secs(default),
        Some(RawDuration::Seconds(n)) => Duration::from_secs(n),
        Some(RawDuration::Text(t)) => crate::config::parse_duration(key, &t)?,
    };
    if d.as_secs() < min || d.as_secs() > max {
        return Err(err(
            key,
            format!("must be between {min}s and {max}s, got {}s", d.as_secs()),
        ));
    }
    Ok(d)
}

/// `https://`, or `http://` on a loopback host (a provider run for development).
fn issuer(key: &str, text: &str) -> Result<String, ConfigError> {
    let url = Url::parse(text).map_err(|e| {
        err(
            key,
            format!("`{text}` is not a URL ({e}); write e.g. \"https://id.vnpost.example\""),
        )
    })?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if !(url.scheme() == "https" || (url.scheme() == "http" && loopback)) {
        return Err(err(
            key,
            format!("`{text}` must use https (http only on localhost, for development)"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err(key, "must not have a query or fragment"));
    }
    Ok(text.to_owned())
}

fn client_auth(
    key: &dyn Fn(&str) -> String,
    raw: &mut RawOidc,
) -> Result<UpstreamClientAuth, ConfigError> {
    let method = raw.client_auth.as_deref();
    if method == Some("private_key_jwt") {
        if raw.client_secret.is_some() {
            return Err(err(
                key("client_secret"),
                "is not used with client_auth = \"private_key_jwt\"; remove it",
            ));
        }
        let path = raw.signing_key_file.as_ref().ok_or_else(|| {
            err(
                key("signing_key_file"),
                "is needed with client_auth = \"private_key_jwt\": a PEM private key",
            )
        })?;
        let pem = std::fs::read_to_string(path).map_err(|e| {
            err(
                key("signing_key_file"),
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let not_a_key = || {
            err(
                key("signing_key_file"),
                format!(
                    "{} is not a PEM PKCS#8 (\"BEGIN PRIVATE KEY\") RSA or EC P-256 private key",
                    path.display()
                ),
            )
        };
        let der = pkcs8_from_pem(&pem).ok_or_else(not_a_key)?;
        let alg = [SigningAlg::ES256, SigningAlg::RS256]
            .into_iter()
            .find(|alg| SigningKey::from_pkcs8(*alg, &der).is_ok())
            .ok_or_else(not_a_key)?;
        use base64::Engine;
        return Ok(UpstreamClientAuth::PrivateKeyJwt {
            key_pkcs8: Secret::new(base64::engine::general_purpose::STANDARD.encode(der)),
            alg,
        });
    }
    let method = match method {
        None => None,
        Some("client_secret_basic") => Some(SecretMethod::Basic),
        Some("client_secret_post") => Some(SecretMethod::Post),
        Some(other) => {
            return Err(err(
                key("client_auth"),
                format!(
                    "`{other}` is not supported; use \"client_secret_basic\", \"client_secret_post\" or \"private_key_jwt\""
                ),
            ));
        }
    };
    if raw.signing_key_file.is_some() {
        return Err(err(
            key("signing_key_file"),
            "is used only with client_auth = \"private_key_jwt\"",
        ));
    }
    let secret = raw.client_secret.take().filter(|s| !s.expose().is_empty());
    let secret = secret.ok_or_else(|| {
        let env = format!(
            "PORTICO_SOURCES__{}__CLIENT_SECRET",
            raw.id.to_ascii_uppercase().replace('-', "_")
        );
        err(
            key("client_secret"),
            format!("is needed (or client_auth = \"private_key_jwt\"); set it here or in {env}"),
        )
    })?;
    Ok(UpstreamClientAuth::Secret { secret, method })
}

fn mobile_connect(
    key: &dyn Fn(&str) -> String,
    raw: &mut RawOidc,
) -> Result<Option<MobileConnect>, ConfigError> {
    match raw.profile.as_deref() {
        None | Some("oidc") => {
            for (name, set) in [
                ("msisdn_prefixes", raw.msisdn_prefixes.is_some()),
                ("acr_values", raw.acr_values.is_some()),
            ] {
                if set {
                    return Err(err(
                        key(name),
                        "is used only with profile = \"mobile_connect\"",
                    ));
                }
            }
            return Ok(None);
        }
        Some("mobile_connect") => {}
        Some(other) => {
            return Err(err(
                key("profile"),
                format!("`{other}` is not a profile; use \"oidc\" or \"mobile_connect\""),
            ));
        }
    }
    let prefixes = raw.msisdn_prefixes.take().unwrap_or_default();
    if prefixes.is_empty() {
        return Err(err(
            key("msisdn_prefixes"),
            "is needed with profile = \"mobile_connect\": the numbers the operator serves, e.g. [\"+8496\", \"+8497\"]",
        ));
    }
    if let Some(bad) = prefixes
        .iter()
        .find(|p| p.len() < 3 || !p.starts_with('+') || !p[1..].chars().all(|c| c.is_ascii_digit()))
    {
        return Err(err(
            key("msisdn_prefixes"),
            format!("`{bad}` is not an E.164 prefix; write e.g. \"+8496\""),
        ));
    }
    let acr_values = raw
        .acr_values
        .take()
        .unwrap_or_else(|| [("2".to_owned(), 2), ("3".to_owned(), 3)].into());
    if let Some((value, level)) = acr_values.iter().find(|(_, l)| !(1..=4).contains(*l)) {
        return Err(err(
            key(&format!("acr_values.{value}")),
            format!("{level} is not a level of assurance from 1 to 4"),
        ));
    }
    Ok(Some(MobileConnect {
        msisdn_prefixes: prefixes,
        acr_values,
    }))
}

/// The DER inside `-----BEGIN PRIVATE KEY-----` ... `-----END PRIVATE KEY-----`.
fn pkcs8_from_pem(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let start = pem.find("-----BEGIN PRIVATE KEY-----")? + "-----BEGIN PRIVATE KEY-----".len();
    let end = pem[start..].find("-----END PRIVATE KEY-----")? + start;
    let body: String = pem[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

pub(super) fn validate(
    key: &dyn Fn(&str) -> String,
    mut raw: RawOidc,
) -> Result<OidcSourceConfig, ConfigError> {
    let issuer = issuer(&key("issuer"), &raw.issuer)?;
    if raw.client_id.is_empty() {
        return Err(err(key("client_id"), "must not be empty"));
    }
    let client_auth = client_auth(key, &mut raw)?;
    let scopes = raw.scopes.take().unwrap_or_else(|| vec!["openid".into()]);
    if !scopes.iter().any(|s| s == "openid") {
        return Err(err(
            key("scopes"),
            "must contain \"openid\" (an OpenID Connect request)",
        ));
    }
    if let Some(bad) = scopes
        .iter()
        .find(|s| s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '"'))
    {
        return Err(err(key("scopes"), format!("`{bad}` is not a scope token")));
    }
    let claims = match raw.claims.take() {
        None => DEFAULT_CLAIMS
            .iter()
            .map(|c| (c.to_string(), c.to_string()))
            .collect(),
        Some(map) => {
            for (attribute, claim) in &map {
                if !ATTRIBUTES.contains(&attribute.as_str()) {
                    return Err(err(
                        key(&format!("claims.{attribute}")),
                        format!(
                            "`{attribute}` is not a Portico attribute; use one of {}",
                            ATTRIBUTES.join(", ")
                        ),
                    ));
                }
                if claim.is_empty() {
                    return Err(err(
                        key(&format!("claims.{attribute}")),
                        "must name the upstream claim",
                    ));
                }
            }
            map
        }
    };
    let mobile_connect = mobile_connect(key, &mut raw)?;
    Ok(OidcSourceConfig {
        mobile_connect,
        issuer,
        client_id: raw.client_id,
        client_auth,
        scopes,
        trusted_for_linking: raw.trusted_for_linking,
        claims,
        userinfo: raw.userinfo.unwrap_or(true),
        timeout: duration(&key("timeout"), raw.timeout, 10, 1, 60)?,
        discovery_ttl: duration(&key("discovery_ttl"), raw.discovery_ttl, 3600, 60, 86_400)?,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, SourceKindConfig, UpstreamClientAuth};

    const SOURCE: &str = "[[sources]]\nid = \"bhxh-vn\"\nkind = \"oidc\"\n\
        display_name = { vi = \"Bảo hiểm xã hội\", en = \"Social security\" }\nloa = 3\n\
        issuer = \"https://id.baohiemxahoi.example\"\nclient_id = \"portico\"\n\
        scopes = [\"openid\", \"profile\", \"national_id\"]\ntrusted_for_linking = true\n";

    fn oidc(c: &Config) -> &super::OidcSourceConfig {
        match &c.sources[0].kind {
            SourceKindConfig::Oidc(o) => o,
            _ => panic!("not oidc"),
        }
    }

    #[test]
    fn the_issue_keys_are_read_and_the_secret_may_come_from_the_environment() {
        let text = format!(
            "{SOURCE}[sources.claims]\nnational_id = \"cccd\"\ngiven_name = \"given_name\"\n"
        );
        let env = [(
            "PORTICO_SOURCES__BHXH_VN__CLIENT_SECRET".to_owned(),
            "s3cret-from-env".to_owned(),
        )];
        let c = Config::from_parts(&text, &env).unwrap();
        let o = oidc(&c);
        assert_eq!(c.sources[0].loa.level(), 3);
        assert_eq!(o.issuer, "https://id.baohiemxahoi.example");
        assert!(o.trusted_for_linking && o.userinfo);
        assert_eq!(o.claims["national_id"], "cccd");
        assert_eq!(o.claims.len(), 2);
        assert_eq!(o.timeout.as_secs(), 10);
        let UpstreamClientAuth::Secret { secret, method } = &o.client_auth else {
            panic!("a secret")
        };
        assert_eq!((secret.expose(), *method), ("s3cret-from-env", None));
        assert!(
            !format!("{c:?}").contains("s3cret-from-env"),
            "never in Debug"
        );
        // The file's secret is overridden by the environment; a variable naming no
        // source is refused, naming the variable.
        let e = Config::from_parts(
            SOURCE,
            &[("PORTICO_SOURCES__VNPOST__CLIENT_SECRET".into(), "x".into())],
        )
        .unwrap_err();
        assert_eq!(e.key, "PORTICO_SOURCES__VNPOST__CLIENT_SECRET", "{e}");
    }

    #[test]
    fn wrong_values_are_refused_naming_the_key() {
        let secret = "client_secret = \"s\"\n";
        let cases = [
            (SOURCE.to_owned(), "sources[0].client_secret"),
            (
                SOURCE.replace("\"openid\", ", "") + secret,
                "sources[0].scopes",
            ),
            (
                SOURCE.replace("https://id.", "http://id.") + secret,
                "sources[0].issuer",
            ),
            (format!("{SOURCE}{secret}colour = \"red\"\n"), "colour"),
            (
                format!("{SOURCE}{secret}[sources.claims]\nshoe_size = \"s\"\n"),
                "sources[0].claims.shoe_size",
            ),
            (
                format!("{SOURCE}client_auth = \"private_key_jwt\"\n"),
                "sources[0].signing_key_file",
            ),
            (
                format!("{SOURCE}{secret}timeout = \"5m\"\n"),
                "sources[0].timeout",
            ),
            (
                format!("{SOURCE}{secret}msisdn_prefixes = [\"+8496\"]\n"),
                "sources[0].msisdn_prefixes",
            ),
            (
                format!("{SOURCE}{secret}profile = \"mobile_connect\"\n"),
                "sources[0].msisdn_prefixes",
            ),
            (
                format!(
                    "{SOURCE}{secret}profile = \"mobile_connect\"\nmsisdn_prefixes = [\"8496\"]\n"
                ),
                "sources[0].msisdn_prefixes",
            ),
            (
                format!("{SOURCE}{secret}profile = \"gsm\"\n"),
                "sources[0].profile",
            ),
        ];
        for (text, key) in cases {
            let e = Config::from_parts(&text, &[]).unwrap_err();
            assert!(
                e.key.contains(key) || e.message.contains(key),
                "{key}: got {e}"
            );
        }
        let mc = format!(
            "{SOURCE}{secret}profile = \"mobile_connect\"\nmsisdn_prefixes = [\"+8496\"]\n"
        );
        let c = Config::from_parts(&mc, &[]).unwrap();
        let m = oidc(&c).mobile_connect.as_ref().unwrap();
        assert_eq!(m.acr_values["3"], 3, "the default acr values");
        // http is fine on a loopback host (a provider run for development).
        let local = SOURCE.replace("https://id.baohiemxahoi.example", "http://127.0.0.1:9000");
        assert!(Config::from_parts(&format!("{local}{secret}"), &[]).is_ok());
    }

    #[test]
    fn private_key_jwt_reads_a_pkcs8_key_file() {
        use base64::Engine;
        let der =
            crate::crypto::SigningKey::generate_pkcs8(crate::crypto::SigningAlg::ES256).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upstream.pem");
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        );
        std::fs::write(&path, pem).unwrap();
        let text = format!(
            "{SOURCE}client_auth = \"private_key_jwt\"\nsigning_key_file = \"{}\"\n",
            path.display()
        );
        let c = Config::from_parts(&text, &[]).unwrap();
        assert!(matches!(
            oidc(&c).client_auth,
            UpstreamClientAuth::PrivateKeyJwt {
                alg: crate::crypto::SigningAlg::ES256,
                ..
            }
        ));
        std::fs::write(&path, "not a key").unwrap();
        let e = Config::from_parts(&text, &[]).unwrap_err();
        assert_eq!(e.key, "sources[0].signing_key_file");
    }
}
