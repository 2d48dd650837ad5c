-- The `claims` request parameter (OIDC Core section 5.5). A code and a refresh token
-- family carry the names of the claims asked for by name (JSON, NULL when none:
-- `model::RequestedClaims`), and consent is remembered per claim as it is per scope:
-- one row per account, client and claim, so a grant is one `INSERT ... ON CONFLICT DO
-- NOTHING` and two grants at once both count.
ALTER TABLE authorization_codes ADD COLUMN claims TEXT;
ALTER TABLE refresh_tokens ADD COLUMN claims TEXT;
CREATE TABLE consent_claims (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    claim TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, client_id, claim)
);
