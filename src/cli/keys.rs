//! `portico keys`: the signing keys (list, rotate) and the master keys (stage, rotate,
//! drop the previous ones). Every change is audited as a `cli_*` event.

use std::sync::Arc;

use clap::Subcommand;

use super::audit;
use crate::app::App;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::SigningAlg;
use crate::master_keys;
use crate::store::{Resealed, Store};

#[derive(Subcommand)]
pub(super) enum KeysCommand {
    /// The published signing keys, then the master keys held in `keys_dir/master.key`
    /// (by id: compare them across nodes).
    List,
    /// A new key per algorithm: published now, signing after `keys.rotation_lead_time`;
    /// the old keys stay published until the tokens they signed expire.
    Rotate,
    /// Adds a next master key that opens but does not seal yet. With several nodes,
    /// copy the file to every node before `rotate-master`, so that no node meets data
    /// sealed under a key it lacks.
    StageMaster,
    /// The staged (or else a new) master key becomes current; the current one is kept
    /// to open what it sealed; the signing keys and the pairwise-subject key are
    /// re-sealed under the new key in one transaction. Pairwise subjects do not change.
    RotateMaster,
    /// Removes the previous master keys from the file once nothing live needs them.
    DropOldMaster {
        /// Drop even while live login attempts are sealed under a previous key (they
        /// fail; the people start again).
        #[arg(long)]
        force: bool,
    },
}

pub(super) async fn run(command: KeysCommand, config: Config) -> anyhow::Result<()> {
    match command {
        KeysCommand::Rotate => rotate(config).await,
        KeysCommand::List => list(config).await,
        KeysCommand::StageMaster => {
            let store = store(&config).await?;
            let id = master_keys::stage(&config.keys_dir, &store, SystemClock.now()).await?;
            audit::record(
                &store,
                "cli_master_key_staged",
                None,
                None,
                &format!("next={id}"),
            )
            .await?;
            println!(
                "staged master key {id}: it opens now and seals after `portico keys \
                 rotate-master`. Copy {} to every node first (each takes it within \
                 keys.refresh_interval).",
                crate::crypto::master_file::path_in(&config.keys_dir).display()
            );
            Ok(())
        }
        KeysCommand::RotateMaster => {
            let store = store(&config).await?;
            let r = master_keys::rotate(&config.keys_dir, &store, SystemClock.now()).await?;
            let detail = format!(
                "current={} previous={} {}",
                r.current,
                r.previous.join(","),
                resealed_text(r.resealed)
            );
            audit::record(&store, "cli_master_key_rotated", None, None, &detail).await?;
            println!(
                "master key {} ({}) seals now; kept to open: {}; {}. Copy {} to every \
                 node; run `portico keys drop-old-master` once every node has it.",
                r.current,
                if r.was_staged {
                    "the staged key"
                } else {
                    "new"
                },
                r.previous.join(", "),
                resealed_text(r.resealed),
                crate::crypto::master_file::path_in(&config.keys_dir).display()
            );
            Ok(())
        }
        KeysCommand::DropOldMaster { force } => {
            let store = store(&config).await?;
            let d = master_keys::drop_previous(&config.keys_dir, &store, SystemClock.now(), force)
                .await?;
            let detail = format!(
                "current={} dropped={} {} abandoned_login_attempts={}",
                d.current,
                d.dropped.join(","),
                resealed_text(d.resealed),
                d.abandoned
            );
            audit::record(&store, "cli_master_key_dropped", None, None, &detail).await?;
            println!(
                "dropped master key(s) {}; {} seals; {}. Copy {} to every node.",
                d.dropped.join(", "),
                d.current,
                resealed_text(d.resealed),
                crate::crypto::master_file::path_in(&config.keys_dir).display()
            );
            Ok(())
        }
    }
}

async fn store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(config).await?;
    store.migrate().await?;
    Ok(store)
}

fn resealed_text(r: Resealed) -> String {
    format!(
        "re-sealed {} signing key(s) and {} secret(s), {} already current",
        r.signing_keys, r.secrets, r.unchanged
    )
}

async fn rotate(config: Config) -> anyhow::Result<()> {
    let provider = App::start(config, Arc::new(SystemClock)).await?;
    let rotated = crate::app::rotate_keys(
        &provider.config,
        &provider.store,
        &provider.master,
        provider.now(),
    )
    .await?;
    let kids: Vec<&str> = rotated.iter().map(|r| r.kid.as_str()).collect();
    let detail = format!("new keys: {}", kids.join(" "));
    audit::record(&provider.store, "cli_keys_rotated", None, None, &detail).await?;
    for r in rotated {
        println!(
            "{}  {}  signs from {} (in {}s); retired: {}",
            r.kid,
            r.alg.as_str(),
            r.activates_at,
            r.activates_at - provider.now(),
            if r.retired.is_empty() {
                "none".to_owned()
            } else {
                r.retired.join(", ")
            }
        );
    }
    Ok(())
}

async fn list(config: Config) -> anyhow::Result<()> {
    let provider = App::start(config, Arc::new(SystemClock)).await?;
    let keys = provider.store.keys().published(provider.now()).await?;
    let ring = provider.keys.ring();
    for k in keys {
        let alg = SigningAlg::parse(&k.alg);
        let signing = alg.and_then(|a| ring.signing_kid(a, provider.now())) == Some(k.kid.as_str());
        println!(
            "{}  {}  created {}  {}",
            k.kid,
            k.alg,
            k.created_at,
            if signing { "signing" } else { "published" }
        );
    }
    let file = crate::crypto::MasterKeyFile::load(&provider.config.keys_dir)?;
    let ids = provider.master.key_ids();
    let roles = std::iter::once("current")
        .chain(file.next.iter().map(|_| "next"))
        .chain(file.previous.iter().map(|_| "previous"));
    for (id, role) in ids.iter().zip(roles) {
        println!("master  {id}  {role}");
    }
    Ok(())
}
