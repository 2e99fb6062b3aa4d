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
"purchaseId" (any letter case), else NULL. The one definition of ownership: a tutoring
session with a purchase session''s id that another purchase (or none) owns is a
SESSION_CONFLICT and is never written. Never raises.';
