-- Single sign-on and logout: which portals received tokens under each session (with the
-- sid each was given), front-channel logout URIs, and the back-channel delivery outbox.

ALTER TABLE clients ADD COLUMN frontchannel_logout_uri TEXT;
-- Resource indicators this client serves as a resource server: it may introspect the
-- access tokens issued for them (RFC 7662 section 4).
ALTER TABLE clients ADD COLUMN serves TEXT NOT NULL DEFAULT '[]';

CREATE TABLE session_clients (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    sid TEXT NOT NULL,
    subject TEXT NOT NULL,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, client_id)
);

-- Back-channel logout notifications waiting to be delivered (or retried). The logout
-- token is signed at each attempt, so none rests here.
CREATE TABLE logout_deliveries (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    uri TEXT NOT NULL,
    sid TEXT NOT NULL,
    subject TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT,
    failed_at BIGINT,
    last_error TEXT
);
CREATE INDEX logout_deliveries_due ON logout_deliveries (next_attempt_at);
