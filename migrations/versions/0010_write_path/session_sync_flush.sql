-- session_sync_flush() -> void
-- Contract (internal; the COMMIT trigger and session_sync_note call it): syncs the purchases
-- noted in session_sync.pending by this transaction's writes (session_sync_trigger_sync) and
-- clears the note. Does nothing when none is noted.
-- Runs as its owner (SECURITY DEFINER) with a fixed search_path.
CREATE OR REPLACE FUNCTION session_sync.session_sync_flush()
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_pending text := coalesce(current_setting('session_sync.pending', true), '');
    v_ids uuid[];
BEGIN
    IF v_pending = '' THEN
        RETURN;
    END IF;
    PERFORM set_config('session_sync.pending', '', true);
    SELECT array_agg(DISTINCT i.id::uuid) INTO v_ids FROM unnest(string_to_array(v_pending, ',')) AS i(id);
    PERFORM session_sync.session_sync_trigger_sync(v_ids);
END;
$$;
