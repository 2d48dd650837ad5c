//! Newtypes for identifiers, so an account id cannot be passed where a client id is
//! expected.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A relying party's `client_id`, chosen at registration.
    ClientId
);
string_id!(
    /// An account (person or organisation), a UUIDv7.
    AccountId
);
string_id!(
    /// An SSO session, a UUIDv7; also the `sid` claim.
    SessionId
);
string_id!(
    /// One authorization (grant): every code and token issued from it carries it, so a
    /// replay can revoke them all at once.
    GrantId
);
string_id!(
    /// A pending authorization request waiting for login or consent.
    PendingId
);

/// A new time-ordered UUID (v7) as text: the primary key format of every table.
pub fn new_uuid() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl AccountId {
    pub fn generate() -> Self {
        AccountId(new_uuid())
    }
}

impl SessionId {
    pub fn generate() -> Self {
        SessionId(new_uuid())
    }
}

impl GrantId {
    pub fn generate() -> Self {
        GrantId(new_uuid())
    }
}

impl PendingId {
    /// Random rather than time-ordered: the id travels in the login page's URL.
    pub fn generate() -> Self {
        PendingId(crate::random::token().expose().to_owned())
    }
}
