-- Each node mirrors the deny list and reads what other nodes revoked since its last
-- read (src/oidc/deny_list.rs).
CREATE INDEX revocations_revoked_at ON revocations (revoked_at);
