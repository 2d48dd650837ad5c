//! Who acts for which enterprise: a person's account and an enterprise's tax code, as a
//! verified certificate naming both showed it (`sources::x509`, docs/pki.md).

use super::StoreError;
use super::db::{Db, Row, Tx, query};
use crate::ids::AccountId;

/// What a login says about whom its person represents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Represents<'a> {
    /// The enterprise's tax code (`MST:` of the certificate, without the prefix).
    pub tax_code: &'a str,
    /// The certificate that showed it (`issuer="..." serial=...`).
    pub certificate: &'a str,
}

/// One enterprise a person represents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Representation {
    pub tax_code: String,
    /// The enterprise's own account, when it has logged in with its MST certificate at
    /// the same source.
    pub enterprise_account_id: Option<AccountId>,
    pub source_id: String,
    pub certificate: String,
    pub since: i64,
    pub last_seen_at: i64,
}

fn representation_from(r: &Row) -> Result<Representation, StoreError> {
    Ok(Representation {
        tax_code: r.get("tax_code")?,
        enterprise_account_id: r
            .get::<Option<String>>("enterprise_account_id")?
            .map(AccountId::new),
        source_id: r.get("source_id")?,
        certificate: r.get("certificate")?,
        since: r.get("since")?,
        last_seen_at: r.get("last_seen_at")?,
    })
}

pub struct Representations<'a> {
    db: &'a Db,
}

impl<'a> Representations<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Representations { db }
    }

    /// The enterprises the account represents, by tax code.
    pub async fn of_account(&self, account: &AccountId) -> Result<Vec<Representation>, StoreError> {
        query(
            "SELECT tax_code, enterprise_account_id, source_id, certificate, since, \
             last_seen_at FROM representations WHERE account_id = $1 ORDER BY tax_code",
        )
        .bind(account.as_str())
        .fetch_all(self.db.read())
        .await?
        .iter()
        .map(representation_from)
        .collect()
    }
}

/// Records (or refreshes) in the login's transaction that `account` represents the
/// enterprise; the enterprise's account is the one holding the login `MST:<tax code>`
/// at the same source. `true` when the representation is new.
pub(super) async fn record_in(
    tx: &mut Tx,
    account: &str,
    source_id: &str,
    r: &Represents<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let enterprise: Option<String> =
        query("SELECT account_id FROM identities WHERE source_id = $1 AND subject = $2")
            .bind(source_id)
            .bind(format!("MST:{}", r.tax_code))
            .fetch_optional(tx.on())
            .await?
            .map(|row| row.get("account_id"))
            .transpose()?;
    let updated = query(
        "UPDATE representations SET last_seen_at = $3, certificate = $4, source_id = $5, \
         enterprise_account_id = $6 WHERE account_id = $1 AND tax_code = $2",
    )
    .bind(account)
    .bind(r.tax_code)
    .bind(now)
    .bind(r.certificate)
    .bind(source_id)
    .bind(enterprise.clone())
    .execute(tx.on())
    .await?;
    if updated > 0 {
        return Ok(false);
    }
    query(
        "INSERT INTO representations (account_id, tax_code, enterprise_account_id, \
         source_id, certificate, since, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(account)
    .bind(r.tax_code)
    .bind(enterprise)
    .bind(source_id)
    .bind(r.certificate)
    .bind(now)
    .execute(tx.on())
    .await?;
    Ok(true)
}
