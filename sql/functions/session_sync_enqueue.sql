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
Contract: appends the given purchases (NULLs skipped), or with NULL every eligible one, to
the change log session_sync_changes for the next sync_all_sessions() or backfill; returns
how many. Insert-only, so callers never wait for each other; a purchase queued again while
a run examines it stays queued for the next run.';
