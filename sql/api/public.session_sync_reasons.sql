CREATE OR REPLACE FUNCTION public.session_sync_reasons()
RETURNS TABLE (reason text, sqlstate text, hint text)
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT r.reason, r.sqlstate, r.hint FROM session_sync.session_sync_reasons() r;
END;

COMMENT ON FUNCTION public.session_sync_reasons IS 'session_sync_reasons() -> TABLE(reason, sqlstate, hint)
Contract (API): the reasons a purchase cannot be synced, with the SQLSTATE
sync_purchase_sessions() raises for each and its hint. The public face of
session_sync.session_sync_reasons().';
