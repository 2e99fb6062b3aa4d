-- session_sync_course_purchases_trigger() -- statement-level AFTER INSERT / AFTER UPDATE on
-- course_purchases, with transition tables new_rows (and old_rows for UPDATE).
-- Contract: notes for the sync at COMMIT (session_sync_note) every purchase inserted eligible
-- (trainer_id set, status ASSIGNED), and every purchase an UPDATE changed in a value the
-- mapping reads: id, booking_id, trainer_id, status, students, student_location, course_id,
-- delivery_mode, total_sessions, start_date, preferred_time_slot, created_at (both the old and
-- the new id when the id itself changed). With session_sync.enabled off they are queued for
-- the next sync_all_sessions() instead.
-- Runs as its owner (SECURITY DEFINER) with a fixed search_path.
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
        WHERE n.trainer_id IS NOT NULL AND n.status = 'ASSIGNED';
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
    PERFORM session_sync.session_sync_note(v_ids);
    RETURN NULL;
END;
$$;
