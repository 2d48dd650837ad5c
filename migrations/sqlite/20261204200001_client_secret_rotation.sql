-- A client secret rotated with an overlap (`portico client rotate-secret`): the
-- previous secret's SHA-256 and the second it stops working. Both NULL when there is
-- no overlap in force (or it ended at the next rotation).
ALTER TABLE clients ADD COLUMN previous_secret_hash TEXT;
ALTER TABLE clients ADD COLUMN previous_secret_expires_at INTEGER;
