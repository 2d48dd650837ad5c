-- One login attempt at an identity source that takes more than one request (owned by
-- src/login/). Found by the hash of its one-time handle (an upstream `state`, or a
-- hand-off token for another origin); its source's state is sealed (AES-256-GCM, bound
-- to the handle's hash); taken once; deleted on any failure and when it expires.
CREATE TABLE login_attempts (
    handle_hash TEXT PRIMARY KEY,
    source_id TEXT NOT NULL,
    -- Where the login goes when it succeeds (JSON: an authorization, or the account page).
    return_to TEXT NOT NULL,
    browser_binding TEXT NOT NULL,
    sealed_state BYTEA NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX login_attempts_expires ON login_attempts (expires_at);
