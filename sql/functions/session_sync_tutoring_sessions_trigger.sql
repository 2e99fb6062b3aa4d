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
    -- Read no table: the row itself names its purchase (metadata.purchaseId, which the sync
    -- writes). A read of purchase_sessions would wait behind a migration's ALTER TABLE there
    -- (and deadlock with it), and under SERIALIZABLE take part in the writer's checks (40001).
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

COMMENT ON FUNCTION session_sync.session_sync_tutoring_sessions_trigger IS 'session_sync_tutoring_sessions_trigger() -- row-level AFTER INSERT / UPDATE / DELETE on
tutoring_sessions, fired only for writes other than the sync''s own (session_sync.applying
is not this transaction''s id) and, for UPDATE, only when a column the mapping writes
changed; and statement-level AFTER TRUNCATE, which queues every eligible purchase.
Contract: queues the purchases the old and new rows name in metadata.purchaseId, so the
next sync_all_sessions() re-examines them: an app that edits, deletes or inserts a tutoring
session may have put its purchase out of sync. Reads no table (nothing a platform
migration holds can make the app''s write wait). A row without a purchaseId belongs to no
purchase: nothing is queued, and the write never fails.
Runs as its owner (SECURITY DEFINER) with a fixed search_path: callers need EXECUTE
(role session_sync_runner), not rights on the platform''s tables.';
