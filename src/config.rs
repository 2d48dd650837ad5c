//! Configuration: defaults, then the TOML file, then `PORTICO_*` environment variables
//! (nested keys joined by `__`), validated once into typed values. Every error names the
//! key and says how to fix it.

use std::collections::BTreeMap;
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
    pub sources: Vec<SourceConfig>,
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

#[derive(Debug, Clone)]
pub struct PasswordConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Password hashes computed at once; more wait in line, so a burst of logins
    /// cannot take every blocking thread.
    pub max_concurrent_hashes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Password,
    Webauthn,
    X509,
    Oidc,
    SmsOtp,
}

#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub id: String,
    pub kind: SourceKind,
    pub display_name: String,
    /// Level of assurance 1-4, sent as `acr` = `urn:portico:loa:N`.
    pub loa: u8,
}

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

/// The file as written: every field optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// default "http://localhost:8080"
    issuer: Option<String>,
    /// default "127.0.0.1:8080"
    listen: Option<String>,
    /// default "sqlite://data/portico.db" (file and folder created)
    database_url: Option<String>,
    /// default "keys": holds the master key that seals signing keys at rest
    keys_dir: Option<PathBuf>,
    #[serde(default)]
    database: RawDatabase,
    #[serde(default)]
    tokens: RawTokens,
    #[serde(default)]
    session: RawSession,
    #[serde(default)]
    oauth: RawOAuth,
    #[serde(default)]
    password: RawPassword,
    #[serde(default)]
    keys: RawKeys,
    #[serde(default)]
    logout: RawLogout,
    sources: Option<Vec<RawSource>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLogout {
    /// default "5s"
    backchannel_timeout: Option<DurationText>,
    /// default 8 (about four minutes of retries with the default back-off)
    backchannel_max_attempts: Option<u32>,
    /// default "2s"
    backchannel_initial_backoff: Option<DurationText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    /// default "10m"
    rotation_lead_time: Option<DurationText>,
    /// default "30s"
    refresh_interval: Option<DurationText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    /// default: 2 x the number of cores, at least 4
    max_connections: Option<u32>,
    /// default "5s": how long a request waits for a free connection
    acquire_timeout: Option<DurationText>,
    /// default "10s" (PostgreSQL only)
    statement_timeout: Option<DurationText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTokens {
    /// default "10m"
    access_token_ttl: Option<DurationText>,
    /// default "10m"
    id_token_ttl: Option<DurationText>,
    /// default "60s"; RFC 6749 section 4.1.2 recommends at most 10 minutes
    code_ttl: Option<DurationText>,
    /// default "14d"
    refresh_idle_ttl: Option<DurationText>,
    /// default "30d"
    refresh_absolute_ttl: Option<DurationText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSession {
    /// default "10h": a working day, then log in again
    lifetime: Option<DurationText>,
    /// default "1h" without activity
    idle_timeout: Option<DurationText>,
    /// default "15m"
    login_timeout: Option<DurationText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOAuth {
    /// default "all"; "public" requires PKCE only from public clients
    require_pkce: Option<PkceRequirement>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPassword {
    /// default 19456 (19 MiB), OWASP's argon2id recommendation with 2 iterations
    memory_kib: Option<u32>,
    /// default 2
    iterations: Option<u32>,
    /// default 1
    parallelism: Option<u32>,
    /// default: the number of cores
    max_concurrent_hashes: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    id: String,
    kind: SourceKind,
    display_name: Option<String>,
    loa: Option<u8>,
}

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

/// A duration as written: `"15m"`, or a bare number of seconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DurationText {
    Text(String),
    Seconds(u64),
}

fn duration(
    key: &str,
    value: Option<DurationText>,
    default: &str,
    min: Duration,
    max: Duration,
) -> Result<Duration, ConfigError> {
    let d = match value {
        None => parse_duration(key, default)?,
        Some(DurationText::Text(t)) => parse_duration(key, &t)?,
        Some(DurationText::Seconds(n)) => Duration::from_secs(n),
    };
    if d < min || d > max {
        return Err(err(
            key,
            format!(
                "must be between {}s and {}s, got {}s",
                min.as_secs(),
                max.as_secs(),
                d.as_secs()
            ),
        ));
    }
    Ok(d)
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

impl RawConfig {
    fn validate(self) -> Result<Config, ConfigError> {
        let issuer_text = self
            .issuer
            .unwrap_or_else(|| "http://localhost:8080".to_owned());
        let issuer = parse_issuer(&issuer_text)?;
        let listen_text = self.listen.unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            err(
                "listen",
                format!("`{listen_text}` is not an address; write e.g. \"127.0.0.1:8080\""),
            )
        })?;
        let database_url = self
            .database_url
            .unwrap_or_else(|| "sqlite://data/portico.db".to_owned());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres:")
            || database_url.starts_with("postgresql:"))
        {
            return Err(err(
                "database_url",
                "must start with `sqlite:` or `postgres:`, e.g. \"sqlite://data/portico.db\"",
            ));
        }
        let max_connections = self
            .database
            .max_connections
            .unwrap_or_else(|| (cores() as u32 * 2).max(4));
        if max_connections == 0 {
            return Err(err("database.max_connections", "must be at least 1"));
        }
        let database = DatabaseConfig {
            max_connections,
            acquire_timeout: duration(
                "database.acquire_timeout",
                self.database.acquire_timeout,
                "5s",
                Duration::from_secs(1),
                Duration::from_secs(120),
            )?,
            statement_timeout: duration(
                "database.statement_timeout",
                self.database.statement_timeout,
                "10s",
                Duration::from_secs(1),
                Duration::from_secs(600),
            )?,
        };
        let hour = Duration::from_secs(3600);
        let tokens = TokenConfig {
            access_token_ttl: duration(
                "tokens.access_token_ttl",
                self.tokens.access_token_ttl,
                "10m",
                Duration::from_secs(30),
                24 * hour,
            )?,
            id_token_ttl: duration(
                "tokens.id_token_ttl",
                self.tokens.id_token_ttl,
                "10m",
                Duration::from_secs(30),
                24 * hour,
            )?,
            code_ttl: duration(
                "tokens.code_ttl",
                self.tokens.code_ttl,
                "60s",
                Duration::from_secs(5),
                Duration::from_secs(600),
            )?,
            refresh_idle_ttl: duration(
                "tokens.refresh_idle_ttl",
                self.tokens.refresh_idle_ttl,
                "14d",
                Duration::from_secs(60),
                365 * 24 * hour,
            )?,
            refresh_absolute_ttl: duration(
                "tokens.refresh_absolute_ttl",
                self.tokens.refresh_absolute_ttl,
                "30d",
                Duration::from_secs(60),
                365 * 24 * hour,
            )?,
        };
        if tokens.refresh_absolute_ttl < tokens.refresh_idle_ttl {
            return Err(err(
                "tokens.refresh_absolute_ttl",
                "must not be shorter than tokens.refresh_idle_ttl",
            ));
        }
        let keys = KeysConfig {
            rotation_lead_time: duration(
                "keys.rotation_lead_time",
                self.keys.rotation_lead_time,
                "10m",
                Duration::ZERO,
                7 * 24 * hour,
            )?,
            refresh_interval: duration(
                "keys.refresh_interval",
                self.keys.refresh_interval,
                "30s",
                Duration::from_secs(1),
                hour,
            )?,
        };
        if !keys.rotation_lead_time.is_zero() && keys.refresh_interval >= keys.rotation_lead_time {
            return Err(err(
                "keys.refresh_interval",
                "must be shorter than keys.rotation_lead_time, or nodes may sign with a key not yet published everywhere",
            ));
        }
        let logout = LogoutConfig {
            backchannel_timeout: duration(
                "logout.backchannel_timeout",
                self.logout.backchannel_timeout,
                "5s",
                Duration::from_secs(1),
                Duration::from_secs(60),
            )?,
            backchannel_max_attempts: self.logout.backchannel_max_attempts.unwrap_or(8),
            backchannel_initial_backoff: duration(
                "logout.backchannel_initial_backoff",
                self.logout.backchannel_initial_backoff,
                "2s",
                Duration::from_secs(1),
                hour,
            )?,
        };
        if !(1..=20).contains(&logout.backchannel_max_attempts) {
            return Err(err(
                "logout.backchannel_max_attempts",
                "must be between 1 and 20",
            ));
        }
        let session = SessionConfig {
            lifetime: duration(
                "session.lifetime",
                self.session.lifetime,
                "10h",
                Duration::from_secs(60),
                30 * 24 * hour,
            )?,
            idle_timeout: duration(
                "session.idle_timeout",
                self.session.idle_timeout,
                "1h",
                Duration::from_secs(60),
                30 * 24 * hour,
            )?,
            login_timeout: duration(
                "session.login_timeout",
                self.session.login_timeout,
                "15m",
                Duration::from_secs(60),
                2 * hour,
            )?,
        };
        let oauth = OAuthConfig {
            require_pkce: self.oauth.require_pkce.unwrap_or(PkceRequirement::All),
        };
        let password = PasswordConfig {
            memory_kib: self.password.memory_kib.unwrap_or(19_456),
            iterations: self.password.iterations.unwrap_or(2),
            parallelism: self.password.parallelism.unwrap_or(1),
            max_concurrent_hashes: self.password.max_concurrent_hashes.unwrap_or_else(cores),
        };
        if argon2::Params::new(
            password.memory_kib,
            password.iterations,
            password.parallelism,
            None,
        )
        .is_err()
        {
            return Err(err(
                "password",
                "argon2id parameters out of range: memory_kib >= 8 x parallelism, iterations >= 1",
            ));
        }
        if password.max_concurrent_hashes == 0 {
            return Err(err("password.max_concurrent_hashes", "must be at least 1"));
        }
        let sources = validate_sources(self.sources)?;
        Ok(Config {
            issuer,
            listen,
            database_url,
            database,
            keys_dir: self.keys_dir.unwrap_or_else(|| PathBuf::from("keys")),
            tokens,
            session,
            oauth,
            password,
            keys,
            logout,
            sources,
        })
    }
}

fn parse_issuer(text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text).map_err(|e| {
        err(
            "issuer",
            format!("`{text}` is not a URL ({e}); write e.g. \"https://id.example.gov\""),
        )
    })?;
    // OIDC Discovery section 3: https, no query or fragment.
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err("issuer", "must not have a query or fragment"));
    }
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(err(
                "issuer",
                format!(
                    "`{text}` must use https (http is allowed only on localhost, for development)"
                ),
            ));
        }
    }
    if text.ends_with('/') {
        return Err(err("issuer", "must not end with `/`"));
    }
    Ok(url)
}

fn validate_sources(raw: Option<Vec<RawSource>>) -> Result<Vec<SourceConfig>, ConfigError> {
    let raw = raw.unwrap_or_else(|| {
        vec![RawSource {
            id: "password".to_owned(),
            kind: SourceKind::Password,
            display_name: None,
            loa: None,
        }]
    });
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for (i, s) in raw.into_iter().enumerate() {
        let key = |field: &str| format!("sources[{i}].{field}");
        if s.id.is_empty()
            || !s
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(err(
                key("id"),
                "must be non-empty letters, digits, `-` or `_`",
            ));
        }
        if seen.insert(s.id.clone(), i).is_some() {
            return Err(err(
                key("id"),
                format!("`{}` is used twice; ids must be unique", s.id),
            ));
        }
        if s.kind != SourceKind::Password {
            return Err(err(
                key("kind"),
                "only `password` is available in this version; remove the source or use kind = \"password\"",
            ));
        }
        let loa = s.loa.unwrap_or(2);
        if !(1..=4).contains(&loa) {
            return Err(err(key("loa"), "must be a level of assurance from 1 to 4"));
        }
        out.push(SourceConfig {
            display_name: s
                .display_name
                .unwrap_or_else(|| "Username and password".to_owned()),
            id: s.id,
            kind: s.kind,
            loa,
        });
    }
    if out.is_empty() {
        return Err(err("sources", "at least one identity source is needed"));
    }
    Ok(out)
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
