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
    PERFORM session_sync.session_sync_flush(v_ids);
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_purchase_sessions_trigger IS 'session_sync_purchase_sessions_trigger() -- statement-level AFTER INSERT / UPDATE on
purchase_sessions (transition tables new_rows, old_rows), for a statement past 64 KB of notes
(see the trigger session_sync_note_purchases_insert).
Contract: syncs at once, set-based, with the transaction''s notes (session_sync_flush; queued
instead with session_sync.enabled off), the purchases whose sessions were inserted, or changed
in a value the mapping reads (both purchases when a session moved). Deleting purchase
sessions fires nothing: tutoring sessions are never deleted.
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';
