CREATE OR REPLACE FUNCTION session_sync.session_sync_protected(p_status text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN p_status IN ('pending_verification', 'in_progress', 'pending_confirmation', 'completed', 'disputed');

COMMENT ON FUNCTION session_sync.session_sync_protected IS 'session_sync_protected(p_status text) -> boolean
Contract: whether a tutoring session with this status has happened or is happening
(pending_verification, in_progress, pending_confirmation, completed, disputed): no sync
ever changes it. The one definition of "protected".';
