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
    IF v_ids IS NOT NULL THEN
        PERFORM set_config('session_sync.pending',
                           coalesce(current_setting('session_sync.pending', true), '') || ',' || v_ids, true);
    END IF;
    PERFORM session_sync.session_sync_flush();
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_course_purchases_trigger IS 'session_sync_course_purchases_trigger() -- statement-level AFTER INSERT / AFTER UPDATE on
course_purchases, with transition tables new_rows (and old_rows for UPDATE).
Contract: fires only for a statement that filled the transaction''s notes past 64 KB (a bulk
write; its WHEN clause), and syncs at once, set-based (session_sync_flush), the notes and every purchase inserted eligible
(trainer_id set, status ASSIGNED), and every purchase an UPDATE changed in a value the
mapping reads: id, booking_id, trainer_id, status, students, student_location, course_id,
delivery_mode, total_sessions, start_date, preferred_time_slot, created_at (both the old and
the new id when the id itself changed). With session_sync.enabled off they are queued
for the next sync_all_sessions() instead. Smaller statements are noted by the row-level
triggers'' WHEN clauses and synced at COMMIT.
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';
