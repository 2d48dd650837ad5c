-- The client address that asked for each text message (src/store/sms_sends.rs), as the
-- SHA-256 (base64url) of the address as counted (an IPv6 client by its /64), for the
-- per-address hourly limit of `sms_otp` sources (`per_address_per_hour`). NULL when the
-- address was unknown. Rows sent before this column count for no address.
ALTER TABLE sms_sends ADD COLUMN address_hash TEXT;
CREATE INDEX sms_sends_address ON sms_sends (address_hash, sent_at);
