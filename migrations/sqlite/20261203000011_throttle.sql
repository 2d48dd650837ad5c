-- Brute-force counters (issue 22, finding 1): one row per account at a source, client
-- address or client_id, keyed by a hash; shared by every node.
CREATE TABLE throttle (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX throttle_expires ON throttle (expires_at);
