//! Accounts, their logins at identity sources, and local passwords.

use super::db::{Db, Row, query};
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::revocations::DenyKeys;
use crate::ids::{AccountId, new_uuid};
use crate::model::Attributes;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Citizen,
    Enterprise,
    Official,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Citizen => "citizen",
            AccountKind::Enterprise => "enterprise",
            AccountKind::Official => "official",
        }
    }

    pub fn parse(text: &str) -> Option<AccountKind> {
        match text {
            "citizen" => Some(AccountKind::Citizen),
            "enterprise" => Some(AccountKind::Enterprise),
            "official" => Some(AccountKind::Official),
            _ => None,
        }
    }
}

/// OIDC Core section 5.1.1 address claim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub kind: AccountKind,
    /// What the account holds about its person, claim by claim, with provenance.
    pub attributes: Attributes,
    pub updated_at: i64,
}

impl Account {
    /// A string attribute's value.
    pub fn text(&self, claim: &str) -> Option<&str> {
        self.attributes.text(claim)
    }
}

/// What `account add` and identity sources know about a new account.
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    pub kind: Option<AccountKind>,
    pub attributes: Attributes,
}

/// What an access token's account lookup found.
#[derive(Debug)]
pub enum AccountForToken {
    /// The token is on the deny list.
    Revoked,
    Found(Box<Account>),
    /// The account no longer exists.
    Gone,
}

fn account_from(r: &Row) -> Result<Account, StoreError> {
    let kind: String = r.get("kind")?;
    Ok(Account {
        kind: AccountKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("account kind {kind}")))?,
        attributes: Attributes::from_stored(&r.get::<String>("attributes")?)
            .map_err(|e| StoreError::Corrupt(format!("account attributes: {e}")))?,
        id: AccountId::new(r.get::<String>("id")?),
        updated_at: r.get("updated_at")?,
    })
}

const ACCOUNT_COLUMNS: &str = "id, kind, attributes, updated_at";

/// Columns that a statement about a code or a refresh token (`row`, its table or CTE)
/// returns beside it: its account's, when the row names claims to release (`claims`
/// is not NULL), so that the token endpoint reads no account of its own. Each is one
/// primary-key lookup; NULL when nothing is asked or the account is gone.
pub(super) fn account_beside(row: &str) -> String {
    let of = |column: &str| {
        format!(
            "CASE WHEN {row}.claims IS NULL THEN NULL ELSE \
             (SELECT {column} FROM accounts WHERE accounts.id = {row}.account_id) END \
             AS account_{column}"
        )
    };
    [of("kind"), of("attributes"), of("updated_at")].join(", ")
}

/// The account [`account_beside`] returned, if any.
pub(super) fn account_returned(r: &Row, id: &AccountId) -> Result<Option<Account>, StoreError> {
    let Some(kind) = r.get::<Option<String>>("account_kind")? else {
        return Ok(None);
    };
    Ok(Some(Account {
        id: id.clone(),
        kind: AccountKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("account kind {kind}")))?,
        attributes: Attributes::from_stored(&r.get::<String>("account_attributes")?)
            .map_err(|e| StoreError::Corrupt(format!("account attributes: {e}")))?,
        updated_at: r.get("account_updated_at")?,
    }))
}

pub struct Accounts<'a> {
    db: &'a Db,
}

impl<'a> Accounts<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Accounts { db }
    }

    pub async fn get(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
        query(&sql)
            .bind(id.as_str())
            .fetch_optional(self.db.read())
            .await?
            .map(|r| account_from(&r))
            .transpose()
    }

    /// The account a person's access token names, unless the token is revoked: the
    /// deny-list lookup and the account's row in one statement (UserInfo's two reads).
    pub async fn get_unless_revoked(
        &self,
        id: &AccountId,
        token: &DenyKeys<'_>,
    ) -> Result<AccountForToken, StoreError> {
        // One row always: the deny-list answer, with the account's columns when it exists.
        let sql = format!(
            "SELECT {} AS revoked, found.* FROM (SELECT 1) AS one \
             LEFT JOIN (SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $4) AS found ON TRUE",
            DenyKeys::REVOKED
        );
        let row = token
            .bind(query(&sql))
            .bind(id.as_str())
            .fetch_one(self.db.read())
            .await?;
        Ok(if row.get("revoked")? {
            AccountForToken::Revoked
        } else if row.get::<Option<String>>("id")?.is_none() {
            AccountForToken::Gone
        } else {
            AccountForToken::Found(Box::new(account_from(&row)?))
        })
    }

    /// Creates an account with a local password login (`source_id`'s identity is the
    /// username) in one transaction.
    pub async fn create_with_password(
        &self,
        new: &NewAccount,
        source_id: &str,
        username: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<AccountId, StoreError> {
        let id = AccountId::generate();
        let mut tx = self.db.begin().await?;
        insert_account(&mut tx, &id, new, now).await?;
        query(
            "INSERT INTO passwords (username, account_id, hash, updated_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(username)
        .bind(id.as_str())
        .bind(password_hash)
        .bind(now)
        .execute(tx.on())
        .await?;
        query(
            "INSERT INTO identities (id, account_id, source_id, subject, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(new_uuid())
        .bind(id.as_str())
        .bind(source_id)
        .bind(username)
        .bind(now)
        .execute(tx.on())
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The stored argon2id hash for a username, if the username exists.
    pub async fn password_hash(&self, username: &str) -> Result<Option<String>, StoreError> {
        query("SELECT hash FROM passwords WHERE username = $1")
            .bind(username)
            .fetch_optional(self.db.read())
            .await?
            .map(|r| r.get("hash"))
            .transpose()
    }

    pub async fn username_exists(&self, username: &str) -> Result<bool, StoreError> {
        Ok(self.password_hash(username).await?.is_some())
    }
}

/// The columns that copy the national id record, for linking's unique index: its value
/// and whether it is verified.
fn national_id_columns(attributes: &Attributes) -> (Option<&str>, bool) {
    (
        attributes.text("national_id"),
        attributes.is_verified("national_id"),
    )
}

/// The column that copies the phone number when it is verified, for a text-message
/// login's lookup (`identities::resolve`); an unverified number is never copied.
fn verified_phone_column(attributes: &Attributes) -> Option<&str> {
    attributes
        .text("phone_number")
        .filter(|_| attributes.is_verified("phone_number"))
}

/// Inserts an account row inside a transaction.
pub(super) async fn insert_account(
    tx: &mut super::db::Tx,
    id: &AccountId,
    new: &NewAccount,
    now: i64,
) -> Result<(), StoreError> {
    let (national_id, national_id_verified) = national_id_columns(&new.attributes);
    query(
        "INSERT INTO accounts (id, kind, national_id, national_id_verified, verified_phone, \
         attributes, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(id.as_str())
    .bind(new.kind.unwrap_or(AccountKind::Citizen).as_str())
    .bind(national_id)
    .bind(national_id_verified)
    .bind(verified_phone_column(&new.attributes))
    .bind(new.attributes.to_stored())
    .bind(now)
    .execute(tx.on())
    .await?;
    Ok(())
}

/// An account's attributes, inside a transaction, for a login to update.
pub(super) async fn attributes_in(
    tx: &mut super::db::Tx,
    id: &AccountId,
) -> Result<Option<Attributes>, StoreError> {
    query("SELECT attributes FROM accounts WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(tx.on())
        .await?
        .map(|r| {
            Attributes::from_stored(&r.get::<String>("attributes")?)
                .map_err(|e| StoreError::Corrupt(format!("account attributes: {e}")))
        })
        .transpose()
}

/// Writes an account's attributes inside a transaction.
pub(super) async fn set_attributes_in(
    tx: &mut super::db::Tx,
    id: &AccountId,
    attributes: &Attributes,
    now: i64,
) -> Result<(), StoreError> {
    let (national_id, national_id_verified) = national_id_columns(attributes);
    query(
        "UPDATE accounts SET attributes = $2, national_id = $3, national_id_verified = $4, \
         verified_phone = $5, updated_at = $6 WHERE id = $1",
    )
    .bind(id.as_str())
    .bind(attributes.to_stored())
    .bind(national_id)
    .bind(national_id_verified)
    .bind(verified_phone_column(attributes))
    .bind(now)
    .execute(tx.on())
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, jti_key};

    #[tokio::test]
    async fn an_access_tokens_account_comes_with_its_deny_list_answer() {
        let store = Store::in_memory().await;
        let mut new = NewAccount::default();
        new.attributes.set(
            "email",
            crate::model::AttributeRecord {
                value: "mai@example.gov".into(),
                verified: false,
                source: crate::model::attributes::OPERATOR.into(),
                loa: None,
                at: 1,
            },
        );
        let id = store
            .accounts()
            .create_with_password(&new, "password", "mai", "hash", 1)
            .await
            .unwrap();
        let keys = DenyKeys {
            jti: "j1",
            grant: Some("g1"),
            sid: None,
        };
        let found = store.accounts().get_unless_revoked(&id, &keys).await;
        assert!(
            matches!(&found, Ok(AccountForToken::Found(a)) if a.id == id && a.text("email") == Some("mai@example.gov")),
            "{found:?}"
        );
        let unknown = AccountId::new("no-such-account".to_owned());
        let found = store.accounts().get_unless_revoked(&unknown, &keys).await;
        assert!(matches!(found, Ok(AccountForToken::Gone)), "{found:?}");
        // Revoked by its grant: revoked whether or not the account exists.
        store
            .revocations()
            .revoke(&crate::store::grant_key("g1"), 100)
            .await
            .unwrap();
        for account in [&id, &unknown] {
            let found = store.accounts().get_unless_revoked(account, &keys).await;
            assert!(matches!(found, Ok(AccountForToken::Revoked)), "{found:?}");
        }
        // Another token of the same account is not.
        let other = DenyKeys {
            jti: "j2",
            grant: Some("g2"),
            sid: Some("s2"),
        };
        let found = store.accounts().get_unless_revoked(&id, &other).await;
        assert!(matches!(found, Ok(AccountForToken::Found(_))), "{found:?}");
        store
            .revocations()
            .revoke(&jti_key("j2"), 100)
            .await
            .unwrap();
        assert!(store.revocations().any_revoked(&other).await.unwrap());
        assert!(
            !store
                .revocations()
                .any_revoked(&DenyKeys {
                    jti: "j3",
                    grant: None,
                    sid: None
                })
                .await
                .unwrap()
        );
    }
}
