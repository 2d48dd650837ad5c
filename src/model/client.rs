//! A registered relying party (a portal) and the settings it registered.

use serde::Serialize;

use crate::crypto::SigningAlg;
use crate::ids::ClientId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }

    pub fn parse(text: &str) -> Option<AuthMethod> {
        match text {
            "client_secret_basic" => Some(AuthMethod::ClientSecretBasic),
            "client_secret_post" => Some(AuthMethod::ClientSecretPost),
            "private_key_jwt" => Some(AuthMethod::PrivateKeyJwt),
            "none" => Some(AuthMethod::None),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(text: &str) -> Option<GrantType> {
        match text {
            "authorization_code" => Some(GrantType::AuthorizationCode),
            "refresh_token" => Some(GrantType::RefreshToken),
            "client_credentials" => Some(GrantType::ClientCredentials),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectType {
    Public,
    Pairwise,
}

impl SubjectType {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectType::Public => "public",
            SubjectType::Pairwise => "pairwise",
        }
    }

    pub fn parse(text: &str) -> Option<SubjectType> {
        match text {
            "public" => Some(SubjectType::Public),
            "pairwise" => Some(SubjectType::Pairwise),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Client {
    pub client_id: ClientId,
    pub name: String,
    /// SHA-256 of the generated secret; never the secret itself.
    #[serde(skip)]
    pub secret_hash: Option<String>,
    /// After `portico client rotate-secret` with an overlap: the SHA-256 of the secret
    /// it replaced, still accepted until `previous_secret_expires_at` (unix seconds), so
    /// the portal can switch without an outage.
    #[serde(skip)]
    pub previous_secret_hash: Option<String>,
    #[serde(skip)]
    pub previous_secret_expires_at: Option<i64>,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub subject_type: SubjectType,
    pub sector: Option<String>,
    pub jwks_uri: Option<String>,
    /// An inline JWK Set (JSON) for `private_key_jwt`, instead of `jwks_uri`.
    pub jwks: Option<String>,
    pub backchannel_logout_uri: Option<String>,
    /// OpenID Connect Front-Channel Logout 1.0.
    pub frontchannel_logout_uri: Option<String>,
    /// Resources this client serves as a resource server (it may introspect tokens for
    /// them).
    pub serves: Vec<String>,
    pub first_party: bool,
    pub id_token_alg: SigningAlg,
    /// Resource indicators (RFC 8707) this client may ask access tokens for.
    pub audiences: Vec<String>,
    /// Seconds during which a just-rotated refresh token may be presented again and
    /// gets the same successor (0: off).
    pub refresh_grace_secs: i64,
    pub created_at: i64,
}

impl Client {
    /// A public client cannot keep a secret (a browser or mobile app).
    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// The previous secret's hash and the second it stops working, while its overlap
    /// lasts at `now`.
    pub fn previous_secret(&self, now: i64) -> Option<(&str, i64)> {
        match (&self.previous_secret_hash, self.previous_secret_expires_at) {
            (Some(hash), Some(until)) if now < until => Some((hash, until)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_secret_counts_until_its_overlap_ends() {
        let mut c = Client {
            client_id: ClientId::new("tax"),
            name: "tax".into(),
            secret_hash: Some("new".into()),
            previous_secret_hash: Some("old".into()),
            previous_secret_expires_at: Some(100),
            auth_method: AuthMethod::ClientSecretBasic,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            scopes: vec![],
            subject_type: SubjectType::Public,
            sector: None,
            jwks_uri: None,
            jwks: None,
            backchannel_logout_uri: None,
            frontchannel_logout_uri: None,
            serves: vec![],
            first_party: false,
            id_token_alg: SigningAlg::ES256,
            audiences: vec![],
            refresh_grace_secs: 0,
            created_at: 0,
        };
        assert_eq!(c.previous_secret(99), Some(("old", 100)));
        assert_eq!(c.previous_secret(100), None);
        c.previous_secret_expires_at = None;
        assert_eq!(c.previous_secret(0), None);
    }
}
