//! Portico: an OpenID Connect provider for a national single sign-on.
//!
//! The crate is organised by responsibility (see `DESIGN.md`): `http` speaks HTTP and
//! nothing else does; `oidc` holds the protocol rules; `identity` the people, sessions
//! and consents; `sources` the ways of proving who someone is; `store` the database;
//! `crypto` keys, hashing and sealing.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod demo;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod identity;
pub mod ids;
pub mod login;
pub mod master_keys;
pub mod model;
pub mod oidc;
pub mod private_files;
pub mod random;
pub mod secret;
pub mod server;
pub mod sources;
pub mod store;

mod http;
