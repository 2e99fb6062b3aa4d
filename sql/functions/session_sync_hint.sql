CREATE OR REPLACE FUNCTION session_sync.session_sync_hint(p_reason text)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN (SELECT r.hint FROM session_sync.session_sync_reasons() r WHERE r.reason = p_reason);

COMMENT ON FUNCTION session_sync.session_sync_hint IS 'session_sync_hint(p_reason text) -> text
Contract: the hint of a reason code as session_sync_reasons() lists it; NULL for an unknown code.';
