-- The account's verified phone number (E.164), copied from its `phone_number` record
-- in `attributes` whenever attributes are written, in the same statement
-- (src/store/accounts.rs): the indexed lookup that lets a text-message login find the
-- account whose verified phone the number is. NULL when the account has no phone or an
-- unverified one. Not unique: numbers are recycled, and two accounts may hold one
-- (a login by that number then picks neither: src/store/identities.rs).
ALTER TABLE accounts ADD COLUMN verified_phone TEXT;
UPDATE accounts SET verified_phone = json_extract(attributes, '$.phone_number.value')
 WHERE json_extract(attributes, '$.phone_number.verified') = 1
   AND json_type(attributes, '$.phone_number.value') = 'text';
CREATE INDEX accounts_verified_phone ON accounts (verified_phone);
