-- Core schema. Portable by design: ids are UUIDv7 text, timestamps are unix seconds in
-- BIGINT, flags are 0/1 integers, JSON lists are TEXT; the PostgreSQL twin differs only in
-- BYTEA for blobs and SMALLINT for flags.

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('citizen', 'enterprise', 'official')),
    name TEXT,
    given_name TEXT,
    family_name TEXT,
    birthdate TEXT,
    email TEXT,
    email_verified SMALLINT NOT NULL DEFAULT 0,
    phone TEXT,
    phone_verified SMALLINT NOT NULL DEFAULT 0,
    national_id TEXT UNIQUE,
    national_id_verified SMALLINT NOT NULL DEFAULT 0,
    tax_code TEXT,
    address TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One login at one identity source, linked to an account.
CREATE TABLE identities (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    source_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT,
    UNIQUE (source_id, subject)
);
CREATE INDEX identities_account ON identities (account_id);

-- Local passwords (argon2id PHC strings).
CREATE TABLE passwords (
    username TEXT PRIMARY KEY,
    account_id TEXT NOT NULL UNIQUE REFERENCES accounts (id) ON DELETE CASCADE,
    hash TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE clients (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT,
    auth_method TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    grant_types TEXT NOT NULL,
    scopes TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    sector TEXT,
    jwks_uri TEXT,
    backchannel_logout_uri TEXT,
    first_party SMALLINT NOT NULL,
    id_token_alg TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- SSO browser sessions; the cookie holds a random token, stored here only hashed.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    source_id TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    acr TEXT NOT NULL,
    amr TEXT NOT NULL,
    user_agent TEXT,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Authorization requests waiting for login or consent, bound to one browser.
CREATE TABLE pending_authorizations (
    id TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    browser_binding TEXT NOT NULL,
    session_id TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pending_authorizations_expires ON pending_authorizations (expires_at);

CREATE TABLE authorization_codes (
    code_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    auth_time BIGINT NOT NULL,
    acr TEXT NOT NULL,
    amr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT
);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);
CREATE INDEX authorization_codes_grant ON authorization_codes (grant_id);

-- Consent remembered per account and client: the scopes granted so far.
CREATE TABLE consents (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, client_id)
);

-- Signing keys, private part sealed with AES-256-GCM under the master key.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    private_key BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    activates_at BIGINT NOT NULL,
    retired_at BIGINT,
    expires_at BIGINT
);
