CREATE OR REPLACE FUNCTION session_sync.session_sync_tutoring_sessions_trigger()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_ids uuid[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM session_sync.session_sync_enqueue(NULL);
        RETURN NULL;
    END IF;
    SELECT array_agg(DISTINCT o.id) INTO v_ids
    FROM unnest(ARRAY[CASE WHEN TG_OP <> 'INSERT' THEN session_sync.session_sync_owner(OLD.metadata) END,
                      CASE WHEN TG_OP <> 'DELETE' THEN session_sync.session_sync_owner(NEW.metadata) END]) AS o(id)
    WHERE o.id IS NOT NULL;
    IF v_ids IS NOT NULL THEN
        PERFORM session_sync.session_sync_enqueue(v_ids);
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_tutoring_sessions_trigger IS 'session_sync_tutoring_sessions_trigger() -- the function of the tracking triggers on
tutoring_sessions (see the trigger session_sync_tutoring_insert_delete).
Contract: queues the purchases the old and new rows name in metadata.purchaseId (every
eligible purchase after a TRUNCATE): an app''s edit may have put them out of sync. Reads no
table, so nothing a platform migration holds makes the write wait; a row without a
purchaseId queues nothing, and the write never fails.';
