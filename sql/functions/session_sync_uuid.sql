CREATE OR REPLACE FUNCTION session_sync.session_sync_uuid(p_value text)
RETURNS uuid
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN p_value ~ '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$'
    THEN p_value::uuid
END;

COMMENT ON FUNCTION session_sync.session_sync_uuid IS 'session_sync_uuid(p_value text) -> uuid
Contract: p_value as a uuid when it is a canonical 8-4-4-4-12 hex UUID, else NULL. Never raises.';
