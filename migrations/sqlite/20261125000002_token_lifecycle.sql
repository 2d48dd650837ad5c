-- Token lifecycle: refresh token families, the revocation deny list, private_key_jwt
-- replay cache, pairwise subjects, and the client settings they need.

ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN audiences TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN refresh_grace_secs BIGINT NOT NULL DEFAULT 0;

-- Refresh tokens, stored only as SHA-256. One family per grant (authorization): every
-- rotation adds a row with the same family_id; reuse of a rotated token revokes them all.
CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    family_id TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    session_id TEXT,
    scope TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    acr TEXT NOT NULL,
    amr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    family_expires_at BIGINT NOT NULL,
    rotated_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (family_expires_at);

-- Revoked access tokens (by jti) and grants (by grant id), kept until the tokens they
-- cover have expired. JWT access tokens are not stored; this is what revokes them.
CREATE TABLE revocations (
    revoked_key TEXT PRIMARY KEY,
    revoked_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revocations_expires ON revocations (expires_at);

-- jti values of private_key_jwt client assertions already seen (RFC 7523 section 3).
CREATE TABLE assertion_jtis (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX assertion_jtis_expires ON assertion_jtis (expires_at);

-- Pairwise subject identifiers issued, so that a pairwise `sub` leads back to its
-- account (userinfo, introspection).
CREATE TABLE pairwise_subjects (
    sector TEXT NOT NULL,
    subject TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (sector, subject)
);

-- The audit trail: security events (logins, refresh token reuse, revocations, failed
-- logout deliveries), never secrets.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    occurred_at BIGINT NOT NULL,
    event TEXT NOT NULL,
    account_id TEXT,
    client_id TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_occurred ON audit_log (occurred_at);
CREATE INDEX audit_log_account ON audit_log (account_id);
