//! The composition root: every service is built here once, at start-up, and each
//! function elsewhere takes only the services it uses (`oidc`, `login`, `identity` and
//! `sources` never see this type; only `http`, `server`, the CLI and the tests do).

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::MasterKey;
use crate::crypto::password::PasswordHasherPool;
use crate::login::LoginServices;
use crate::oidc::backchannel::Backchannel;
use crate::oidc::client_assertion::JwksCache;
use crate::oidc::client_auth::ClientAuth;
use crate::oidc::clients::ClientCache;
use crate::oidc::flow::FlowServices;
use crate::oidc::grants::GrantServices;
use crate::oidc::keys::{Keys, KeysError};
use crate::oidc::revocation::AccessTokens;
use crate::oidc::token::TokenEndpoint;
use crate::oidc::tokens::Issuer;
use crate::sources::{SourceDeps, SourceServices, Sources};
use crate::store::{Store, StoreError};

pub use crate::oidc::keys::{Rotated, load_or_create_keys, rotate_keys};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeysError),
    #[error(transparent)]
    MasterKey(#[from] crate::master_keys::MasterKeyError),
    #[error(transparent)]
    Password(#[from] crate::crypto::password::PasswordError),
}

/// The services of one node.
pub struct App {
    pub config: Config,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// The master keys (`keys_dir/master.key`, read again every `keys.refresh_interval`):
    /// they seal the signing keys and login attempts and derive the CSRF and
    /// refresh-successor keys; with the pairwise-subject and `sid` key from the database.
    pub master: Arc<MasterKey>,
    pub passwords: PasswordHasherPool,
    /// The signing keys (reloaded every `keys.refresh_interval`).
    pub keys: Arc<Keys>,
    /// Mints tokens.
    pub issuer: Issuer,
    /// Registered clients, cached per node.
    pub clients: ClientCache,
    /// Checks and revokes access tokens; holds this node's deny-list mirror.
    pub tokens: AccessTokens,
    /// Client key sets for `private_key_jwt`.
    pub jwks_cache: JwksCache,
    /// For the operator's own upstream parties (identity sources, the SMS gateway, CRL
    /// locations); no redirects followed. Calls a portal's registration drives go
    /// through `oidc::outbound` instead.
    pub outbound: reqwest::Client,
    /// Sends back-channel logout tokens.
    pub backchannel: Arc<Backchannel>,
    /// The discovery document, serialised once; cloned per request without copying.
    pub discovery_json: bytes::Bytes,
    /// The identity sources, built from the configuration.
    pub sources: Sources,
}

impl App {
    /// Connects, migrates, loads (or on first start creates) the signing keys, and
    /// builds every service.
    pub async fn start(config: Config, clock: Arc<dyn Clock>) -> Result<App, StartError> {
        // One TLS crypto provider for the process (the certificate listeners, outbound
        // calls); a second call finds it installed.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let store = Store::connect(&config).await?;
        store.migrate().await?;
        let master =
            Arc::new(crate::master_keys::load(&config.keys_dir, &store, clock.now()).await?);
        let passwords = PasswordHasherPool::new(&config.password)?;
        let issuer_url = config.issuer.as_str().trim_end_matches('/').to_owned();
        let keys =
            Arc::new(Keys::start(&issuer_url, store.clone(), master.clone(), clock.now()).await?);
        let outbound = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        let access_ttl = config.tokens.access_token_ttl.as_secs() as i64;
        let sources = Sources::from_config(
            &config.sources,
            &SourceDeps {
                http: &outbound,
                issuer: &issuer_url,
                clock: &clock,
            },
        );
        // Certificate sources' CRLs are read before the first login can need them.
        for source in sources.x509() {
            source.crls.refresh(&outbound).await;
        }
        Ok(App {
            issuer: Issuer::new(
                keys.clone(),
                master.clone(),
                store.clone(),
                config.tokens.clone(),
            ),
            clients: ClientCache::new(store.clone()),
            tokens: AccessTokens::new(keys.clone(), store.clone(), access_ttl),
            jwks_cache: JwksCache::new(config.outbound),
            backchannel: Arc::new(Backchannel::new(
                store.clone(),
                keys.clone(),
                config.outbound,
                config.logout.clone(),
                clock.clone(),
            )),
            discovery_json: crate::oidc::discovery::document(&config).to_string().into(),
            sources,
            outbound,
            keys,
            passwords,
            master,
            clock,
            store,
            config,
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The issuer identifier.
    pub fn issuer_url(&self) -> &str {
        self.keys.issuer()
    }

    pub fn flow(&self) -> FlowServices<'_> {
        FlowServices {
            store: &self.store,
            clients: &self.clients,
            issuer: &self.issuer,
            oauth: &self.config.oauth,
            login_timeout: self.config.session.login_timeout.as_secs() as i64,
            max_loa: self.config.sources.iter().map(|s| s.loa).max(),
        }
    }

    pub fn client_auth(&self) -> ClientAuth<'_> {
        ClientAuth {
            clients: &self.clients,
            jwks: &self.jwks_cache,
            store: &self.store,
            issuer: self.issuer_url(),
            brute_force: &self.config.brute_force,
        }
    }

    pub fn grants(&self) -> GrantServices<'_> {
        GrantServices {
            issuer: &self.issuer,
            tokens: &self.tokens,
            store: &self.store,
        }
    }

    pub fn token_endpoint(&self) -> TokenEndpoint<'_> {
        TokenEndpoint {
            auth: self.client_auth(),
            grants: self.grants(),
        }
    }

    /// `sms_texts`: the text messages' wording, from the catalogues that live with the
    /// pages (`http::i18n::SmsCatalogue`).
    pub fn login<'a>(&'a self, sms_texts: &'a dyn crate::sources::SmsTexts) -> LoginServices<'a> {
        LoginServices {
            flow: self.flow(),
            sources: &self.sources,
            source: SourceServices {
                store: &self.store,
                passwords: &self.passwords,
                http: &self.outbound,
                sms_texts,
            },
            secrets: &self.master,
            tokens: &self.tokens,
            backchannel: &self.backchannel,
            session: &self.config.session,
            brute_force: &self.config.brute_force,
        }
    }

    /// Runs `task` every `period` (the first time at once, or after one period) until
    /// the app is dropped. A late tick is not made up for.
    fn spawn_every<F, Fut>(
        self: &Arc<Self>,
        period: std::time::Duration,
        at_once: bool,
        mut task: F,
    ) -> tokio::task::JoinHandle<()>
    where
        F: FnMut(Arc<App>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            if !at_once {
                tick.tick().await;
            }
            loop {
                tick.tick().await;
                let Some(app) = weak.upgrade() else {
                    return;
                };
                task(app).await;
            }
        })
    }

    /// Once a minute: purges expired rows (every node does; the deletes are idempotent)
    /// and releases idle password-hashing memory.
    pub fn spawn_janitor(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        self.spawn_every(std::time::Duration::from_secs(60), true, |app| async move {
            app.passwords.release_idle_buffers(app.now());
            let codes_kept_for = app.config.tokens.access_token_ttl.as_secs() as i64;
            match app.store.purge_expired(app.now(), codes_kept_for).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(rows = n, "purged expired rows"),
                Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
            }
        })
    }

    /// Checkpoints the SQLite write-ahead log every second, off the request path.
    pub fn spawn_checkpointer(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        self.spawn_every(std::time::Duration::from_secs(1), true, |app| async move {
            if let Err(e) = app.store.checkpoint().await {
                tracing::warn!(error = %e, "checkpointing the SQLite log failed");
            }
        })
    }

    /// Reads revocations made by other nodes into this node's deny-list mirror every
    /// `deny_list::SYNC_INTERVAL` until the app is dropped.
    pub fn spawn_deny_list_sync(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        self.spawn_every(
            crate::oidc::deny_list::SYNC_INTERVAL,
            true,
            |app| async move {
                app.tokens
                    .deny_list()
                    .sync_reporting(&app.store, app.now())
                    .await;
            },
        )
    }

    /// Reads each certificate source's CRLs again every `crl_refresh_interval`, and
    /// sooner when a CRL's `nextUpdate` comes first, until the app is dropped.
    pub fn spawn_crl_refreshers(self: &Arc<Self>) {
        for (i, source) in self.sources.x509().enumerate() {
            let weak = Arc::downgrade(self);
            let interval = source.kind.crl_refresh_interval;
            let mut wait = source.crls.next_refresh(interval, self.now(), 0);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(wait).await;
                    let Some(app) = weak.upgrade() else {
                        return;
                    };
                    let Some(source) = app.sources.x509().nth(i) else {
                        return;
                    };
                    let failed = source.crls.refresh(&app.outbound).await;
                    wait = source.crls.next_refresh(interval, app.now(), failed);
                }
            });
        }
    }

    /// Reloads keys every `keys.refresh_interval` until the app is dropped: the
    /// staleness bound of a node's key cache.
    pub fn spawn_key_refresher(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        self.spawn_every(self.config.keys.refresh_interval, false, |app| async move {
            app.refresh_keys().await;
        })
    }

    /// Takes a changed `master.key` (a master-key rotation), then reloads the signing
    /// keys, in that order: the CLI writes the file before it re-seals the keys with it.
    /// A failure of either keeps what this node holds and is logged.
    pub async fn refresh_keys(&self) {
        match crate::master_keys::reload_file(&self.config.keys_dir, &self.master) {
            Ok(false) => {}
            Ok(true) => {
                let ids = self.master.key_ids();
                tracing::info!(
                    sealing = %ids[0],
                    opening = %ids[1..].join(" "),
                    "took the changed master key file"
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the master key file failed; keeping the keys held");
            }
        }
        if let Err(e) = self.keys.reload(self.now()).await {
            // A rotation may have written the file after it was read above and re-sealed
            // the keys before they were: read the file once more and try again.
            let took_new_file = matches!(
                crate::master_keys::reload_file(&self.config.keys_dir, &self.master),
                Ok(true)
            );
            if !took_new_file || self.keys.reload(self.now()).await.is_err() {
                tracing::warn!(error = %e, "reloading signing keys failed; serving the previous set");
            } else {
                tracing::info!("took the changed master key file (written while reloading)");
            }
        }
    }
}
