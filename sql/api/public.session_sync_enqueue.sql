CREATE OR REPLACE FUNCTION public.session_sync_enqueue(p_purchase_ids uuid[] DEFAULT NULL)
RETURNS integer
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT session_sync.session_sync_enqueue(p_purchase_ids);
END;

COMMENT ON FUNCTION public.session_sync_enqueue IS 'session_sync_enqueue(p_purchase_ids uuid[] DEFAULT NULL) -> integer
Contract (API): queues purchases for the next sync_all_sessions() or backfill: the given
ones, or with NULL every eligible purchase (a full re-examination). Returns how many were
queued. See session_sync.session_sync_enqueue(), which the triggers call by schema; this is
its face in public, bound to it when created, running as the package''s owner.';
