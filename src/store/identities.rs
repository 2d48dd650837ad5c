//! Logins at identity sources (`identities`) and the one transaction that turns a
//! verified login into an account: found, linked, or created, and audited.

use super::StoreError;
use super::accounts::{NewAccount, insert_account};
use super::db::{Db, Tx, query};
use crate::ids::{AccountId, new_uuid};

/// How a login found its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The login was known.
    Found(AccountId),
    /// Linked to the account holding the same verified national id.
    Linked(AccountId),
    /// A new account was made for it.
    Created(AccountId),
}

impl Resolved {
    pub fn account_id(&self) -> &AccountId {
        match self {
            Resolved::Found(a) | Resolved::Linked(a) | Resolved::Created(a) => a,
        }
    }

    /// The audit event that records it.
    pub fn event(&self) -> &'static str {
        match self {
            Resolved::Found(_) => "login_identity_found",
            Resolved::Linked(_) => "login_identity_linked",
            Resolved::Created(_) => "login_account_created",
        }
    }
}

/// What may happen to a login no account knows yet.
pub struct Resolution<'a> {
    pub source_id: &'a str,
    pub subject: &'a str,
    /// A verified national id the source may link by (its policy and level allow it).
    pub link_by_national_id: Option<&'a str>,
    /// The account to create when nothing is found or linked; `None` refuses.
    pub create: Option<&'a NewAccount>,
}

pub struct Identities<'a> {
    db: &'a Db,
}

impl<'a> Identities<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Identities { db }
    }

    /// The account that has this login at the source, if any (for the audit trail of
    /// a failed login; nothing is recorded).
    pub async fn account_of(
        &self,
        source_id: &str,
        subject: &str,
    ) -> Result<Option<String>, StoreError> {
        query("SELECT account_id FROM identities WHERE source_id = $1 AND subject = $2")
            .bind(source_id)
            .bind(subject)
            .fetch_optional(self.db.read())
            .await?
            .map(|r| r.get("account_id"))
            .transpose()
    }

    /// In one transaction: find the account by the login (recording the login time),
    /// else link it by the verified national id, else create the account; audit which.
    /// `None` when none of the three is allowed (nothing is written).
    pub async fn resolve(
        &self,
        r: &Resolution<'_>,
        now: i64,
    ) -> Result<Option<Resolved>, StoreError> {
        let mut tx = self.db.begin().await?;
        let resolved = match resolve_in(&mut tx, r, now).await? {
            Some(resolved) => resolved,
            None => {
                tx.rollback().await?;
                return Ok(None);
            }
        };
        let detail = format!("source={}", r.source_id);
        super::audit::append_in(
            &mut tx,
            now,
            resolved.event(),
            Some(resolved.account_id().as_str()),
            None,
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(resolved))
    }
}

async fn resolve_in(
    tx: &mut Tx,
    r: &Resolution<'_>,
    now: i64,
) -> Result<Option<Resolved>, StoreError> {
    let found = query(
        "UPDATE identities SET last_login_at = $3 WHERE source_id = $1 AND subject = $2 \
         RETURNING account_id",
    )
    .bind(r.source_id)
    .bind(r.subject)
    .bind(now)
    .fetch_optional(tx.on())
    .await?;
    if let Some(row) = found {
        return Ok(Some(Resolved::Found(AccountId::new(
            row.get::<String>("account_id")?,
        ))));
    }
    if let Some(national_id) = r.link_by_national_id {
        let holder =
            query("SELECT id FROM accounts WHERE national_id = $1 AND national_id_verified = $2")
                .bind(national_id)
                .bind(true)
                .fetch_optional(tx.on())
                .await?;
        if let Some(row) = holder {
            let account = AccountId::new(row.get::<String>("id")?);
            insert_identity(tx, &account, r, now).await?;
            return Ok(Some(Resolved::Linked(account)));
        }
    }
    let Some(new) = r.create else {
        return Ok(None);
    };
    let mut new = new.clone();
    // A national id another account holds stays with it: an untrusted (or too weak)
    // source cannot take it over, and the new account goes without it.
    if let Some(nid) = new.national_id.as_deref() {
        let taken = query("SELECT id FROM accounts WHERE national_id = $1")
            .bind(nid)
            .fetch_optional(tx.on())
            .await?
            .is_some();
        if taken {
            new.national_id = None;
            new.national_id_verified = false;
        }
    }
    let account = AccountId::generate();
    insert_account(tx, &account, &new, now).await?;
    insert_identity(tx, &account, r, now).await?;
    Ok(Some(Resolved::Created(account)))
}

async fn insert_identity(
    tx: &mut Tx,
    account: &AccountId,
    r: &Resolution<'_>,
    now: i64,
) -> Result<(), StoreError> {
    query(
        "INSERT INTO identities (id, account_id, source_id, subject, created_at, last_login_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(new_uuid())
    .bind(account.as_str())
    .bind(r.source_id)
    .bind(r.subject)
    .bind(now)
    .execute(tx.on())
    .await?;
    Ok(())
}
