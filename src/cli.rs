//! The `portico` command line (DESIGN.md, "CLI"). Every command reads the same
//! configuration as `serve`.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::crypto::{SigningAlg, sha256_b64url};
use crate::ids::ClientId;
use crate::provider::Provider;
use crate::secret::Secret;
use crate::store::{AccountKind, AuthMethod, Client, GrantType, NewAccount, Store, SubjectType};

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
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a client; a generated secret is printed once.
    Add(ClientAdd),
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
}

#[derive(Clone, Copy, ValueEnum)]
enum AuthMethodArg {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    None,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum GrantArg {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

#[derive(Clone, Copy, ValueEnum)]
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
    #[arg(long = "redirect-uri", required = true, num_args = 1..)]
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
    #[arg(long)]
    jwks_uri: Option<String>,
    /// Scopes the client may request (default: all supported).
    #[arg(long = "scope", num_args = 1..)]
    scopes: Vec<String>,
    #[arg(long, value_enum, default_value = "public")]
    subject_type: SubjectArg,
    #[arg(long)]
    sector: Option<String>,
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
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
    Add(AccountAdd),
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Citizen,
    Enterprise,
    Official,
}

#[derive(clap::Args)]
struct AccountAdd {
    #[arg(long)]
    username: String,
    /// Read the password from standard input (the only way: never on the command line).
    #[arg(long, required = true)]
    password_stdin: bool,
    #[arg(long, value_enum, default_value = "citizen")]
    kind: KindArg,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    /// A national identifier verified by the operator.
    #[arg(long)]
    national_id: Option<String>,
    #[arg(long)]
    tax_code: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// The published signing keys.
    List,
}

pub fn main() -> ExitCode {
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
        Command::Account(AccountCommand::Add(a)) => account_add(a, config).await,
        Command::Keys(KeysCommand::List) => {
            let provider = Provider::start(config, Arc::new(SystemClock)).await?;
            let keys = provider.store.keys().published(provider.now()).await?;
            let ring = provider.keys();
            for k in keys {
                let alg = SigningAlg::parse(&k.alg);
                let signing = alg.and_then(|a| ring.signing_kid(a)) == Some(k.kid.as_str());
                println!(
                    "{}  {}  created {}  {}",
                    k.kid,
                    k.alg,
                    k.created_at,
                    if signing { "signing" } else { "published" }
                );
            }
            Ok(())
        }
    }
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let listen = config.listen;
    let provider = Arc::new(Provider::start(config, Arc::new(SystemClock)).await?);
    if demo {
        crate::demo::seed(&provider).await?;
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (configuration key `listen`)"))?;
    let server = crate::server::serve(listener, provider.clone())?;
    let issuer = provider.issuer();
    tracing::info!(%issuer, addr = %server.addr, "portico is serving");
    println!("Portico is serving {issuer} on {}", server.addr);
    if demo {
        println!("{}", crate::demo::banner(issuer));
    }
    server.run_until_signal().await?;
    Ok(())
}

fn validate_redirect_uri(uri: &str, option: &str) -> anyhow::Result<()> {
    let url =
        url::Url::parse(uri).with_context(|| format!("{option} `{uri}` is not an absolute URL"))?;
    if url.fragment().is_some() {
        bail!("{option} `{uri}` must not contain a fragment");
    }
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => bail!("{option} `{uri}` must use https (http only on localhost)"),
        // RFC 8252 section 7.1: private-use schemes in reverse domain order, for apps.
        scheme if scheme.contains('.') => Ok(()),
        scheme => bail!("{option} `{uri}`: scheme `{scheme}` is not allowed; use https"),
    }
}

async fn client(command: ClientCommand, config: Config) -> anyhow::Result<()> {
    let store = Store::connect(&config).await?;
    store.migrate().await?;
    match command {
        ClientCommand::Add(a) => client_add(&store, a).await,
        ClientCommand::List { json } => {
            let clients = store.clients().list().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&clients)?);
            } else {
                for c in clients {
                    println!(
                        "{}  {}  {}",
                        c.client_id,
                        c.auth_method.as_str(),
                        c.redirect_uris.join(" ")
                    );
                }
            }
            Ok(())
        }
        ClientCommand::Show { id } => match store.clients().get(&id).await? {
            Some(c) => {
                println!("{}", serde_json::to_string_pretty(&c)?);
                Ok(())
            }
            None => bail!("no client `{id}`"),
        },
        ClientCommand::Remove { id } => {
            if store.clients().remove(&id).await? {
                println!("removed client `{id}`");
                Ok(())
            } else {
                bail!("no client `{id}`")
            }
        }
    }
}

async fn client_add(store: &Store, a: ClientAdd) -> anyhow::Result<()> {
    if a.client_id.is_empty()
        || a.client_id.len() > 128
        || !a.client_id.chars().all(|c| c.is_ascii_graphic())
    {
        bail!("--client-id must be 1-128 visible ASCII characters");
    }
    for uri in &a.redirect_uris {
        validate_redirect_uri(uri, "--redirect-uri")?;
    }
    for uri in &a.post_logout_redirect_uris {
        validate_redirect_uri(uri, "--post-logout-redirect-uri")?;
    }
    let auth_method = match (a.public, a.auth_method) {
        (true, None | Some(AuthMethodArg::None)) => AuthMethod::None,
        (true, Some(_)) => bail!("--public clients authenticate with --auth-method none"),
        (false, None | Some(AuthMethodArg::ClientSecretBasic)) => AuthMethod::ClientSecretBasic,
        (false, Some(AuthMethodArg::ClientSecretPost)) => AuthMethod::ClientSecretPost,
        (false, Some(AuthMethodArg::None)) => bail!("--auth-method none needs --public"),
        (false, Some(AuthMethodArg::PrivateKeyJwt)) => {
            bail!("--auth-method private_key_jwt is not available yet in this version")
        }
    };
    let grant_types = if a.grant_types.is_empty() {
        vec![GrantType::AuthorizationCode]
    } else if a
        .grant_types
        .iter()
        .any(|g| *g != GrantArg::AuthorizationCode)
    {
        bail!("--grant-type: only authorization_code is available in this version")
    } else {
        vec![GrantType::AuthorizationCode]
    };
    if matches!(a.subject_type, SubjectArg::Pairwise) || a.sector.is_some() {
        bail!("--subject-type pairwise and --sector are not available yet in this version");
    }
    if a.jwks_uri.is_some() || a.backchannel_logout_uri.is_some() {
        bail!("--jwks-uri and --backchannel-logout-uri are not available yet in this version");
    }
    let scopes = if a.scopes.is_empty() {
        crate::oidc::scopes::SUPPORTED
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        for s in &a.scopes {
            if !crate::oidc::scopes::SUPPORTED.contains(&s.as_str()) {
                bail!(
                    "--scope `{s}` is not supported; choose from: {}",
                    crate::oidc::scopes::SUPPORTED.join(" ")
                );
            }
        }
        a.scopes.clone()
    };
    let secret = (auth_method != AuthMethod::None).then(crate::random::token);
    let client = Client {
        client_id: ClientId::new(&a.client_id),
        name: a.name.clone().unwrap_or_else(|| a.client_id.clone()),
        secret_hash: secret.as_ref().map(|s| sha256_b64url(s.expose())),
        auth_method,
        redirect_uris: a.redirect_uris.clone(),
        post_logout_redirect_uris: a.post_logout_redirect_uris.clone(),
        grant_types,
        scopes,
        subject_type: SubjectType::Public,
        sector: None,
        jwks_uri: None,
        backchannel_logout_uri: None,
        first_party: a.first_party,
        id_token_alg: match a.id_token_alg {
            AlgArg::Es256 => SigningAlg::ES256,
            AlgArg::Rs256 => SigningAlg::RS256,
        },
        created_at: crate::clock::Clock::now(&SystemClock),
    };
    store.clients().insert(&client).await?;
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

async fn account_add(a: AccountAdd, config: Config) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("reading the password from standard input")?;
    let password = Secret::new(password.trim_end_matches(['\n', '\r']));
    if password.expose().chars().count() < 12 {
        bail!("the password must have at least 12 characters");
    }
    let provider = Provider::start(config, Arc::new(SystemClock)).await?;
    if provider
        .store
        .accounts()
        .username_exists(&a.username)
        .await?
    {
        bail!("username `{}` is taken", a.username);
    }
    let hash = provider.passwords.hash(&password).await?;
    let kind = match a.kind {
        KindArg::Citizen => AccountKind::Citizen,
        KindArg::Enterprise => AccountKind::Enterprise,
        KindArg::Official => AccountKind::Official,
    };
    let new = NewAccount {
        kind: Some(kind),
        name: a.name,
        email: a.email,
        phone: a.phone,
        national_id_verified: a.national_id.is_some(),
        national_id: a.national_id,
        tax_code: a.tax_code,
        ..NewAccount::default()
    };
    let source = provider
        .config
        .sources
        .iter()
        .find(|s| s.kind == crate::config::SourceKind::Password)
        .context("no password source is configured ([[sources]] with kind = \"password\")")?;
    let id = provider
        .store
        .accounts()
        .create_with_password(&new, &source.id, &a.username, &hash, provider.now())
        .await?;
    if a.json {
        println!(
            "{}",
            json!({"account_id": id, "username": a.username, "kind": kind.as_str()})
        );
    } else {
        println!("created {} account `{}` ({id})", kind.as_str(), a.username);
    }
    Ok(())
}
