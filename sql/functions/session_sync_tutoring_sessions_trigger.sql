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
    ELSIF current_setting('transaction_isolation') = 'serializable' THEN
        -- Read nothing: a read of purchase_sessions here would take part in the writer's
        -- serializable checks and could fail its COMMIT (40001) where it commits without the
        -- package. The purchases the old and new rows name in metadata.purchaseId are queued
        -- (a row without one is not the sync's, and is left out).
        SELECT array_agg(DISTINCT o.id) INTO v_ids
        FROM unnest(ARRAY[CASE WHEN TG_OP <> 'INSERT' THEN session_sync.session_sync_owner(OLD.metadata) END,
                          CASE WHEN TG_OP <> 'DELETE' THEN session_sync.session_sync_owner(NEW.metadata) END]) AS o(id)
        WHERE o.id IS NOT NULL;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(ps.purchase_id) INTO v_ids FROM public.purchase_sessions ps WHERE ps.id = NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(ps.purchase_id) INTO v_ids FROM public.purchase_sessions ps WHERE ps.id = OLD.id;
    ELSE
        SELECT array_agg(ps.purchase_id) INTO v_ids FROM public.purchase_sessions ps WHERE ps.id IN (OLD.id, NEW.id);
    END IF;
    IF v_ids IS NOT NULL THEN
        PERFORM session_sync.session_sync_enqueue(v_ids);
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_tutoring_sessions_trigger IS 'session_sync_tutoring_sessions_trigger() -- row-level AFTER INSERT / UPDATE / DELETE on
tutoring_sessions, fired only for writes other than the sync''s own (session_sync.applying
is off) and, for UPDATE, only when a column the mapping writes changed; and statement-level
AFTER TRUNCATE, which queues every eligible purchase.
Contract: queues the purchase whose purchase session has the tutoring session''s id (old
and new id), so the next sync_all_sessions() re-examines it: an app that edits, deletes or
inserts a tutoring session may have put it out of sync. Never fails the write for a
tutoring session no purchase session maps to (nothing is queued). In a SERIALIZABLE
transaction it reads no table: it queues the purchase the row''s metadata.purchaseId names.
Runs as its owner (SECURITY DEFINER) with a fixed search_path: callers need EXECUTE
(role session_sync_runner), not rights on the platform''s tables.';
