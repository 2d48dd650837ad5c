//! Configuration: defaults, then the TOML file, then `PORTICO_*` environment variables
//! (nested keys joined by `__`), validated once into typed values. Every error names the
//! key and says how to fix it.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

/// The whole configuration, as validated at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The issuer identifier: `https://` (or `http://` on a loopback host, for
    /// development). Every endpoint hangs under it.
    pub issuer: Url,
    pub listen: SocketAddr,
    pub database_url: String,
    pub database: DatabaseConfig,
    pub keys_dir: PathBuf,
    pub tokens: TokenConfig,
    pub session: SessionConfig,
    pub oauth: OAuthConfig,
    pub password: PasswordConfig,
    pub keys: KeysConfig,
    pub logout: LogoutConfig,
    pub server: ServerConfig,
    pub brute_force: BruteForceConfig,
    pub outbound: OutboundConfig,
    pub sources: Vec<SourceConfig>,
    /// The pages' language when neither the person nor the portal chose one.
    pub default_language: Lang,
}

/// A language the pages are written in (the catalogues in `locales/`). It is defined
/// here, not in `http::i18n` (which re-exports it), because the configuration names one
/// and must not import `http`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Vi,
    En,
}

impl Lang {
    /// Every supported language, the default first.
    pub const ALL: [Lang; 2] = [Lang::Vi, Lang::En];

    /// The BCP 47 tag, as in `<html lang>` and `ui_locales_supported`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// The language of a BCP 47 tag by its primary subtag, in any case: `en-GB` and
    /// `EN` are English.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        Lang::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(primary))
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits on client connections, so that slow or idle clients cannot hold the file
/// descriptors a real request needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// From accepting a connection (or from the first byte of a kept-alive
    /// connection's next request) to the end of the request's headers.
    pub header_read_timeout: Duration,
    /// How long a kept-alive connection may wait, idle, for its next request.
    pub idle_timeout: Duration,
    /// From the end of the headers to the response, the body's upload included: 408
    /// past it while the body is still arriving, else 503.
    pub request_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Peers whose `X-Forwarded-For` names the client (load balancers); empty: the
    /// socket's peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Calls a portal's registration makes Portico perform (its `jwks_uri`, back-channel
/// logout URI, sector identifier URI: `oidc::outbound`). The identity sources and the
/// SMS gateway are the operator's own and are not covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundConfig {
    /// Whether those calls may reach private, loopback, link-local and other
    /// non-public addresses. Off by default: a registration must not make Portico call
    /// inside its own network.
    pub allow_private_addresses: bool,
}

#[derive(Debug, Clone)]
pub struct LogoutConfig {
    /// How long one back-channel logout POST may take.
    pub backchannel_timeout: Duration,
    /// Attempts before a delivery is given up (and audited).
    pub backchannel_max_attempts: u32,
    /// Wait before the first retry; doubled at each further one.
    pub backchannel_initial_backoff: Duration,
}

#[derive(Debug, Clone)]
pub struct KeysConfig {
    /// How long a new key is published before it signs, so that every relying party's
    /// cached JWKS holds it by then.
    pub rotation_lead_time: Duration,
    /// How often a node reloads keys from the database (to learn of a rotation done
    /// elsewhere). Must be shorter than the lead time.
    pub refresh_interval: Duration,
}

impl KeysConfig {
    /// `Cache-Control: max-age` for `/jwks`: short enough that a relying party refreshes
    /// within the lead time, whatever the node reload delay.
    pub fn jwks_max_age(&self) -> u64 {
        let lead = self.rotation_lead_time.as_secs();
        let reload = self.refresh_interval.as_secs();
        (lead.saturating_sub(reload) / 2).min(300)
    }
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// PostgreSQL `statement_timeout`: a query running longer is cancelled (503).
    pub statement_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub access_token_ttl: Duration,
    pub id_token_ttl: Duration,
    pub code_ttl: Duration,
    /// A refresh token unused for this long expires.
    pub refresh_idle_ttl: Duration,
    /// No refresh token of a grant lives past this, however often it rotates.
    pub refresh_absolute_ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub lifetime: Duration,
    pub idle_timeout: Duration,
    /// How long a login or consent page stays valid for one authorization request.
    pub login_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PkceRequirement {
    /// Every client must send PKCE (OAuth 2.1, RFC 9700): the default.
    All,
    /// Only public clients must; confidential clients may omit it.
    Public,
}

#[derive(Debug, Clone)]
pub struct OAuthConfig {
    pub require_pkce: PkceRequirement,
}

/// argon2id's settings: defined beside the hasher, which must not depend on the
/// configuration layer.
pub use crate::crypto::password::PasswordConfig;

/// A configuration problem, naming the key and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration key `{}`: {}", self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}

fn err(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        message: message.into(),
    }
}

mod brute_force;
mod file;
mod sms_otp;
mod sources;
mod x509;

pub use brute_force::{BruteForceConfig, Limits};
pub use sms_otp::{NumberPolicy, SmsGateway, SmsOtpSourceConfig};

#[cfg(feature = "test-sources")]
pub use sources::TestTwoStepConfig;
pub use sources::{
    ATTRIBUTES, DisplayName, MobileConnect, OidcSourceConfig, PasswordSourceConfig, SecretMethod,
    SourceConfig, SourceKindConfig, UpstreamClientAuth,
};
pub use x509::{
    CrlLocation, IpNet, IssuerMapping, ListenerMode, ProxyConfig, RevocationPolicy, TlsKey,
    X509SourceConfig,
};

use file::RawConfig;

impl Config {
    /// Loads from the file named by `--config`, else `PORTICO_CONFIG`, else
    /// `portico.toml` if present, else defaults; then applies `PORTICO_*` variables.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let path = explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("PORTICO_CONFIG").map(PathBuf::from))
            .or_else(|| {
                let default = PathBuf::from("portico.toml");
                default.exists().then_some(default)
            });
        let text = match &path {
            Some(p) => std::fs::read_to_string(p).map_err(|e| {
                err(
                    "--config",
                    format!(
                        "cannot read {}: {e}; pass an existing TOML file",
                        p.display()
                    ),
                )
            })?,
            None => String::new(),
        };
        let env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("PORTICO_") && k != "PORTICO_CONFIG")
            .filter(|(k, _)| !k.starts_with("PORTICO_TEST_"))
            .collect();
        Config::from_parts(&text, &env)
    }

    /// Builds a configuration from TOML text and `PORTICO_*` overrides.
    pub fn from_parts(toml_text: &str, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let mut table: toml::Table = toml_text
            .parse()
            .map_err(|e: toml::de::Error| err(toml_error_key(&e), e.message().to_owned()))?;
        for (name, value) in env {
            apply_env(&mut table, name, value)?;
        }
        let raw: RawConfig =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let key = e.path().to_string();
                err(key, e.into_inner().message().to_owned())
            })?;
        raw.validate()
    }
}

fn toml_error_key(e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => format!("(file, at byte {})", span.start),
        None => "(file)".to_owned(),
    }
}

/// `PORTICO_TOKENS__CODE_TTL=30s` sets `tokens.code_ttl`. The value is read as TOML
/// when it parses as one (numbers, booleans, arrays), else as a plain string.
fn apply_env(table: &mut toml::Table, name: &str, value: &str) -> Result<(), ConfigError> {
    let path: Vec<String> = name["PORTICO_".len()..]
        .split("__")
        .map(str::to_ascii_lowercase)
        .collect();
    if path.iter().any(String::is_empty) {
        return Err(err(name, "malformed variable name; nest keys with `__`"));
    }
    if path.len() >= 3 && path[0] == "sources" {
        return apply_source_env(table, name, &path[1], &path[2..], value);
    }
    let parsed = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_owned()));
    let mut node = table;
    for (i, key) in path.iter().enumerate() {
        if i + 1 == path.len() {
            node.insert(key.clone(), parsed);
            return Ok(());
        }
        let next = node
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        node = match next {
            toml::Value::Table(t) => t,
            _ => return Err(err(name, format!("`{key}` is not a table"))),
        };
    }
    Ok(())
}

/// `PORTICO_SOURCES__<ID>__CLIENT_SECRET=...` sets `client_secret` of the
/// `[[sources]]` table whose `id` is `<ID>` (in any case, `-` written `_`: the id
/// `bhxh-vn` is `PORTICO_SOURCES__BHXH_VN__...`). Always a string: a secret is never
/// reinterpreted as a TOML number or boolean.
fn apply_source_env(
    table: &mut toml::Table,
    name: &str,
    env_id: &str,
    rest: &[String],
    value: &str,
) -> Result<(), ConfigError> {
    let Some(toml::Value::Array(sources)) = table.get_mut("sources") else {
        return Err(err(
            name,
            "there is no [[sources]] table in the file for this variable to set a key of",
        ));
    };
    let mut matching = sources.iter_mut().filter_map(|s| match s {
        toml::Value::Table(t) => {
            let id = t.get("id").and_then(|v| v.as_str()).unwrap_or_default();
            (id.to_ascii_lowercase().replace('-', "_") == env_id).then_some(t)
        }
        _ => None,
    });
    let (Some(source), None) = (matching.next(), matching.next()) else {
        return Err(err(
            name,
            format!(
                "names no single [[sources]] id; `{}` must match one id (in any case, `-` written `_`)",
                env_id.to_ascii_uppercase()
            ),
        ));
    };
    if rest.len() != 1 {
        return Err(err(
            name,
            "set one key of the source, e.g. `..._CLIENT_SECRET`",
        ));
    }
    source.insert(rest[0].clone(), toml::Value::String(value.to_owned()));
    Ok(())
}

/// Parses "90s", "15m", "10h", "30d" or a number of seconds.
pub fn parse_duration(key: &str, text: &str) -> Result<Duration, ConfigError> {
    let text = text.trim();
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = digits.parse().map_err(|_| {
        err(
            key,
            format!("`{text}` is not a duration; write e.g. \"90s\", \"15m\", \"10h\" or \"30d\""),
        )
    })?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => {
            return Err(err(
                key,
                format!("unknown unit `{unit}`; use s, m, h or d (e.g. \"15m\")"),
            ));
        }
    };
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_give_a_working_local_server() {
        let c = Config::from_parts("", &[]).unwrap();
        assert_eq!(c.issuer.as_str(), "http://localhost:8080/");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://data/portico.db");
        assert_eq!(c.tokens.code_ttl, Duration::from_secs(60));
        assert_eq!(c.oauth.require_pkce, PkceRequirement::All);
        assert_eq!(c.sources.len(), 1);
        assert_eq!(c.default_language, Lang::Vi);
    }

    #[test]
    fn default_language_is_a_supported_one() {
        let c = Config::from_parts("default_language = \"en\"\n", &[]).unwrap();
        assert_eq!(c.default_language, Lang::En);
        let e = Config::from_parts("", &env(&[("PORTICO_DEFAULT_LANGUAGE", "fr")])).unwrap_err();
        assert_eq!(e.key, "default_language");
        assert!(e.message.contains("\"vi\", \"en\""), "{e}");
    }

    #[test]
    fn environment_overrides_file_with_nested_keys() {
        let c = Config::from_parts(
            "[tokens]\ncode_ttl = \"30s\"\n",
            &env(&[
                ("PORTICO_TOKENS__CODE_TTL", "45s"),
                ("PORTICO_LISTEN", "0.0.0.0:9000"),
            ]),
        )
        .unwrap();
        assert_eq!(c.tokens.code_ttl, Duration::from_secs(45));
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
        // A bare number is seconds, in the file and in the environment.
        let c = Config::from_parts(
            "[tokens]\ncode_ttl = 90\n",
            &env(&[("PORTICO_TOKENS__ID_TOKEN_TTL", "120")]),
        )
        .unwrap();
        assert_eq!(c.tokens.code_ttl, Duration::from_secs(90));
        assert_eq!(c.tokens.id_token_ttl, Duration::from_secs(120));
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::from_parts("[tokens]\ncode_tll = \"30s\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "tokens.code_tll");
        assert!(e.message.contains("code_tll"), "{e}");
        let e = Config::from_parts("", &env(&[("PORTICO_ISSUR", "x")])).unwrap_err();
        assert!(e.message.contains("issur"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key_and_the_fix() {
        let e = Config::from_parts("[tokens]\ncode_ttl = \"1 fortnight\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "tokens.code_ttl");
        let e = Config::from_parts("issuer = \"http://id.example.gov\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "issuer");
        assert!(e.message.contains("https"));
        let e = Config::from_parts("[oauth]\nrequire_pkce = \"sometimes\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "oauth.require_pkce");
        let e = Config::from_parts(
            "[[sources]]\nid = \"p\"\nkind = \"password\"\nloa = 7\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.key, "sources[0].loa");
    }

    #[test]
    fn the_password_queue_defaults_to_four_per_hashing_thread_and_five_seconds() {
        let c = Config::from_parts("[password]\nmax_concurrent_hashes = 3\n", &[]).unwrap();
        assert_eq!(c.password.max_queued_hashes, 12);
        assert_eq!(c.password.queue_timeout, Duration::from_secs(5));
        let e = Config::from_parts("[password]\nqueue_timeout = \"2m\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "password.queue_timeout");
    }

    #[test]
    fn server_limits_have_defaults_and_bounds_naming_the_key() {
        let c = Config::from_parts("", &[]).unwrap();
        assert_eq!(c.server.header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.server.idle_timeout, Duration::from_secs(60));
        assert_eq!(c.server.request_timeout, Duration::from_secs(30));
        assert_eq!(c.server.max_connections, 10_000);
        let e = Config::from_parts("[server]\nheader_read_timeout = \"31s\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "server.header_read_timeout");
        assert!(e.message.contains("30s"), "{e}");
        let e =
            Config::from_parts("", &env(&[("PORTICO_SERVER__MAX_CONNECTIONS", "0")])).unwrap_err();
        assert_eq!(e.key, "server.max_connections");
        let e = Config::from_parts("[server]\nidle = 5\n", &[]).unwrap_err();
        assert_eq!(e.key, "server.idle");
    }

    #[test]
    fn portals_outbound_calls_refuse_private_addresses_unless_allowed() {
        let c = Config::from_parts("", &[]).unwrap();
        assert!(!c.outbound.allow_private_addresses);
        let c = Config::from_parts("[outbound]\nallow_private_addresses = true\n", &[]).unwrap();
        assert!(c.outbound.allow_private_addresses);
        let e = Config::from_parts(
            "",
            &env(&[("PORTICO_OUTBOUND__ALLOW_PRIVATE_ADDRESSES", "yes")]),
        )
        .unwrap_err();
        assert_eq!(e.key, "outbound.allow_private_addresses");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("k", "90").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_duration("k", "15m").unwrap(),
            Duration::from_secs(900)
        );
        assert_eq!(
            parse_duration("k", "2d").unwrap(),
            Duration::from_secs(172_800)
        );
        assert!(parse_duration("k", "5y").is_err());
        assert!(parse_duration("k", "m").is_err());
    }
}
