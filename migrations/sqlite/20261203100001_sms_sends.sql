-- One text message sent with a one-time code by an `sms_otp` source (owned by
-- src/store/sms_sends.rs): the counters behind "one code a minute per number" and the
-- hourly limits per number and per source, shared by every node. The number is kept
-- only as its SHA-256 (base64url). Rows older than a day are purged.
CREATE TABLE sms_sends (
    source_id TEXT NOT NULL,
    number_hash TEXT NOT NULL,
    sent_at BIGINT NOT NULL
);
CREATE INDEX sms_sends_number ON sms_sends (number_hash, sent_at);
CREATE INDEX sms_sends_source ON sms_sends (source_id, sent_at);
