CREATE OR REPLACE FUNCTION session_sync.session_sync_owned_by(p_metadata jsonb, p_purchase_id uuid)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN coalesce(p_metadata ->> 'purchaseId' = p_purchase_id::text, false)
    OR coalesce(session_sync.session_sync_owner(p_metadata) = p_purchase_id, false);

COMMENT ON FUNCTION session_sync.session_sync_owned_by IS 'session_sync_owned_by(p_metadata jsonb, p_purchase_id uuid) -> boolean
Contract: whether a tutoring session with this metadata belongs to the purchase:
session_sync_owner(p_metadata) = p_purchase_id, never NULL (false when either is NULL).
The text of "purchaseId" is compared first: the sync writes it as the id''s canonical text, so
the common case costs no UUID validation (a regular expression, about 6 µs, which the
classification of a million sessions paid per row); any other spelling is validated by
session_sync_owner as before. Never raises. Inlinable (SQL-standard body, bound at creation).';
