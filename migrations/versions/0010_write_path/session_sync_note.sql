-- session_sync_note(p_ids text) -> void
-- Contract (internal; the statement triggers on course_purchases and purchase_sessions call
-- it): notes purchases (comma-separated ids) for the sync at COMMIT of the current
-- transaction. With session_sync.enabled off it queues them instead (session_sync_changes),
-- for the next sync_all_sessions(). The notes live in the transaction-local setting
-- session_sync.pending, so a rolled-back statement, savepoint or transaction takes its notes
-- with it; the deferred trigger session_sync_commit_trigger() syncs them once, at COMMIT (or
-- at SET CONSTRAINTS ... IMMEDIATE). Past about 25,000 noted purchases in one transaction,
-- the ones noted so far are synced at once, so the setting never grows without bound.
-- Runs as its owner (SECURITY DEFINER) with a fixed search_path.
CREATE OR REPLACE FUNCTION session_sync.session_sync_note(p_ids text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_enabled text := lower(btrim(coalesce(current_setting('session_sync.enabled', true), '')));
    v_pending text;
BEGIN
    IF v_enabled NOT IN ('', 'on', 'true', 'yes', '1')
       AND NOT session_sync.session_sync_setting('enabled', true) THEN  -- raises for a value that is not a boolean
        IF p_ids IS NULL OR p_ids = '' THEN
            RETURN;
        END IF;
        INSERT INTO public.session_sync_changes (purchase_id)
        SELECT DISTINCT i.id::uuid FROM unnest(string_to_array(p_ids, ',')) AS i(id)
        ORDER BY 1;
        RETURN;
    END IF;
    IF p_ids IS NULL OR p_ids = '' THEN
        RETURN;
    END IF;
    v_pending := coalesce(current_setting('session_sync.pending', true), '');
    IF v_pending = '' THEN
        PERFORM set_config('session_sync.pending', p_ids, true);
    ELSIF strpos(v_pending, p_ids) = 0 THEN
        IF length(v_pending) > 1000000 THEN
            PERFORM session_sync.session_sync_flush();
            PERFORM set_config('session_sync.pending', p_ids, true);
        ELSE
            PERFORM set_config('session_sync.pending', v_pending || ',' || p_ids, true);
        END IF;
    END IF;
END;
$$;
