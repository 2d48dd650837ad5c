//! The OpenID Connect and OAuth 2.0 rules. Nothing here knows about HTTP: errors are
//! data (`OAuthError`), and `http` maps them to statuses and shapes.

pub mod authorize;
pub mod backchannel;
pub mod claims;
pub mod client_assertion;
pub mod client_auth;
pub mod clients;
pub mod deny_list;
pub mod discovery;
pub mod error;
pub mod flow;
pub mod grants;
pub mod introspection;
pub mod keys;
pub mod logout;
pub mod outbound;
pub mod pkce;
pub mod registration;
pub mod revocation;
pub mod scopes;
pub mod subject;
pub mod token;
pub mod tokens;
pub mod userinfo;

pub use error::{ErrorCode, OAuthError};
