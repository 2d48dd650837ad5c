-- A tamper-evident audit trail (issue 22): each row's place in one chain, the hash of
-- the row before it and its own hash; the head (last seq and hash), taken by every
-- append in its transaction so that appends are serial. Rows from before this
-- migration keep NULLs and are reported as outside the chain.
ALTER TABLE audit_log ADD COLUMN seq BIGINT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN row_hash TEXT;
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);
CREATE TABLE audit_chain (
    id INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL,
    head_hash TEXT NOT NULL
);
INSERT INTO audit_chain (id, seq, head_hash) VALUES (1, 0, '');
