//! Identity sources: every way of proving who someone is sits behind one contract.
//!
//! - [`Source::begin`] answers what the browser does next for a pending authorization
//!   (render this source's form, or go elsewhere).
//! - [`Source::complete`] checks what came back and returns a [`VerifiedIdentity`] or a
//!   [`SourceRefusal`] that names the source.
//!
//! `identity` alone turns a verified identity into an account and a session; `oidc`
//! then finishes the authorization. The password source is the first implementation;
//! further kinds are variants of [`Source`], so a new kind touches no protocol code.

mod password;

use crate::config::{SourceConfig, SourceKind};
use crate::provider::Provider;
use crate::secret::Secret;
use crate::store::StoreError;

pub use password::PasswordSource;

/// A login proven at one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    pub source_id: String,
    /// The source's stable identifier for the person (a username, a certificate's
    /// serial and issuer, an upstream `sub`).
    pub subject: String,
    /// Level of assurance 1-4.
    pub loa: u8,
    /// Authentication methods (RFC 8176 values: `pwd`, `otp`, `hwk`...).
    pub amr: Vec<String>,
}

/// Why a source did not verify someone: shown to the person, naming the source.
#[derive(Debug, thiserror::Error)]
pub enum SourceRefusal {
    #[error("{source_name}: the username or password is incorrect")]
    BadCredentials { source_name: String },
    #[error("{source_name}: the form is incomplete ({missing} is missing)")]
    Incomplete {
        source_name: String,
        missing: &'static str,
    },
    #[error("{source_name} is not available right now")]
    Unavailable {
        source_name: String,
        #[source]
        cause: StoreError,
    },
}

/// What the browser does first at a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// Show the source's form on the login page.
    UsernamePasswordForm,
}

/// What came back to Portico from the browser for a source.
#[derive(Debug)]
pub enum Callback {
    UsernamePassword { username: String, password: Secret },
}

/// A configured identity source.
#[derive(Debug, Clone)]
pub enum Source {
    Password(PasswordSource),
}

impl Source {
    pub fn from_config(config: &SourceConfig) -> Source {
        match config.kind {
            SourceKind::Password => Source::Password(PasswordSource::new(config)),
            // Config validation admits only implemented kinds.
            other => unreachable!("source kind {other:?} passed validation"),
        }
    }

    pub fn config(&self) -> &SourceConfig {
        match self {
            Source::Password(s) => &s.config,
        }
    }

    pub fn begin(&self) -> Begin {
        match self {
            Source::Password(_) => Begin::UsernamePasswordForm,
        }
    }

    pub async fn complete(
        &self,
        provider: &Provider,
        callback: Callback,
    ) -> Result<VerifiedIdentity, SourceRefusal> {
        match (self, callback) {
            (Source::Password(s), Callback::UsernamePassword { username, password }) => {
                s.complete(provider, &username, &password).await
            }
        }
    }
}
