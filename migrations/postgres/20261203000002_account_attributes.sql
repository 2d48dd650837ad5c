-- Verified attributes on the account: one JSON object of records by claim name,
-- {"value": .., "verified": bool, "source": source id or "operator", "loa": 1-4 (absent
-- for the operator), "at": seconds}, read with the account in the same statement
-- (`model::Attributes`, `store::accounts`). The former columns are carried over as the
-- operator's entries and dropped; `national_id` and `national_id_verified` stay as the
-- unique, indexed copy of the national id record that linking looks up.
ALTER TABLE accounts ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
UPDATE accounts SET attributes = jsonb_strip_nulls(jsonb_build_object(
    'name', CASE WHEN name IS NULL THEN NULL ELSE jsonb_build_object('value', name, 'verified', false, 'source', 'operator', 'at', updated_at) END,
    'given_name', CASE WHEN given_name IS NULL THEN NULL ELSE jsonb_build_object('value', given_name, 'verified', false, 'source', 'operator', 'at', updated_at) END,
    'family_name', CASE WHEN family_name IS NULL THEN NULL ELSE jsonb_build_object('value', family_name, 'verified', false, 'source', 'operator', 'at', updated_at) END,
    'birthdate', CASE WHEN birthdate IS NULL THEN NULL ELSE jsonb_build_object('value', birthdate, 'verified', false, 'source', 'operator', 'at', updated_at) END,
    'email', CASE WHEN email IS NULL THEN NULL ELSE jsonb_build_object('value', email, 'verified', email_verified <> 0, 'source', 'operator', 'at', updated_at) END,
    'phone_number', CASE WHEN phone IS NULL THEN NULL ELSE jsonb_build_object('value', phone, 'verified', phone_verified <> 0, 'source', 'operator', 'at', updated_at) END,
    'national_id', CASE WHEN national_id IS NULL THEN NULL ELSE jsonb_build_object('value', national_id, 'verified', national_id_verified <> 0, 'source', 'operator', 'at', updated_at) END,
    'tax_code', CASE WHEN tax_code IS NULL THEN NULL ELSE jsonb_build_object('value', tax_code, 'verified', false, 'source', 'operator', 'at', updated_at) END,
    'address', CASE WHEN address IS NULL THEN NULL ELSE jsonb_build_object('value', address::jsonb, 'verified', false, 'source', 'operator', 'at', updated_at) END
))::text;
ALTER TABLE accounts DROP COLUMN name, DROP COLUMN given_name, DROP COLUMN family_name, DROP COLUMN birthdate, DROP COLUMN email, DROP COLUMN email_verified, DROP COLUMN phone, DROP COLUMN phone_verified, DROP COLUMN tax_code, DROP COLUMN address;
