-- The end of the last block whose first refused attempt was audited: later refusals in
-- the same block are not audited one by one (a flood of them would queue every audit
-- append behind the chain's head).
ALTER TABLE throttle ADD COLUMN audited_until BIGINT NOT NULL DEFAULT 0;
