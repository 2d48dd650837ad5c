//! Local accounts: a username and an argon2id password.

use super::{SourceRefusal, VerifiedIdentity};
use crate::config::SourceConfig;
use crate::provider::Provider;
use crate::secret::Secret;

#[derive(Debug, Clone)]
pub struct PasswordSource {
    pub config: SourceConfig,
}

impl PasswordSource {
    pub fn new(config: &SourceConfig) -> Self {
        PasswordSource {
            config: config.clone(),
        }
    }

    pub async fn complete(
        &self,
        provider: &Provider,
        username: &str,
        password: &Secret,
    ) -> Result<VerifiedIdentity, SourceRefusal> {
        let source_name = || self.config.display_name.clone();
        let username = username.trim();
        if username.is_empty() {
            return Err(SourceRefusal::Incomplete {
                source_name: source_name(),
                missing: "the username",
            });
        }
        if password.expose().is_empty() {
            return Err(SourceRefusal::Incomplete {
                source_name: source_name(),
                missing: "the password",
            });
        }
        let stored = provider
            .store
            .accounts()
            .password_hash(username)
            .await
            .map_err(|cause| SourceRefusal::Unavailable {
                source_name: source_name(),
                cause,
            })?;
        // An unknown username costs the same hash as a known one.
        let ok = provider
            .passwords
            .verify(password, stored.as_deref())
            .await
            .unwrap_or(false);
        if !ok {
            return Err(SourceRefusal::BadCredentials {
                source_name: source_name(),
            });
        }
        Ok(VerifiedIdentity {
            source_id: self.config.id.clone(),
            subject: username.to_owned(),
            loa: self.config.loa,
            amr: vec!["pwd".to_owned()],
        })
    }
}
