//! The configuration file's format (every field optional, unknown keys refused) and
//! its validation into the typed [`Config`](super::Config), naming the key at fault.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::*;

/// The file as written: every field optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
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
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    brute_force: super::brute_force::RawBruteForce,
    #[serde(default)]
    outbound: RawOutbound,
    sources: Option<Vec<super::sources::RawSource>>,
    /// default "vi": the pages' language when the switcher, `ui_locales` and
    /// `Accept-Language` name none that is supported
    default_language: Option<String>,
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
struct RawOutbound {
    /// default false: a portal's `jwks_uri`, back-channel logout and sector identifier
    /// URIs may not reach private, loopback or link-local addresses
    allow_private_addresses: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    /// default "10s", at most "30s": a client that has not sent its headers by then is
    /// cut off (slowloris)
    header_read_timeout: Option<DurationText>,
    /// default "60s": a kept-alive connection with no new request is closed
    idle_timeout: Option<DurationText>,
    /// default "30s": a request not answered by then gets 408 if its body had not all
    /// arrived, else 503
    request_timeout: Option<DurationText>,
    /// default 10000: connections served at once; more wait to be accepted
    max_connections: Option<usize>,
    /// default []: proxies whose `X-Forwarded-For` is believed (CIDRs or addresses)
    trusted_proxies: Option<Vec<String>>,
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
    /// default: 4 x the number of cores, at least 16
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
    /// default: 4 x max_concurrent_hashes; hashes waiting beyond those are refused (503)
    max_queued_hashes: Option<usize>,
    /// default "5s" (1s to 60s); a hash waiting longer is refused (503)
    queue_timeout: Option<DurationText>,
}

/// A duration as written: `"15m"`, or a bare number of seconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum DurationText {
    Text(String),
    Seconds(u64),
}

pub(super) fn duration(
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
    pub(super) fn validate(self) -> Result<Config, ConfigError> {
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
            // Enough statements in flight to keep PostgreSQL's commits grouped: 16
            // connections gave 30% more refreshes than 4 on two cores
            // (docs/performance.md).
            .unwrap_or_else(|| (cores() as u32 * 4).max(16));
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
        let server = ServerConfig {
            header_read_timeout: duration(
                "server.header_read_timeout",
                self.server.header_read_timeout,
                "10s",
                Duration::from_secs(1),
                Duration::from_secs(30),
            )?,
            idle_timeout: duration(
                "server.idle_timeout",
                self.server.idle_timeout,
                "60s",
                Duration::from_secs(1),
                hour,
            )?,
            request_timeout: duration(
                "server.request_timeout",
                self.server.request_timeout,
                "30s",
                Duration::from_secs(1),
                Duration::from_secs(600),
            )?,
            max_connections: self.server.max_connections.unwrap_or(10_000),
            trusted_proxies: super::brute_force::trusted_proxies(self.server.trusted_proxies)?,
        };
        if !(1..=1_000_000).contains(&server.max_connections) {
            return Err(err(
                "server.max_connections",
                "must be between 1 and 1000000",
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
        let max_concurrent_hashes = self.password.max_concurrent_hashes.unwrap_or_else(cores);
        let password = PasswordConfig {
            memory_kib: self.password.memory_kib.unwrap_or(19_456),
            iterations: self.password.iterations.unwrap_or(2),
            parallelism: self.password.parallelism.unwrap_or(1),
            max_concurrent_hashes,
            max_queued_hashes: self
                .password
                .max_queued_hashes
                .unwrap_or(4 * max_concurrent_hashes),
            queue_timeout: duration(
                "password.queue_timeout",
                self.password.queue_timeout,
                "5s",
                Duration::from_secs(1),
                Duration::from_secs(60),
            )?,
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
        let brute_force = self.brute_force.validate()?;
        let sources = super::sources::validate(self.sources)?;
        super::sources::check_webauthn_issuer(&sources, &issuer)?;
        let default_language = default_language(self.default_language)?;
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
            server,
            brute_force,
            outbound: OutboundConfig {
                allow_private_addresses: self.outbound.allow_private_addresses.unwrap_or(false),
            },
            sources,
            default_language,
        })
    }
}

fn default_language(raw: Option<String>) -> Result<Lang, ConfigError> {
    let Some(text) = raw else {
        return Ok(Lang::Vi);
    };
    Lang::ALL
        .into_iter()
        .find(|l| l.as_str() == text)
        .ok_or_else(|| {
            let supported: Vec<String> = Lang::ALL.iter().map(|l| format!("\"{l}\"")).collect();
            err(
                "default_language",
                format!(
                    "`{text}` is not a supported language; use one of {}",
                    supported.join(", ")
                ),
            )
        })
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
