-- The audit trail stored in chain order (issue 22): `seq` becomes the table's rowid, so
-- an append writes the table's last page and one index (`occurred_at`, for `tail` and
-- `recent`) instead of five B-trees. `id` stays as a column (nothing looks a row up by
-- it); `audit_log_account` served no query (`tail` filters by account while it walks
-- `occurred_at`). Rows from before the chain (no `seq`) take negative places, which
-- the chain does not cover and `verify` counts as outside it.
CREATE TABLE audit_log_by_seq (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    event TEXT NOT NULL,
    account_id TEXT,
    client_id TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT,
    row_hash TEXT
);
INSERT INTO audit_log_by_seq
    (seq, id, occurred_at, event, account_id, client_id, detail, prev_hash, row_hash)
SELECT COALESCE(seq, -rowid), id, occurred_at, event, account_id, client_id, detail,
    prev_hash, row_hash
FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_by_seq RENAME TO audit_log;
CREATE INDEX audit_log_occurred ON audit_log (occurred_at);
