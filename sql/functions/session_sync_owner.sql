CREATE OR REPLACE FUNCTION session_sync.session_sync_owner(p_metadata jsonb)
RETURNS uuid
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN jsonb_typeof(p_metadata) = 'object' AND jsonb_typeof(p_metadata -> 'purchaseId') = 'string'
    THEN session_sync.session_sync_uuid(p_metadata ->> 'purchaseId')
END;

COMMENT ON FUNCTION session_sync.session_sync_owner IS 'session_sync_owner(p_metadata jsonb) -> uuid
Contract: the purchase a tutoring session belongs to: the UUID in its metadata''s
"purchaseId" (any letter case), or NULL when its metadata is not an object or names none.
A tutoring session belongs to a purchase only when this is that purchase''s id; any other row
with a purchase session''s id is a SESSION_CONFLICT and is never written. The one
definition of ownership: the views and the write routine read it. Never raises.';
