//! Registered relying parties.

use super::db::{Db, Row, query};

use super::{StoreError, from_json_list, to_json_list};
use crate::crypto::SigningAlg;
use crate::ids::ClientId;

/// How a client authenticates at the token endpoint (`token_endpoint_auth_method`).
pub use crate::model::{AuthMethod, Client, GrantType, SubjectType};

fn client_from(r: &Row) -> Result<Client, StoreError> {
    let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("client {what} {v}"));
    let list = |column: &str| from_json_list(column, &r.get::<String>(column)?);
    let grant_types = list("grant_types")?
        .iter()
        .map(|g| GrantType::parse(g).ok_or_else(|| corrupt("grant type", g)))
        .collect::<Result<_, _>>()?;
    let auth_method: String = r.get("auth_method")?;
    let subject_type: String = r.get("subject_type")?;
    let id_token_alg: String = r.get("id_token_alg")?;
    Ok(Client {
        auth_method: AuthMethod::parse(&auth_method)
            .ok_or_else(|| corrupt("auth method", &auth_method))?,
        subject_type: SubjectType::parse(&subject_type)
            .ok_or_else(|| corrupt("subject type", &subject_type))?,
        id_token_alg: SigningAlg::parse(&id_token_alg)
            .ok_or_else(|| corrupt("id token alg", &id_token_alg))?,
        redirect_uris: list("redirect_uris")?,
        post_logout_redirect_uris: list("post_logout_redirect_uris")?,
        scopes: list("scopes")?,
        audiences: list("audiences")?,
        serves: list("serves")?,
        jwks: r.get("jwks")?,
        refresh_grace_secs: r.get("refresh_grace_secs")?,
        grant_types,
        client_id: ClientId::new(r.get::<String>("client_id")?),
        name: r.get("name")?,
        secret_hash: r.get("secret_hash")?,
        previous_secret_hash: r.get("previous_secret_hash")?,
        previous_secret_expires_at: r.get("previous_secret_expires_at")?,
        sector: r.get("sector")?,
        jwks_uri: r.get("jwks_uri")?,
        backchannel_logout_uri: r.get("backchannel_logout_uri")?,
        frontchannel_logout_uri: r.get("frontchannel_logout_uri")?,
        first_party: r.get("first_party")?,
        created_at: r.get("created_at")?,
    })
}

const CLIENT_COLUMNS: &str = "client_id, name, secret_hash, auth_method, redirect_uris, \
    post_logout_redirect_uris, grant_types, scopes, subject_type, sector, jwks_uri, \
    backchannel_logout_uri, first_party, id_token_alg, created_at, jwks, audiences, \
    refresh_grace_secs, frontchannel_logout_uri, serves, previous_secret_hash, \
    previous_secret_expires_at";

pub struct Clients<'a> {
    db: &'a Db,
}

impl<'a> Clients<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        Clients { db }
    }

    pub async fn get(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1");
        query(&sql)
            .bind(id)
            .fetch_optional(self.db.read())
            .await?
            .map(|r| client_from(&r))
            .transpose()
    }

    pub async fn list(&self) -> Result<Vec<Client>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients ORDER BY client_id");
        query(&sql)
            .fetch_all(self.db.read())
            .await?
            .iter()
            .map(client_from)
            .collect()
    }

    pub async fn insert(&self, c: &Client) -> Result<(), StoreError> {
        let grants: Vec<String> = c
            .grant_types
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect();
        let sql = format!(
            "INSERT INTO clients ({CLIENT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)"
        );
        query(&sql)
            .bind(c.client_id.as_str())
            .bind(&c.name)
            .bind(c.secret_hash.as_deref())
            .bind(c.auth_method.as_str())
            .bind(to_json_list(&c.redirect_uris))
            .bind(to_json_list(&c.post_logout_redirect_uris))
            .bind(to_json_list(&grants))
            .bind(to_json_list(&c.scopes))
            .bind(c.subject_type.as_str())
            .bind(c.sector.as_deref())
            .bind(c.jwks_uri.as_deref())
            .bind(c.backchannel_logout_uri.as_deref())
            .bind(c.first_party)
            .bind(c.id_token_alg.as_str())
            .bind(c.created_at)
            .bind(c.jwks.as_deref())
            .bind(to_json_list(&c.audiences))
            .bind(c.refresh_grace_secs)
            .bind(c.frontchannel_logout_uri.as_deref())
            .bind(to_json_list(&c.serves))
            .bind(c.previous_secret_hash.as_deref())
            .bind(c.previous_secret_expires_at)
            .execute(self.db.write())
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("client `{}`", c.client_id))
                }
                other => other,
            })?;
        Ok(())
    }

    /// Replaces a client's secret by the one hashed `new_hash`. With `previous_until`,
    /// the secret replaced stays valid until then (the overlap), and a previous secret
    /// still in its overlap ends now: only the latest two secrets ever work. Without
    /// it, the replaced secret ends at once. Answers whether a client with a secret had
    /// that id.
    pub async fn rotate_secret(
        &self,
        id: &str,
        new_hash: &str,
        previous_until: Option<i64>,
    ) -> Result<bool, StoreError> {
        let done = match previous_until {
            Some(until) => {
                query(
                    "UPDATE clients SET previous_secret_hash = secret_hash, \
                     previous_secret_expires_at = $3, secret_hash = $2 \
                     WHERE client_id = $1 AND secret_hash IS NOT NULL",
                )
                .bind(id)
                .bind(new_hash)
                .bind(until)
                .execute(self.db.write())
                .await?
            }
            None => {
                query(
                    "UPDATE clients SET previous_secret_hash = NULL, \
                     previous_secret_expires_at = NULL, secret_hash = $2 \
                     WHERE client_id = $1 AND secret_hash IS NOT NULL",
                )
                .bind(id)
                .bind(new_hash)
                .execute(self.db.write())
                .await?
            }
        };
        Ok(done > 0)
    }

    /// Removes a client; answers whether it existed.
    pub async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let done = query("DELETE FROM clients WHERE client_id = $1")
            .bind(id)
            .execute(self.db.write())
            .await?;
        Ok(done > 0)
    }
}
