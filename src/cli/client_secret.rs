//! `portico client rotate-secret`: a new secret for a portal, with an overlap during
//! which the one it replaces still works, so the portal can switch without an outage.

use std::time::Duration;

use anyhow::{anyhow, bail};
use serde_json::json;

use super::audit;
use crate::clock::{Clock, SystemClock};
use crate::crypto::sha256_b64url;
use crate::model::Client;
use crate::store::Store;

/// The longest overlap: long enough to roll the new secret out to a portal's servers,
/// short enough that a secret thought leaked does not linger.
const MAX_OVERLAP: Duration = Duration::from_secs(7 * 86_400);

#[derive(clap::Args)]
pub(super) struct RotateSecret {
    id: String,
    /// How long the previous secret keeps working: "24h" (default), "90m", "3d", at most
    /// "7d"; "0" ends it at once (a leaked secret).
    #[arg(long, default_value = "24h")]
    overlap: String,
    #[arg(long)]
    json: bool,
}

/// What `client show` and `client list` add for a client in an overlap.
pub(super) fn previous_secret_note(client: &Client, now: i64) -> Option<String> {
    client
        .previous_secret(now)
        .map(|(_, until)| format!("previous secret valid until {}", when(until)))
}

/// A client as `client show` and `client list --json` print it: its registration, and
/// when its previous secret stops working while an overlap lasts.
pub(super) fn shown(client: &Client, now: i64) -> anyhow::Result<serde_json::Value> {
    let mut out = serde_json::to_value(client)?;
    if let Some((_, until)) = client.previous_secret(now) {
        out["previous_secret_valid_until"] = json!(until);
    }
    Ok(out)
}

fn when(t: i64) -> String {
    format!("{} ({t})", crate::http::format_time(t))
}

fn parse_overlap(text: &str) -> anyhow::Result<Duration> {
    let overlap = crate::config::parse_duration("--overlap", text)
        .map_err(|e| anyhow!("--overlap: {}", e.message))?;
    if overlap > MAX_OVERLAP {
        bail!(
            "--overlap: at most {}s (7d), got {}s",
            MAX_OVERLAP.as_secs(),
            overlap.as_secs()
        );
    }
    Ok(overlap)
}

pub(super) async fn rotate_secret(store: &Store, a: RotateSecret) -> anyhow::Result<()> {
    let overlap = parse_overlap(&a.overlap)?;
    let Some(client) = store.clients().get(&a.id).await? else {
        bail!("no client `{}`", a.id);
    };
    if client.secret_hash.is_none() {
        bail!(
            "client `{}` authenticates with {} and has no secret to rotate \
             (a private_key_jwt portal rotates the keys it publishes)",
            a.id,
            client.auth_method.as_str()
        );
    }
    let now = SystemClock.now();
    let ended = client.previous_secret(now).map(|(_, until)| until);
    let secret = crate::random::token();
    let until = (!overlap.is_zero()).then(|| now + overlap.as_secs() as i64);
    if !store
        .clients()
        .rotate_secret(&a.id, &sha256_b64url(secret.expose()), until)
        .await?
    {
        bail!("client `{}` was removed or changed meanwhile", a.id);
    }
    let detail = format!(
        "overlap={}s previous_secret_valid_until={}",
        overlap.as_secs(),
        until.map_or("none".to_owned(), |u| u.to_string())
    );
    audit::record(
        store,
        "cli_client_secret_rotated",
        None,
        Some(&a.id),
        &detail,
    )
    .await?;
    if a.json {
        let out = json!({
            "client_id": a.id,
            "client_secret": secret.expose(),
            "previous_secret_valid_until": until,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("rotated the secret of client `{}`", a.id);
    println!(
        "client_secret: {} (shown once; store it now)",
        secret.expose()
    );
    match until {
        Some(until) => println!(
            "the previous secret stays valid until {}, {}s from now",
            when(until),
            until - now
        ),
        None => println!("the previous secret no longer works"),
    }
    if let Some(ended) = ended {
        println!(
            "the secret before it, valid until {}, no longer works",
            when(ended)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overlap_is_a_duration_of_at_most_seven_days() {
        assert_eq!(parse_overlap("24h").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_overlap("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_overlap("7d").unwrap(), MAX_OVERLAP);
        let e = parse_overlap("8d").unwrap_err().to_string();
        assert!(e.starts_with("--overlap") && e.contains("7d"), "{e}");
        let e = parse_overlap("a while").unwrap_err().to_string();
        assert!(e.starts_with("--overlap") && e.contains("e.g."), "{e}");
    }
}
