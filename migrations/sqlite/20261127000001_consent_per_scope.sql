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
INSERT OR IGNORE INTO consent_scopes (account_id, client_id, scope, granted_at)
WITH RECURSIVE split (account_id, client_id, granted_at, scope, rest) AS (
    SELECT account_id, client_id, granted_at, '', scope || ' ' FROM consents
    UNION ALL
    SELECT account_id, client_id, granted_at, substr(rest, 1, instr(rest, ' ') - 1),
        substr(rest, instr(rest, ' ') + 1)
    FROM split WHERE rest <> ''
)
SELECT account_id, client_id, scope, granted_at FROM split WHERE scope <> '';
DROP TABLE consents;
ALTER TABLE consent_scopes RENAME TO consents;
