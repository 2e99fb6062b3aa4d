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
Contract (API): queues the given purchases, or with NULL every eligible one, for the next
sync_all_sessions() or backfill; returns how many were queued. The public face of
session_sync.session_sync_enqueue().';
