-- session_sync_enqueue(p_purchase_ids uuid[] DEFAULT NULL) -> integer
-- Contract: puts purchases in session_sync_queue, the list sync_all_sessions() and the
-- batched backfill work through: the given ones, or with NULL every eligible purchase (a
-- full re-examination, e.g. after writes made with the triggers disabled or
-- session_replication_role = replica). A purchase already queued gets a new version, so a
-- sync that read the old one keeps it queued. NULL ids are skipped. Returns how many
-- purchases were queued. The tracking triggers call it; so can an operator.
-- Runs as its owner (SECURITY DEFINER) with a fixed search_path: callers need EXECUTE
-- (role session_sync_runner), not rights on the platform's tables.
CREATE OR REPLACE FUNCTION public.session_sync_enqueue(p_purchase_ids uuid[] DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    IF p_purchase_ids IS NULL THEN
        INSERT INTO public.session_sync_queue (purchase_id)
        SELECT p.id FROM public.course_purchases p
        WHERE p.trainer_id IS NOT NULL AND p.status = 'ASSIGNED'
        ORDER BY p.id
        ON CONFLICT (purchase_id) DO UPDATE
            SET version = excluded.version, queued_at = excluded.queued_at;
    ELSE
        INSERT INTO public.session_sync_queue (purchase_id)
        SELECT DISTINCT i.id FROM unnest(p_purchase_ids) AS i(id)
        WHERE i.id IS NOT NULL
        ORDER BY i.id
        ON CONFLICT (purchase_id) DO UPDATE
            SET version = excluded.version, queued_at = excluded.queued_at;
    END IF;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;
