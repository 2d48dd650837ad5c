-- Consent as one row per account, client and scope, so that a grant is one
-- `INSERT ... ON CONFLICT DO NOTHING` (src/store/consents.rs) and two grants at once
-- both count (a read, a merge and a write of one row per account and client could
-- lose one). The rows of the former table are carried over, split at the spaces.
CREATE TABLE consent_scopes (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, client_id, scope)
);
INSERT INTO consent_scopes (account_id, client_id, scope, granted_at)
SELECT account_id, client_id, granted.scope, granted_at
FROM consents, regexp_split_to_table(consents.scope, ' ') AS granted (scope)
WHERE granted.scope <> ''
ON CONFLICT DO NOTHING;
DROP TABLE consents;
ALTER TABLE consent_scopes RENAME TO consents;
ALTER TABLE consents RENAME CONSTRAINT consent_scopes_pkey TO consents_pkey;
ALTER TABLE consents RENAME CONSTRAINT consent_scopes_account_id_fkey TO consents_account_id_fkey;
ALTER TABLE consents RENAME CONSTRAINT consent_scopes_client_id_fkey TO consents_client_id_fkey;
