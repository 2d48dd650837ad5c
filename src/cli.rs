//! The `portico` command line (DESIGN.md, "CLI"). Every command reads the same
//! configuration as `serve`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

mod account;
mod audit;
mod client_secret;
mod keys;

use account::{AccountAdd, account_add};

use crate::app::App;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::SigningAlg;
use crate::oidc::registration::{ClientRegistration, register};
use crate::store::{AuthMethod, GrantType, Store, SubjectType};

#[derive(Parser)]
#[command(
    name = "portico",
    version,
    about = "National identity and single sign-on (OpenID Connect provider)"
)]
struct Cli {
    /// Configuration file (else PORTICO_CONFIG, else ./portico.toml if present, else defaults).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate, load or create keys, and serve.
    Serve {
        /// Seed a demo client and demo accounts (once) and print how to log in.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Register and inspect relying parties.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Signing keys and master keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// The configured identity sources.
    #[command(subcommand)]
    Sources(SourcesCommand),
    /// The hash-chained audit trail: verify it, read its latest events.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

#[derive(Subcommand)]
enum SourcesCommand {
    /// Each source in the login page's order: id, kind, level of assurance, and for an
    /// upstream provider (`oidc`) the redirect URI to register there (and the public
    /// key, with `client_auth = "private_key_jwt"`).
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a client; a generated secret is printed once.
    Add(Box<ClientAdd>),
    List {
        #[arg(long)]
        json: bool,
    },
    Show {
        id: String,
    },
    Remove {
        id: String,
    },
    /// A new secret, printed once; the previous one keeps working for `--overlap`.
    RotateSecret(client_secret::RotateSecret),
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
enum AuthMethodArg {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    None,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
#[value(rename_all = "snake_case")]
enum GrantArg {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
enum SubjectArg {
    Public,
    Pairwise,
}

#[derive(Clone, Copy, ValueEnum)]
enum AlgArg {
    #[value(name = "ES256")]
    Es256,
    #[value(name = "RS256")]
    Rs256,
}

#[derive(clap::Args)]
struct ClientAdd {
    #[arg(long)]
    client_id: String,
    /// Display name shown on the login and consent pages (default: the client id).
    #[arg(long)]
    name: Option<String>,
    /// Needed for the authorization_code grant.
    #[arg(long = "redirect-uri", num_args = 1..)]
    redirect_uris: Vec<String>,
    #[arg(long = "post-logout-redirect-uri", num_args = 1..)]
    post_logout_redirect_uris: Vec<String>,
    /// A public client (browser or mobile app): no secret, PKCE required.
    #[arg(long)]
    public: bool,
    #[arg(long = "grant-type", value_enum, num_args = 1..)]
    grant_types: Vec<GrantArg>,
    #[arg(long, value_enum)]
    auth_method: Option<AuthMethodArg>,
    /// Where the client publishes its keys, for private_key_jwt.
    #[arg(long)]
    jwks_uri: Option<String>,
    /// A file holding the client's public JWK Set, for private_key_jwt.
    #[arg(long)]
    jwks: Option<PathBuf>,
    /// Resource indicators (RFC 8707) the client may ask access tokens for.
    #[arg(long = "audience", num_args = 1..)]
    audiences: Vec<String>,
    /// Seconds a just-rotated refresh token may be presented again (0: off).
    #[arg(long, default_value_t = 0)]
    refresh_grace: i64,
    /// Scopes the client may request (default: all OpenID Connect scopes; API scopes
    /// for client_credentials are free-form).
    #[arg(long = "scope", num_args = 1..)]
    scopes: Vec<String>,
    #[arg(long, value_enum, default_value = "public")]
    subject_type: SubjectArg,
    #[arg(long)]
    sector: Option<String>,
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
    #[arg(long)]
    frontchannel_logout_uri: Option<String>,
    /// Resource indicators this client serves as a resource server: it may introspect
    /// the access tokens issued for them.
    #[arg(long = "serves", num_args = 1..)]
    serves: Vec<String>,
    /// A portal run by the same operator: no consent screen.
    #[arg(long)]
    first_party: bool,
    /// ID token signing algorithm.
    #[arg(long, value_enum, default_value = "ES256")]
    id_token_alg: AlgArg,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create a local account with a password read from standard input.
    Add(Box<AccountAdd>),
}

/// glibc raises its mmap threshold after the first large free, so each argon2 buffer
/// (19 MiB) then stays cached in a per-thread arena: hundreds of MiB after a burst of
/// logins. A fixed threshold returns those buffers to the system, and two arenas per
/// core bound the rest. (The `portico` binary gives Rust's allocations to mimalloc,
/// `main.rs`; glibc's malloc still serves the C libraries, SQLite and aws-lc, and the
/// library's tests.)
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called once, before any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(
            libc::M_ARENA_MAX,
            2 * std::thread::available_parallelism()
                .map(|n| n.get() as i32)
                .unwrap_or(2),
        );
    }
}

pub fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { demo } => serve(config, demo).await,
        Command::Migrate => {
            let store = Store::connect(&config).await?;
            store.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Client(c) => client(c, config).await,
        Command::Audit(a) => audit::run(a, config).await,
        Command::Account(AccountCommand::Add(a)) => account_add(*a, config).await,
        Command::Sources(SourcesCommand::List { json }) => {
            sources_list(&config, json);
            Ok(())
        }
        Command::Keys(k) => keys::run(k, config).await,
    }
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let listen = config.listen;
    let provider = Arc::new(App::start(config, Arc::new(SystemClock)).await?);
    if demo {
        crate::demo::seed(&provider).await?;
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (configuration key `listen`)"))?;
    let server = crate::server::serve(listener, provider.clone())?;
    let issuer = provider.issuer_url();
    tracing::info!(%issuer, addr = %server.addr, "portico is serving");
    println!("Portico is serving {issuer} on {}", server.addr);
    for (source, addr) in provider.sources.x509().zip(&server.certificate_addrs) {
        let public = &source.kind.public_url;
        tracing::info!(source = %source.config.id, %addr, %public, "certificate login is serving");
        println!(
            "Certificate login `{}` is serving {public} on {addr}",
            source.config.id
        );
    }
    if demo {
        println!("{}", crate::demo::banner(issuer));
    }
    server.run_until_signal().await?;
    Ok(())
}

async fn client(command: ClientCommand, config: Config) -> anyhow::Result<()> {
    let store = Store::connect(&config).await?;
    store.migrate().await?;
    match command {
        ClientCommand::Add(a) => client_add(&store, &config, *a).await,
        ClientCommand::List { json } => {
            let clients = store.clients().list().await?;
            let now = SystemClock.now();
            if json {
                let shown = clients
                    .iter()
                    .map(|c| client_secret::shown(c, now))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                println!("{}", serde_json::to_string_pretty(&shown)?);
            } else {
                for c in clients {
                    let mut line = format!(
                        "{}  {}  {}",
                        c.client_id,
                        c.auth_method.as_str(),
                        c.redirect_uris.join(" ")
                    );
                    if let Some(note) = client_secret::previous_secret_note(&c, now) {
                        line.push_str("  ");
                        line.push_str(&note);
                    }
                    println!("{line}");
                }
            }
            Ok(())
        }
        ClientCommand::Show { id } => match store.clients().get(&id).await? {
            Some(c) => {
                let shown = client_secret::shown(&c, SystemClock.now())?;
                println!("{}", serde_json::to_string_pretty(&shown)?);
                Ok(())
            }
            None => bail!("no client `{id}`"),
        },
        ClientCommand::RotateSecret(a) => client_secret::rotate_secret(&store, a).await,
        ClientCommand::Remove { id } => {
            if store.clients().remove(&id).await? {
                audit::record(&store, "cli_client_removed", None, Some(&id), "").await?;
                println!("removed client `{id}`");
                Ok(())
            } else {
                bail!("no client `{id}`")
            }
        }
    }
}

async fn client_add(store: &Store, config: &Config, a: ClientAdd) -> anyhow::Result<()> {
    let issuer = config.issuer.as_str().trim_end_matches('/').to_owned();
    let jwks = match &a.jwks {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("--jwks: cannot read {}", path.display()))?,
        ),
        None => None,
    };
    let registration = ClientRegistration {
        client_id: a.client_id.clone(),
        name: a.name.clone(),
        redirect_uris: a.redirect_uris.clone(),
        post_logout_redirect_uris: a.post_logout_redirect_uris.clone(),
        public: a.public,
        grant_types: a
            .grant_types
            .iter()
            .map(|g| match g {
                GrantArg::AuthorizationCode => GrantType::AuthorizationCode,
                GrantArg::RefreshToken => GrantType::RefreshToken,
                GrantArg::ClientCredentials => GrantType::ClientCredentials,
            })
            .collect(),
        auth_method: a.auth_method.map(|m| match m {
            AuthMethodArg::ClientSecretBasic => AuthMethod::ClientSecretBasic,
            AuthMethodArg::ClientSecretPost => AuthMethod::ClientSecretPost,
            AuthMethodArg::PrivateKeyJwt => AuthMethod::PrivateKeyJwt,
            AuthMethodArg::None => AuthMethod::None,
        }),
        jwks_uri: a.jwks_uri.clone(),
        jwks,
        scopes: a.scopes.clone(),
        subject_type: match a.subject_type {
            SubjectArg::Public => SubjectType::Public,
            SubjectArg::Pairwise => SubjectType::Pairwise,
        },
        sector: a.sector.clone(),
        backchannel_logout_uri: a.backchannel_logout_uri.clone(),
        frontchannel_logout_uri: a.frontchannel_logout_uri.clone(),
        serves: a.serves.clone(),
        first_party: a.first_party,
        id_token_alg: match a.id_token_alg {
            AlgArg::Es256 => SigningAlg::ES256,
            AlgArg::Rs256 => SigningAlg::RS256,
        },
        audiences: a.audiences.clone(),
        refresh_grace_secs: a.refresh_grace,
    };
    let now = crate::clock::Clock::now(&SystemClock);
    let (client, secret) = register(registration, &issuer, config.outbound, now)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    store.clients().insert(&client).await?;
    let detail = format!(
        "auth_method={} redirect_uris={}",
        client.auth_method.as_str(),
        client.redirect_uris.join(" ")
    );
    audit::record(
        store,
        "cli_client_added",
        None,
        Some(client.client_id.as_str()),
        &detail,
    )
    .await?;
    let mut out = serde_json::to_value(&client)?;
    if let Some(s) = &secret {
        out["client_secret"] = json!(s.expose());
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("registered client `{}`", client.client_id);
        if let Some(s) = &secret {
            println!("client_secret: {} (shown once; store it now)", s.expose());
        }
    }
    Ok(())
}
/// `portico sources list`: read from the configuration alone (no database).
fn sources_list(config: &Config, as_json: bool) {
    use crate::sources::Source;
    let issuer = config.issuer.as_str().trim_end_matches('/');
    let clock: Arc<dyn crate::clock::Clock> = Arc::new(SystemClock);
    let deps = crate::sources::SourceDeps {
        http: &reqwest::Client::new(),
        issuer,
        clock: &clock,
    };
    let sources = crate::sources::Sources::from_config(&config.sources, &deps);
    let mut rows = Vec::new();
    for (source, c) in sources.iter().zip(&config.sources) {
        let (redirect_uri, upstream, jwks) = match source {
            Source::Oidc(o) => (
                Some(o.callback_url().to_owned()),
                Some(o.kind.issuer.clone()),
                o.public_jwks(),
            ),
            _ => (None, None, None),
        };
        if !as_json {
            let mut line = format!("{}  {}  loa {}", c.id, c.kind.name(), c.loa.level());
            if let (Some(up), Some(uri)) = (&upstream, &redirect_uri) {
                line.push_str(&format!("  upstream {up}  redirect_uri {uri}"));
            }
            if let Some(jwks) = &jwks {
                line.push_str(&format!("  jwks {jwks}"));
            }
            println!("{line}");
        }
        rows.push(json!({
            "id": c.id,
            "kind": c.kind.name(),
            "loa": c.loa.level(),
            "issuer": upstream,
            "redirect_uri": redirect_uri,
            "jwks": jwks,
        }));
    }
    if as_json {
        println!("{}", serde_json::Value::Array(rows));
    }
}
