-- A person acting for an enterprise: recorded when a verified certificate names both
-- the person (CCCD/CMND) and the enterprise (MST), docs/pki.md. One row per person and
-- tax code; `enterprise_account_id` is the enterprise's own account when one has logged
-- in with its MST certificate at the same source. `certificate` is the last certificate
-- that showed it (issuer and serial, as audited).
CREATE TABLE representations (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    tax_code TEXT NOT NULL,
    enterprise_account_id TEXT REFERENCES accounts(id) ON DELETE SET NULL,
    source_id TEXT NOT NULL,
    certificate TEXT NOT NULL,
    since BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, tax_code)
);
CREATE INDEX representations_tax_code ON representations (tax_code);
