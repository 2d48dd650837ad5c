//! Domain types shared by the protocol (`oidc`), the login (`login`, `sources`) and the
//! people (`identity`): what each of them says to the others. Nothing here does I/O.

mod assurance;
mod scopes;
mod verified;

pub use assurance::Loa;
pub use scopes::ScopeSet;
pub use verified::{Attribute, VerifiedIdentity};
