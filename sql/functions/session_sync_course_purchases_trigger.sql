CREATE OR REPLACE FUNCTION session_sync.session_sync_course_purchases_trigger()
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
        SELECT string_agg(n.id::text, ',') INTO v_ids
        FROM new_rows n
        WHERE session_sync.session_sync_eligible(n.trainer_id, n.status);
    ELSE
        WITH n AS (
            SELECT r.id, r.booking_id, r.trainer_id, r.status, r.students, r.student_location, r.course_id,
                   r.delivery_mode, r.total_sessions, r.start_date, r.preferred_time_slot, r.created_at
            FROM new_rows r
        ), o AS (
            SELECT r.id, r.booking_id, r.trainer_id, r.status, r.students, r.student_location, r.course_id,
                   r.delivery_mode, r.total_sessions, r.start_date, r.preferred_time_slot, r.created_at
            FROM old_rows r
        ), changed AS (
            (SELECT * FROM n EXCEPT ALL SELECT * FROM o)
            UNION ALL
            (SELECT * FROM o EXCEPT ALL SELECT * FROM n)
        )
        SELECT string_agg(DISTINCT c.id::text, ',') INTO v_ids FROM changed c;
    END IF;
    PERFORM session_sync.session_sync_flush(v_ids);
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_course_purchases_trigger IS 'session_sync_course_purchases_trigger() -- statement-level AFTER INSERT / UPDATE on
course_purchases (transition tables new_rows, old_rows), for a statement past 64 KB of notes
(see the trigger session_sync_note_purchases_insert).
Contract: syncs at once, set-based, with the transaction''s notes (session_sync_flush; queued
instead with session_sync.enabled off), every purchase inserted eligible and every purchase
(old and new id) an UPDATE changed in a value the mapping reads.
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';
