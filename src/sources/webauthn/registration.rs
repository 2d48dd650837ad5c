//! Registering a passkey to an account (from `/account`): the creation options and the
//! ceremony state, then the credential the browser sends back, stored with its name.
//! The ceremony state is webauthn-rs's `PasskeyRegistration`, serialised; the caller
//! keeps it server-side and uses it once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use webauthn_rs::prelude::{PasskeyRegistration, RegisterPublicKeyCredential};

use super::{WebauthnSource, user_handle};
use crate::store::{Store, StoreError, StoredPasskey};

/// A registration begun: the options for `navigator.credentials.create` and the state
/// to finish it with.
#[derive(Debug, Clone)]
pub struct Registration {
    pub options: serde_json::Value,
    pub state: serde_json::Value,
}

/// A registration in progress, kept server-side (sealed in `login_attempts`) between the
/// options and the credential: for which account, and webauthn-rs's state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RegistrationState {
    pub account_id: String,
    pub ceremony: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// The credential did not verify against the ceremony (or was not one).
    #[error("the passkey did not verify: {0}")]
    Invalid(String),
    /// That credential is registered already (to this account or another).
    #[error("this passkey is registered already")]
    Duplicate,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl WebauthnSource {
    /// Begins registering a passkey for the account; the account's passkeys are
    /// excluded so an authenticator is not registered twice.
    pub async fn begin_registration(
        &self,
        store: &Store,
        account_id: &str,
        user_name: &str,
    ) -> Result<Registration, RegistrationError> {
        let exclude = store
            .passkeys()
            .of_account(account_id)
            .await?
            .into_iter()
            .filter_map(|p| URL_SAFE_NO_PAD.decode(p.credential_id).ok())
            .collect();
        let (options, state) = self
            .webauthn
            .start_passkey_registration(
                user_handle(account_id),
                user_name,
                user_name,
                Some(exclude),
            )
            .map_err(|e| RegistrationError::Internal(e.to_string()))?;
        let internal = |e: serde_json::Error| RegistrationError::Internal(e.to_string());
        let mut options = serde_json::to_value(&options).map_err(internal)?;
        // Sign-in is discoverable (no username first): the credential must be resident
        // (webauthn-rs's prelude does not export the type to set it with).
        if let Some(selection) = options
            .pointer_mut("/publicKey/authenticatorSelection")
            .and_then(|s| s.as_object_mut())
        {
            selection.insert("residentKey".into(), "required".into());
            selection.insert("requireResidentKey".into(), true.into());
        }
        Ok(Registration {
            options,
            state: serde_json::to_value(&state).map_err(internal)?,
        })
    }

    /// Finishes a registration with the browser's credential and stores the passkey
    /// under `name`; answers its id.
    pub async fn finish_registration(
        &self,
        store: &Store,
        account_id: &str,
        state: serde_json::Value,
        credential: &serde_json::Value,
        name: &str,
    ) -> Result<String, RegistrationError> {
        let state: PasskeyRegistration = serde_json::from_value(state)
            .map_err(|e| RegistrationError::Internal(e.to_string()))?;
        let credential: RegisterPublicKeyCredential = serde_json::from_value(credential.clone())
            .map_err(|e| RegistrationError::Invalid(e.to_string()))?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(|e| RegistrationError::Invalid(e.to_string()))?;
        let stored = StoredPasskey {
            id: crate::ids::new_uuid(),
            account_id: account_id.to_owned(),
            credential_id: URL_SAFE_NO_PAD.encode(passkey.cred_id()),
            user_handle: user_handle(account_id).to_string(),
            credential: serde_json::to_string(&passkey)
                .map_err(|e| RegistrationError::Internal(e.to_string()))?,
            name: name.to_owned(),
            counter: 0,
            backup_eligible: false,
            backup_state: false,
            created_at: self.clock.now(),
            last_used_at: None,
        };
        match store.passkeys().insert(&stored, &self.config.id).await {
            Ok(()) => Ok(stored.id),
            Err(StoreError::Conflict(_)) => Err(RegistrationError::Duplicate),
            Err(e) => Err(e.into()),
        }
    }
}
