CREATE OR REPLACE FUNCTION public.session_sync_reasons()
RETURNS TABLE (reason text, sqlstate text, hint text)
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT r.reason, r.sqlstate, r.hint FROM session_sync.session_sync_reasons() r;
END;

COMMENT ON FUNCTION public.session_sync_reasons IS 'session_sync_reasons() -> TABLE(reason, sqlstate, hint)
Contract (API): the reference list of the reasons a purchase cannot be synced, each with the
SQLSTATE that sync_purchase_sessions() raises for it and the hint shown to the user; every
error message of the package begins with one of these reason codes. The list itself is
session_sync.session_sync_reasons(), which the package''s routines read (by schema, where no
other role can create a look-alike); this is its face in public, bound to it when created.';
