//! Domain types shared by the protocol (`oidc`), the login (`login`, `sources`) and the
//! people (`identity`): what each of them says to the others. Nothing here does I/O.

pub mod address;
mod assurance;
pub mod attributes;
mod claims;
mod client;
mod scopes;
mod session;
mod verified;

pub use assurance::Loa;
pub use attributes::{AttributeRecord, Attributes};
pub use claims::RequestedClaims;
pub use client::{AuthMethod, Client, GrantType, SubjectType};
pub use scopes::ScopeSet;
pub use session::Session;
pub use verified::{Attribute, VerifiedIdentity};

/// A catalogue message id carried as data (a form's labels, a source's default name),
/// for the pages to put into the person's language. The catalogue test finds every id
/// written this way, as it finds the literal ids the pages look up.
pub const fn message_id(id: &'static str) -> &'static str {
    id
}
