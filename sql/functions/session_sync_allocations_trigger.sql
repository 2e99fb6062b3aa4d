CREATE OR REPLACE FUNCTION session_sync.session_sync_allocations_trigger()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_ids uuid[];
    v_lock_timeout text := current_setting('lock_timeout');
    v_read boolean := current_setting('transaction_isolation') <> 'serializable';
BEGIN
    IF v_read THEN
        BEGIN  -- a migration holding course_purchases: past 50 ms, the metadata as under SERIALIZABLE
            PERFORM set_config('lock_timeout', '50ms', true);
            IF TG_OP = 'INSERT' THEN
                WITH changed AS (
                    SELECT n.student_id, n.trainer_id, n.course_id FROM new_rows n
                    WHERE session_sync.session_sync_allocation_usable(n.status)
                )
                SELECT array_agg(DISTINCT p.id) INTO v_ids
                FROM changed a
                JOIN public.course_purchases p ON p.trainer_id = a.trainer_id AND p.course_id = a.course_id
                WHERE session_sync.session_sync_eligible(p.trainer_id, p.status)
                  AND session_sync.session_sync_primary_student(p.students) = a.student_id;
            ELSE
                WITH moved AS (
                    SELECT o.student_id AS old_student, o.trainer_id AS old_trainer, o.course_id AS old_course,
                           o.status AS old_status, n.student_id, n.trainer_id, n.course_id, n.status
                    FROM new_rows n
                    JOIN old_rows o ON o.id = n.id
                    WHERE (o.status, o.student_id, o.trainer_id, o.course_id, o.requested_at)
                          IS DISTINCT FROM (n.status, n.student_id, n.trainer_id, n.course_id, n.requested_at)
                ), changed AS (
                    SELECT m.old_student AS student_id, m.old_trainer AS trainer_id, m.old_course AS course_id
                    FROM moved m WHERE session_sync.session_sync_allocation_usable(m.old_status)
                    UNION
                    SELECT m.student_id, m.trainer_id, m.course_id
                    FROM moved m WHERE session_sync.session_sync_allocation_usable(m.status)
                )
                SELECT array_agg(DISTINCT p.id) INTO v_ids
                FROM changed a
                JOIN public.course_purchases p ON p.trainer_id = a.trainer_id AND p.course_id = a.course_id
                WHERE session_sync.session_sync_eligible(p.trainer_id, p.status)
                  AND session_sync.session_sync_primary_student(p.students) = a.student_id;
            END IF;
            PERFORM set_config('lock_timeout', v_lock_timeout, true);
        EXCEPTION WHEN lock_not_available THEN
            v_read := false;
        END;
    END IF;
    IF NOT v_read THEN
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(DISTINCT session_sync.session_sync_owner(n.metadata)) INTO v_ids
            FROM new_rows n WHERE session_sync.session_sync_owner(n.metadata) IS NOT NULL;
        ELSE
            SELECT array_agg(DISTINCT x.id) INTO v_ids
            FROM (SELECT session_sync.session_sync_owner(n.metadata) AS id FROM new_rows n
                  UNION ALL
                  SELECT session_sync.session_sync_owner(o.metadata) FROM old_rows o) x
            WHERE x.id IS NOT NULL;
        END IF;
    END IF;
    IF v_ids IS NOT NULL THEN
        PERFORM session_sync.session_sync_enqueue(v_ids);
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_allocations_trigger IS 'session_sync_allocations_trigger() -- statement-level AFTER INSERT / UPDATE on trainer_allocations
(see the trigger session_sync_tutoring_insert_delete).
Contract: queues every eligible purchase whose (primary student, trainer, course) is that
of a usable allocation inserted, or changed in status, student, trainer, course or
requested_at. Under SERIALIZABLE (a read would join the serialization checks), or when
course_purchases stays locked past 50 ms (a migration), it queues the purchases the rows''
metadata.purchaseId names (the package''s own allocations carry it).';
