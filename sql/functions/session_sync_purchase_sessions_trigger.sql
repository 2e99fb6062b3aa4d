CREATE OR REPLACE FUNCTION session_sync.session_sync_purchase_sessions_trigger()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_ids text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT string_agg(DISTINCT n.purchase_id::text, ',') INTO v_ids
        FROM new_rows n;
    ELSE
        WITH n AS (
            SELECT r.id, r.purchase_id, r.booking_id, r.session_number, r.session_date, r.session_time,
                   r.session_type, r.status, r.metadata
            FROM new_rows r
        ), o AS (
            SELECT r.id, r.purchase_id, r.booking_id, r.session_number, r.session_date, r.session_time,
                   r.session_type, r.status, r.metadata
            FROM old_rows r
        ), changed AS (
            (SELECT * FROM n EXCEPT ALL SELECT * FROM o)
            UNION ALL
            (SELECT * FROM o EXCEPT ALL SELECT * FROM n)
        )
        SELECT string_agg(DISTINCT c.purchase_id::text, ',') INTO v_ids FROM changed c;
    END IF;
    IF v_ids IS NOT NULL THEN
        PERFORM set_config('session_sync.pending',
                           coalesce(current_setting('session_sync.pending', true), '') || ',' || v_ids, true);
    END IF;
    PERFORM session_sync.session_sync_flush();
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_purchase_sessions_trigger IS 'session_sync_purchase_sessions_trigger() -- statement-level AFTER INSERT / AFTER UPDATE on
purchase_sessions, with transition tables new_rows (and old_rows for UPDATE).
Contract: fires only for a statement that filled the transaction''s notes past 64 KB (a bulk
write; its WHEN clause), and syncs at once, set-based (session_sync_flush), the notes and the purchases whose sessions
were inserted, or changed in a value the mapping reads: id, purchase_id, booking_id,
session_number, session_date, session_time, session_type, status, metadata (both purchases
when a session moved, and a session whose id changed is synced under its new id). Purchases
that are not eligible are skipped by the sync; protected tutoring sessions are never
changed. Deleting purchase sessions fires nothing: tutoring sessions are never deleted.
With session_sync.enabled off the purchases are queued for the next sync_all_sessions().
Smaller statements are noted by the row-level triggers'' WHEN clauses and synced at COMMIT.
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';
