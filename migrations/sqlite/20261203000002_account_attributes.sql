-- Verified attributes on the account: one JSON object of records by claim name,
-- {"value": .., "verified": bool, "source": source id or "operator", "loa": 1-4 (absent
-- for the operator), "at": seconds}, read with the account in the same statement
-- (`model::Attributes`, `store::accounts`). The former columns are carried over as the
-- operator's entries and dropped; `national_id` and `national_id_verified` stay as the
-- unique, indexed copy of the national id record that linking looks up.
ALTER TABLE accounts ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
-- json_patch onto {} drops the members that are NULL (RFC 7396).
UPDATE accounts SET attributes = json_patch('{}', json_object(
    'name', CASE WHEN name IS NULL THEN NULL ELSE json_object('value', name, 'verified', json('false'), 'source', 'operator', 'at', updated_at) END,
    'given_name', CASE WHEN given_name IS NULL THEN NULL ELSE json_object('value', given_name, 'verified', json('false'), 'source', 'operator', 'at', updated_at) END,
    'family_name', CASE WHEN family_name IS NULL THEN NULL ELSE json_object('value', family_name, 'verified', json('false'), 'source', 'operator', 'at', updated_at) END,
    'birthdate', CASE WHEN birthdate IS NULL THEN NULL ELSE json_object('value', birthdate, 'verified', json('false'), 'source', 'operator', 'at', updated_at) END,
    'email', CASE WHEN email IS NULL THEN NULL ELSE json_object('value', email, 'verified', json(CASE email_verified WHEN 0 THEN 'false' ELSE 'true' END), 'source', 'operator', 'at', updated_at) END,
    'phone_number', CASE WHEN phone IS NULL THEN NULL ELSE json_object('value', phone, 'verified', json(CASE phone_verified WHEN 0 THEN 'false' ELSE 'true' END), 'source', 'operator', 'at', updated_at) END,
    'national_id', CASE WHEN national_id IS NULL THEN NULL ELSE json_object('value', national_id, 'verified', json(CASE national_id_verified WHEN 0 THEN 'false' ELSE 'true' END), 'source', 'operator', 'at', updated_at) END,
    'tax_code', CASE WHEN tax_code IS NULL THEN NULL ELSE json_object('value', tax_code, 'verified', json('false'), 'source', 'operator', 'at', updated_at) END,
    'address', CASE WHEN address IS NULL THEN NULL ELSE json_object('value', json(address), 'verified', json('false'), 'source', 'operator', 'at', updated_at) END
));
ALTER TABLE accounts DROP COLUMN name;
ALTER TABLE accounts DROP COLUMN given_name;
ALTER TABLE accounts DROP COLUMN family_name;
ALTER TABLE accounts DROP COLUMN birthdate;
ALTER TABLE accounts DROP COLUMN email;
ALTER TABLE accounts DROP COLUMN email_verified;
ALTER TABLE accounts DROP COLUMN phone;
ALTER TABLE accounts DROP COLUMN phone_verified;
ALTER TABLE accounts DROP COLUMN tax_code;
ALTER TABLE accounts DROP COLUMN address;
