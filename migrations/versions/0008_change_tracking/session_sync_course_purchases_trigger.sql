-- session_sync_course_purchases_trigger() -- statement-level AFTER INSERT / AFTER UPDATE on
-- course_purchases, with transition tables new_rows (and old_rows for UPDATE).
-- Contract: syncs, in the same transaction, every purchase that is eligible after the
-- statement (trainer_id set, status ASSIGNED) and was inserted so, or whose trainer, status,
-- students, student_location, course or delivery mode changed (an assignment, a trainer change,
-- a fixed location). With session_sync.enabled off it only queues them (session_sync_enqueue)
-- for the next sync_all_sessions(). See session_sync_trigger_sync().
-- Runs as its owner (SECURITY DEFINER) with a fixed search_path: callers need EXECUTE
-- (role session_sync_runner), not rights on the platform's tables.
CREATE OR REPLACE FUNCTION public.session_sync_course_purchases_trigger()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_ids uuid[];
BEGIN

    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.id) INTO v_ids
        FROM new_rows n
        WHERE n.trainer_id IS NOT NULL AND n.status = 'ASSIGNED';
    ELSE
        SELECT array_agg(n.id) INTO v_ids
        FROM new_rows n
        JOIN old_rows o ON o.id = n.id
        WHERE n.trainer_id IS NOT NULL AND n.status = 'ASSIGNED'
          AND (o.trainer_id, o.status, o.students, o.student_location, o.course_id, o.delivery_mode)
              IS DISTINCT FROM
              (n.trainer_id, n.status, n.students, n.student_location, n.course_id, n.delivery_mode);
    END IF;

    IF public.session_sync_setting('enabled', true) THEN
        PERFORM public.session_sync_trigger_sync(v_ids);
    ELSIF v_ids IS NOT NULL THEN
        PERFORM public.session_sync_enqueue(v_ids);
    END IF;
    RETURN NULL;
END;
$$;
