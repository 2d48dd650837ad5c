-- `audit_log_account` served no query (`tail` filters by account while it walks
-- `occurred_at`); every append paid for it (issue 22). SQLite's table is rebuilt in
-- chain order in its migration of the same name.
DROP INDEX audit_log_account;
