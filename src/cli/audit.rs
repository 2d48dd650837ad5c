//! `portico audit verify` and `portico audit tail`: the operators' view of the
//! hash-chained audit trail (`store::audit`).

use anyhow::bail;
use clap::Subcommand;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::store::{AuditEvent, Store, TailFilter};

#[derive(Subcommand)]
pub(super) enum AuditCommand {
    /// Check the whole chain: exits non-zero naming the first row edited, deleted or
    /// moved in the database.
    Verify,
    /// The latest events, oldest first.
    Tail {
        /// How many.
        #[arg(short = 'n', default_value_t = 20)]
        n: i64,
        /// Only this account's events.
        #[arg(long)]
        account: Option<String>,
        /// Only this client's events.
        #[arg(long)]
        client: Option<String>,
        /// Only events since: unix seconds (`1764770000`), or a duration ago (`90m`, `2h`, `7d`).
        #[arg(long)]
        since: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// Audits an administrative action of the command line (`cli_*` events).
pub(super) async fn record(
    store: &Store,
    event: &str,
    account: Option<&str>,
    client: Option<&str>,
    detail: &str,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    store
        .audit()
        .record(now, event, account, client, detail)
        .await?;
    Ok(())
}

/// `--since`: a bare number is a unix time, a number with a unit is that long ago.
fn since(text: &str, now: i64) -> anyhow::Result<i64> {
    if let Ok(t) = text.parse::<i64>() {
        return Ok(t);
    }
    let ago = crate::config::parse_duration("--since", text)?;
    Ok(now - ago.as_secs() as i64)
}

fn line(e: &AuditEvent) -> String {
    format!(
        "{}  #{}  {}  account={}  client={}  {}",
        crate::http::format_time(e.occurred_at),
        e.seq.map_or_else(|| "-".to_owned(), |s| s.to_string()),
        e.event,
        e.account_id.as_deref().unwrap_or("-"),
        e.client_id.as_deref().unwrap_or("-"),
        e.detail
    )
}

pub(super) async fn run(command: AuditCommand, config: Config) -> anyhow::Result<()> {
    let store = Store::connect(&config).await?;
    store.migrate().await?;
    match command {
        AuditCommand::Verify => match store.audit().verify().await? {
            Ok(intact) => {
                println!(
                    "audit chain intact: {} rows, head {}{}",
                    intact.rows,
                    intact.head_hash,
                    if intact.unchained > 0 {
                        format!(
                            "; {} older rows predate the chain and are not covered",
                            intact.unchained
                        )
                    } else {
                        String::new()
                    }
                );
                Ok(())
            }
            Err(broken) => bail!(
                "audit chain broken at row {}{}: {}",
                broken.seq,
                broken
                    .id
                    .map(|id| format!(" (id {id})"))
                    .unwrap_or_default(),
                broken.problem
            ),
        },
        AuditCommand::Tail {
            n,
            account,
            client,
            since: since_text,
            json,
        } => {
            let now = SystemClock.now();
            let filter = TailFilter {
                account_id: account,
                client_id: client,
                since: since_text.map(|t| since(&t, now)).transpose()?,
            };
            for e in store.audit().tail(&filter, n.max(0)).await? {
                if json {
                    println!("{}", serde_json::to_string(&e)?);
                } else {
                    println!("{}", line(&e));
                }
            }
            Ok(())
        }
    }
}
