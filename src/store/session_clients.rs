//! The portals that were given a code under each session, and the `sid` each was given:
//! what logout must reach.

use super::db::{Db, Row, query};

use super::StoreError;
use crate::ids::{ClientId, SessionId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClient {
    pub client_id: ClientId,
    pub client_name: String,
    pub sid: String,
    pub subject: String,
    pub backchannel_logout_uri: Option<String>,
    pub frontchannel_logout_uri: Option<String>,
}

/// What a session records of a portal that got a code under it: the `sid` and `sub` its
/// tokens carry, for the logout tokens it will be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPortal {
    pub sid: String,
    pub subject: String,
}

/// Records `$2` as a portal of session `$1`, with sid `$3` and subject `$4`, at `$5`.
pub(super) const RECORD: &str = "INSERT INTO session_clients \
    (session_id, client_id, sid, subject, first_at, last_at) VALUES ($1, $2, $3, $4, $5, $5) \
    ON CONFLICT (session_id, client_id) DO UPDATE SET last_at = $5";

pub struct SessionClients<'a> {
    db: &'a Db,
}

impl<'a> SessionClients<'a> {
    pub(super) fn new(db: &'a Db) -> Self {
        SessionClients { db }
    }

    pub async fn of_session(&self, session: &SessionId) -> Result<Vec<SessionClient>, StoreError> {
        query(
            "SELECT sc.client_id, c.name, sc.sid, sc.subject, c.backchannel_logout_uri, \
             c.frontchannel_logout_uri \
             FROM session_clients sc JOIN clients c ON c.client_id = sc.client_id \
             WHERE sc.session_id = $1 ORDER BY sc.first_at, sc.client_id",
        )
        .bind(session.as_str())
        .fetch_all(self.db.read())
        .await?
        .iter()
        .map(|r: &Row| {
            Ok(SessionClient {
                client_id: ClientId::new(r.get::<String>("client_id")?),
                client_name: r.get("name")?,
                sid: r.get("sid")?,
                subject: r.get("subject")?,
                backchannel_logout_uri: r.get("backchannel_logout_uri")?,
                frontchannel_logout_uri: r.get("frontchannel_logout_uri")?,
            })
        })
        .collect()
    }
}
