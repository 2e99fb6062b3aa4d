CREATE OR REPLACE FUNCTION session_sync.session_sync_enqueue(p_purchase_ids uuid[] DEFAULT NULL)
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
        INSERT INTO public.session_sync_changes (purchase_id)
        SELECT p.id FROM public.course_purchases p
        WHERE session_sync.session_sync_eligible(p.trainer_id, p.status)
        ORDER BY p.id;
    ELSE
        INSERT INTO public.session_sync_changes (purchase_id)
        SELECT DISTINCT i.id FROM unnest(p_purchase_ids) AS i(id)
        WHERE i.id IS NOT NULL
        ORDER BY i.id;
    END IF;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_enqueue IS 'session_sync_enqueue(p_purchase_ids uuid[] DEFAULT NULL) -> integer
Contract: appends purchases to the change log session_sync_changes (seen through the view
session_sync_queue), which sync_all_sessions() and the batched backfill work through: the
given ones, or with NULL every eligible purchase (a full re-examination, e.g. after writes
made with the triggers disabled or session_replication_role = replica). Only ever inserts,
so concurrent callers never wait for each other; a purchase queued again while a run
examines it stays queued for the next run. NULL ids are skipped. Returns how many purchases
were queued. The tracking triggers call it; so can an operator.
Runs as its owner (SECURITY DEFINER) with a fixed search_path: callers need EXECUTE
(role session_sync_runner), not rights on the platform''s tables.';
