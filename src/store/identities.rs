//! Logins at identity sources (`identities`) and the one transaction that turns a
//! verified login into an account: found, linked, or created, and audited.

use super::StoreError;
use super::accounts::{NewAccount, attributes_in, insert_account, set_attributes_in};
use super::db::{Db, Tx, query};
use crate::ids::{AccountId, new_uuid};
use crate::model::Attributes;

/// How a login found its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The login was known.
    Found(AccountId),
    /// Linked to the account holding the same verified national id.
    Linked(AccountId),
    /// A new account was made for it.
    Created(AccountId),
    /// The one account whose verified phone is the login's verified number, which does
    /// not have the login itself (none is written: the account's phone is the link, so
    /// changing it ends the link). An account that has it too is [`Resolved::Found`].
    ByVerifiedPhone(AccountId),
}

/// What [`Identities::resolve`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolving {
    Resolved(Resolved),
    /// Nothing found, and the login may not create an account: nothing was written.
    NoAccount,
    /// Several accounts hold the login's number as their verified phone: none is
    /// picked and nothing was written. Their ids, for the audit trail.
    PhoneAmbiguous(Vec<AccountId>),
}

impl Resolved {
    pub fn account_id(&self) -> &AccountId {
        match self {
            Resolved::Found(a)
            | Resolved::Linked(a)
            | Resolved::Created(a)
            | Resolved::ByVerifiedPhone(a) => a,
        }
    }

    /// The audit event that records it.
    pub fn event(&self) -> &'static str {
        match self {
            Resolved::Found(_) => "login_identity_found",
            Resolved::Linked(_) => "login_identity_linked",
            Resolved::Created(_) => "login_account_created",
            Resolved::ByVerifiedPhone(_) => "login_verified_phone_found",
        }
    }
}

/// One login an account has, as `/account` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedLogin {
    pub id: String,
    pub source_id: String,
    pub linked_at: i64,
    pub last_login_at: Option<i64>,
}

/// What linking a login to an account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linking {
    Linked,
    /// The account had it already.
    AlreadyIts,
    /// Another account has it: nothing was written.
    Elsewhere,
}

/// What may happen to a login no account knows yet.
pub struct Resolution<'a> {
    pub source_id: &'a str,
    pub subject: &'a str,
    /// A verified national id the source may link by (its policy and level allow it).
    pub link_by_national_id: Option<&'a str>,
    /// A verified phone number (E.164) the source proved control of, to find the
    /// account whose verified phone it is, before the login itself is looked up.
    pub find_by_verified_phone: Option<&'a str>,
    /// The account to create when nothing is found or linked; `None` refuses.
    pub create: Option<&'a NewAccount>,
    /// The login's attributes (its source, level and time in each record), to update a
    /// found or linked account with (`Attributes::merge_login`).
    pub offered: &'a Attributes,
    /// The enterprise the login's person acts for (a certificate naming both), recorded
    /// in the same transaction (`representations`).
    pub represents: Option<super::Represents<'a>>,
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

    /// The logins an account has, oldest first.
    pub async fn of_account(&self, account: &str) -> Result<Vec<LinkedLogin>, StoreError> {
        query(
            "SELECT id, source_id, created_at, last_login_at FROM identities \
             WHERE account_id = $1 ORDER BY created_at, id",
        )
        .bind(account)
        .fetch_all(self.db.read())
        .await?
        .iter()
        .map(|r| {
            Ok(LinkedLogin {
                id: r.get("id")?,
                source_id: r.get("source_id")?,
                linked_at: r.get("created_at")?,
                last_login_at: r.get::<Option<i64>>("last_login_at")?,
            })
        })
        .collect()
    }

    /// Links a login to the account, audited as `identity_linked` in the same
    /// transaction; a login another account has stays with it (never merged).
    pub async fn link(
        &self,
        account: &str,
        source_id: &str,
        subject: &str,
        now: i64,
    ) -> Result<Linking, StoreError> {
        let mut tx = self.db.begin().await?;
        let holder =
            query("SELECT account_id FROM identities WHERE source_id = $1 AND subject = $2")
                .bind(source_id)
                .bind(subject)
                .fetch_optional(tx.on())
                .await?
                .map(|r| r.get::<String>("account_id"))
                .transpose()?;
        let outcome = match holder {
            Some(h) if h == account => Linking::AlreadyIts,
            Some(_) => Linking::Elsewhere,
            None => {
                query(
                    "INSERT INTO identities (id, account_id, source_id, subject, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(new_uuid())
                .bind(account)
                .bind(source_id)
                .bind(subject)
                .bind(now)
                .execute(tx.on())
                .await?;
                let detail = format!("source={source_id}");
                audit_in(&mut tx, now, "identity_linked", account, &detail).await?;
                Linking::Linked
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Removes one of the account's logins, never its last one, audited as
    /// `identity_unlinked`; answers the source it was at, or `None` when nothing was
    /// removed (not the account's, or its last). The account's row is written first, so
    /// two removals at once are one after the other and cannot both pass the count.
    pub async fn unlink(
        &self,
        account: &str,
        identity: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.db.begin().await?;
        query("UPDATE accounts SET updated_at = updated_at WHERE id = $1")
            .bind(account)
            .execute(tx.on())
            .await?;
        let count = query("SELECT COUNT(*) AS n FROM identities WHERE account_id = $1")
            .bind(account)
            .fetch_optional(tx.on())
            .await?
            .map(|r| r.get::<i64>("n"))
            .transpose()?
            .unwrap_or(0);
        if count < 2 {
            tx.rollback().await?;
            return Ok(None);
        }
        let removed =
            query("DELETE FROM identities WHERE id = $1 AND account_id = $2 RETURNING source_id")
                .bind(identity)
                .bind(account)
                .fetch_optional(tx.on())
                .await?
                .map(|r| r.get::<String>("source_id"))
                .transpose()?;
        let Some(source_id) = removed else {
            tx.rollback().await?;
            return Ok(None);
        };
        let detail = format!("source={source_id}");
        audit_in(&mut tx, now, "identity_unlinked", account, &detail).await?;
        tx.commit().await?;
        Ok(Some(source_id))
    }

    /// In one transaction: find the account by the verified phone when the source
    /// proved one (exactly one holder; several are refused), else by the login
    /// (recording the login time), else link it by the verified national id, else
    /// create the account; audit which. Nothing is written when no account is found
    /// and none may be made, or the phone is ambiguous.
    pub async fn resolve(&self, r: &Resolution<'_>, now: i64) -> Result<Resolving, StoreError> {
        let mut tx = self.db.begin().await?;
        let (resolved, changed) = match resolve_in(&mut tx, r, now).await? {
            Ok(resolved) => resolved,
            Err(refused) => {
                tx.rollback().await?;
                return Ok(refused);
            }
        };
        let account = resolved.account_id().as_str();
        audit_in(
            &mut tx,
            now,
            resolved.event(),
            account,
            &format!("source={}", r.source_id),
        )
        .await?;
        // Which claim changed and from which source; never the values (personal data).
        for claim in &changed {
            let detail = format!("claim={claim} source={}", r.source_id);
            audit_in(&mut tx, now, "account_attribute_changed", account, &detail).await?;
        }
        if let Some(represents) = &r.represents {
            let new =
                super::representations::record_in(&mut tx, account, r.source_id, represents, now)
                    .await?;
            if new {
                let detail = format!(
                    "source={} tax_code={} {}",
                    r.source_id, represents.tax_code, represents.certificate
                );
                audit_in(&mut tx, now, "representation_recorded", account, &detail).await?;
            }
        }
        tx.commit().await?;
        Ok(Resolving::Resolved(resolved))
    }
}

async fn audit_in(
    tx: &mut Tx,
    now: i64,
    event: &str,
    account: &str,
    detail: &str,
) -> Result<(), StoreError> {
    // In the hash chain, in the caller's transaction.
    super::audit::append_in(tx, now, event, Some(account), None, detail).await
}

/// Whether an account other than `account` holds this national id.
async fn national_id_taken(
    tx: &mut Tx,
    national_id: &str,
    account: Option<&AccountId>,
) -> Result<bool, StoreError> {
    let holder = query("SELECT id FROM accounts WHERE national_id = $1")
        .bind(national_id)
        .fetch_optional(tx.on())
        .await?
        .map(|row| row.get::<String>("id"))
        .transpose()?;
    Ok(holder.is_some_and(|h| account.is_none_or(|a| a.as_str() != h)))
}

/// Updates a found or linked account with the login's attributes; answers the claims
/// that changed.
async fn update_attributes(
    tx: &mut Tx,
    account: &AccountId,
    offered: &Attributes,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let Some(mut attributes) = attributes_in(tx, account).await? else {
        return Ok(Vec::new());
    };
    let before = attributes.clone();
    let mut changed = attributes.merge_login(offered);
    // A national id another account holds stays with it.
    if changed.iter().any(|c| c == "national_id") {
        let nid = attributes
            .text("national_id")
            .unwrap_or_default()
            .to_owned();
        if national_id_taken(tx, &nid, Some(account)).await? {
            match before.get("national_id") {
                Some(old) => attributes.set("national_id", old.clone()),
                None => {
                    attributes.remove("national_id");
                }
            }
            changed.retain(|c| c != "national_id");
        }
    }
    if !changed.is_empty() {
        set_attributes_in(tx, account, &attributes, now).await?;
    }
    Ok(changed)
}

/// The accounts whose verified phone is `number`: at most two (two already make it
/// ambiguous), by id.
async fn verified_phone_holders(tx: &mut Tx, number: &str) -> Result<Vec<AccountId>, StoreError> {
    query("SELECT id FROM accounts WHERE verified_phone = $1 ORDER BY id LIMIT 2")
        .bind(number)
        .fetch_all(tx.on())
        .await?
        .iter()
        .map(|row| Ok(AccountId::new(row.get::<String>("id")?)))
        .collect()
}

/// What the transaction found: the account and the claims that changed, or why not.
type Found = Result<(Resolved, Vec<String>), Resolving>;

async fn resolve_in(tx: &mut Tx, r: &Resolution<'_>, now: i64) -> Result<Found, StoreError> {
    if let Some(number) = r.find_by_verified_phone {
        let mut holders = verified_phone_holders(tx, number).await?;
        if holders.len() > 1 {
            return Ok(Err(Resolving::PhoneAmbiguous(holders)));
        }
        if let Some(account) = holders.pop() {
            // The number's own login, when this account has it, records its use.
            let own = query(
                "UPDATE identities SET last_login_at = $3 \
                 WHERE source_id = $1 AND subject = $2 AND account_id = $4",
            )
            .bind(r.source_id)
            .bind(r.subject)
            .bind(now)
            .bind(account.as_str())
            .execute(tx.on())
            .await?;
            let changed = update_attributes(tx, &account, r.offered, now).await?;
            let resolved = if own == 1 {
                Resolved::Found(account)
            } else {
                Resolved::ByVerifiedPhone(account)
            };
            return Ok(Ok((resolved, changed)));
        }
    }
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
        let account = AccountId::new(row.get::<String>("account_id")?);
        let changed = update_attributes(tx, &account, r.offered, now).await?;
        return Ok(Ok((Resolved::Found(account), changed)));
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
            let changed = update_attributes(tx, &account, r.offered, now).await?;
            return Ok(Ok((Resolved::Linked(account), changed)));
        }
    }
    let Some(new) = r.create else {
        return Ok(Err(Resolving::NoAccount));
    };
    let mut new = new.clone();
    // A national id another account holds stays with it: an untrusted (or too weak)
    // source cannot take it over, and the new account goes without it.
    if let Some(nid) = new.attributes.text("national_id").map(str::to_owned) {
        if national_id_taken(tx, &nid, None).await? {
            new.attributes.remove("national_id");
        }
    }
    let account = AccountId::generate();
    insert_account(tx, &account, &new, now).await?;
    insert_identity(tx, &account, r, now).await?;
    let set = new.attributes.iter().map(|(c, _)| c.to_owned()).collect();
    Ok(Ok((Resolved::Created(account), set)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AttributeRecord;
    use crate::store::Store;

    const NUMBER: &str = "+84912345678";

    fn phone(verified: bool, source: &str) -> Attributes {
        let mut a = Attributes::default();
        a.set(
            "phone_number",
            AttributeRecord {
                value: NUMBER.into(),
                verified,
                source: source.into(),
                loa: crate::model::Loa::new(3),
                at: 10,
            },
        );
        a
    }

    fn by_phone<'a>(offered: &'a Attributes, create: Option<&'a NewAccount>) -> Resolution<'a> {
        Resolution {
            source_id: "mobile",
            subject: NUMBER,
            link_by_national_id: None,
            find_by_verified_phone: Some(NUMBER),
            create,
            offered,
            represents: None,
        }
    }

    #[tokio::test]
    async fn only_a_verified_phone_finds_its_account_and_two_holders_find_none() {
        let store = Store::in_memory().await;
        let unverified = NewAccount {
            kind: None,
            attributes: phone(false, "operator"),
        };
        let mai = store
            .accounts()
            .create_with_password(&unverified, "password", "mai", "hash", 1)
            .await
            .unwrap();
        // An unverified phone finds nothing: the number makes its own account.
        let offered = phone(true, "mobile");
        let new = NewAccount {
            kind: None,
            attributes: offered.clone(),
        };
        let ids = store.identities();
        let Resolving::Resolved(Resolved::Created(own)) = ids
            .resolve(&by_phone(&offered, Some(&new)), 2)
            .await
            .unwrap()
        else {
            panic!("not created");
        };
        assert_ne!(own, mai);
        // Found again by its phone: its own login, whose use is recorded.
        assert_eq!(
            ids.resolve(&by_phone(&offered, None), 3).await.unwrap(),
            Resolving::Resolved(Resolved::Found(own.clone()))
        );
        let logins = ids.of_account(own.as_str()).await.unwrap();
        assert_eq!(logins[0].last_login_at, Some(3));
        // Mai's phone verified by a later login updates the indexed copy in the same
        // transaction: now two accounts hold the number, and neither is picked.
        let verified_for_mai = phone(true, "upstream");
        let at_password = Resolution {
            source_id: "password",
            subject: "mai",
            link_by_national_id: None,
            find_by_verified_phone: None,
            create: None,
            offered: &verified_for_mai,
            represents: None,
        };
        assert_eq!(
            ids.resolve(&at_password, 4).await.unwrap(),
            Resolving::Resolved(Resolved::Found(mai.clone()))
        );
        let Resolving::PhoneAmbiguous(mut holders) = ids
            .resolve(&by_phone(&offered, Some(&new)), 5)
            .await
            .unwrap()
        else {
            panic!("not ambiguous");
        };
        holders.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        let mut both = vec![mai, own];
        both.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        assert_eq!(holders, both);
    }
}
