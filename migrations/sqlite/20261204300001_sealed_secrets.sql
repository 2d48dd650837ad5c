-- Secrets that must outlive a master-key rotation, sealed under the current master key
-- and re-sealed by `portico keys rotate-master` (docs/tokens.md, "Master key
-- rotation"). One row today: `pairwise_subject_key`, taken once from the original
-- master key, so that no rotation changes a pairwise `sub` or `sid`.
CREATE TABLE sealed_secrets (
    name TEXT PRIMARY KEY,
    sealed BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
