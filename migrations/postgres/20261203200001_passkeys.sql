-- Passkeys (WebAuthn credentials) registered to accounts from /account (owned by
-- src/store/passkeys.rs). The credential is webauthn-rs's serialised `Passkey` (public
-- key, counter, backup flags: nothing secret); it is rewritten after each use when the
-- counter or the backup flags change.
CREATE TABLE passkeys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- The credential id (base64url), as the authenticator names it.
    credential_id TEXT NOT NULL,
    -- The WebAuthn user handle this account's passkeys carry (a UUID).
    user_handle TEXT NOT NULL,
    credential TEXT NOT NULL,
    name TEXT NOT NULL,
    counter BIGINT NOT NULL DEFAULT 0,
    backup_eligible SMALLINT NOT NULL DEFAULT 0,
    backup_state SMALLINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE UNIQUE INDEX passkeys_credential_id ON passkeys (credential_id);
CREATE INDEX passkeys_account ON passkeys (account_id);
