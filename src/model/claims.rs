//! The claims a portal asked for by name (OIDC Core section 5.5) and the person
//! allowed: what a code and a refresh token family carry to the tokens they issue.

use serde::{Deserialize, Serialize};

/// Names of claims to release beyond what the scopes give: into the ID token, and at
/// the UserInfo endpoint. Each list is sorted, without repeats, and holds only claims
/// Portico knows (unknown names were dropped when the request was read).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedClaims {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub userinfo: Vec<String>,
}

impl RequestedClaims {
    pub fn is_empty(&self) -> bool {
        self.id_token.is_empty() && self.userinfo.is_empty()
    }

    /// As stored beside a code or a refresh token: `None` when nothing was asked.
    pub fn to_stored(&self) -> Option<String> {
        (!self.is_empty()).then(|| serde_json::to_string(self).expect("names serialise"))
    }

    /// Reads [`Self::to_stored`] back.
    pub fn from_stored(stored: Option<&str>) -> Result<RequestedClaims, serde_json::Error> {
        match stored {
            None | Some("") => Ok(RequestedClaims::default()),
            Some(text) => serde_json::from_str(text),
        }
    }
}
