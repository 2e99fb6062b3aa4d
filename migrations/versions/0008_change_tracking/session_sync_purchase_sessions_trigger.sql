-- session_sync_purchase_sessions_trigger() -- statement-level AFTER INSERT / AFTER UPDATE on
-- purchase_sessions, with transition tables new_rows (and old_rows for UPDATE).
-- Contract: syncs, in the same transaction, the purchases whose sessions were inserted, or
-- whose sessions changed in a column the mapping reads (a reschedule, cancel, completion...).
-- Purchases that are not eligible are skipped silently (session_sync_process only takes
-- eligible ones); protected tutoring sessions are never
-- changed. Deleting purchase sessions fires nothing: tutoring sessions are never deleted.
-- With session_sync.enabled off it only queues them (session_sync_enqueue) for the next
-- sync_all_sessions(). See session_sync_trigger_sync().
-- Runs as its owner (SECURITY DEFINER) with a fixed search_path: callers need EXECUTE
-- (role session_sync_runner), not rights on the platform's tables.
CREATE OR REPLACE FUNCTION public.session_sync_purchase_sessions_trigger()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_ids uuid[];
BEGIN

    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.purchase_id) INTO v_ids
        FROM new_rows n;
    ELSE
        SELECT array_agg(DISTINCT n.purchase_id) INTO v_ids
        FROM new_rows n
        JOIN old_rows o ON o.id = n.id
        WHERE (o.purchase_id, o.booking_id, o.session_number, o.session_date, o.session_time, o.session_type,
               o.status, o.metadata)
              IS DISTINCT FROM
              (n.purchase_id, n.booking_id, n.session_number, n.session_date, n.session_time, n.session_type,
               n.status, n.metadata);
    END IF;

    IF public.session_sync_setting('enabled', true) THEN
        PERFORM public.session_sync_trigger_sync(v_ids);
    ELSIF v_ids IS NOT NULL THEN
        PERFORM public.session_sync_enqueue(v_ids);
    END IF;
    RETURN NULL;
END;
$$;
