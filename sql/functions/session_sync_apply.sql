-- session_sync_apply(p_purchase_ids uuid[], p_missing_ids uuid[] DEFAULT NULL,
--                    p_drifted_ids uuid[] DEFAULT NULL) -> (sessions_created int, sessions_updated int)
-- Contract (internal; callers validate first): for purchases that can be synced and have no
-- SESSION_CONFLICT, in three set-based statements:
--   1. create the approved allocation of each (student, trainer, course) that has none
--      (approved or active) and has sessions, as shared/domain.md prescribes;
--   2. update every drifted, non-protected tutoring session to the mapped values;
--   3. insert every missing tutoring session.
-- p_missing_ids / p_drifted_ids, when the caller knows them, narrow steps 3 and 2 to the
-- purchases that have missing / drifted sessions (NULL: all of p_purchase_ids).
-- Raises ALLOCATION_FAILED or SESSION_WRITE_FAILED (the caller's transaction or savepoint
-- then undoes everything this call did). Lock timeouts, deadlocks and serialization failures
-- are raised as they are: they cut the run off, they say nothing about the purchase.
-- Concurrency: it first locks the purchases' rows (FOR NO KEY UPDATE, in id order), so two
-- syncs of one purchase (trigger, sync_all, sync_purchase_sessions, backfill) run one after
-- the other and the second sees what the first did; row locks, unlike advisory locks, do not
-- fill the lock table on a bulk of 100,000 purchases. Allocations and sessions are written in
-- key order, so overlapping writers wait for each other instead of deadlocking.
-- Runs as its owner (SECURITY DEFINER) with a fixed search_path: callers need EXECUTE
-- (role session_sync_runner), not rights on the platform's tables.
CREATE OR REPLACE FUNCTION public.session_sync_apply(
    p_purchase_ids uuid[],
    p_missing_ids uuid[] DEFAULT NULL,
    p_drifted_ids uuid[] DEFAULT NULL,
    OUT sessions_created integer,
    OUT sessions_updated integer
)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_single uuid := CASE WHEN cardinality(p_purchase_ids) = 1 THEN p_purchase_ids[1] END;
    v_purchase_id uuid;
    v_error text;
    v_candidates integer;
    v_inserted integer;
BEGIN
    sessions_created := 0;
    sessions_updated := 0;

    PERFORM 1 FROM public.course_purchases p
    WHERE p.id = ANY (p_purchase_ids)
    ORDER BY p.id
    FOR NO KEY UPDATE;

    BEGIN
        WITH candidates AS MATERIALIZED (
        SELECT DISTINCT ON (c.student_id, c.trainer_id, c.course_id)
            c.student_id, c.trainer_id, c.course_id, c.student_id, 'approved', now(),
            jsonb_build_object(
                'sessionCount', c.total_sessions,
                'isSundayOnly', c.delivery_mode = 'SUNDAY_ONLY',
                'schedule', jsonb_build_object('timeSlot', c.preferred_time_slot, 'date', c.start_date),
                'purchaseId', c.purchase_id,
                'bookingId', c.booking_id)
        FROM public.session_sync_purchase_check c
        WHERE c.purchase_id = ANY (p_purchase_ids)
          AND c.eligible
          AND c.reason IS NULL
          AND EXISTS (SELECT 1 FROM public.purchase_sessions ps WHERE ps.purchase_id = c.purchase_id)
          AND NOT EXISTS (
              SELECT 1 FROM public.trainer_allocations al
              WHERE al.student_id = c.student_id
                AND al.trainer_id = c.trainer_id
                AND al.course_id = c.course_id
                AND al.status IN ('approved', 'active'))
        ORDER BY c.student_id, c.trainer_id, c.course_id, c.created_at, c.purchase_id
        ), inserted AS (
            INSERT INTO public.trainer_allocations
                (student_id, trainer_id, course_id, requested_by, status, allocated_at, metadata)
            SELECT * FROM candidates
            ON CONFLICT DO NOTHING
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM candidates), (SELECT count(*) FROM inserted) INTO v_candidates, v_inserted;
    EXCEPTION
        WHEN lock_not_available OR deadlock_detected OR serialization_failure THEN
            RAISE;  -- a cut-off run, not a verdict on the purchase: the caller's transaction ends
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_error = MESSAGE_TEXT;
            PERFORM public.session_sync_raise('ALLOCATION_FAILED', v_single, v_error);
    END;

    -- An allocation skipped on conflict was made by a concurrent transaction: visible now that it
    -- has committed. If it rolled back instead, say so (only then is this check needed).
    IF v_inserted < v_candidates THEN
        SELECT e.purchase_id INTO v_purchase_id
        FROM public.session_sync_expected e
        WHERE e.purchase_id = ANY (p_purchase_ids) AND e.allocation_id IS NULL
        LIMIT 1;
    END IF;
    IF v_purchase_id IS NOT NULL THEN
        PERFORM public.session_sync_raise('ALLOCATION_FAILED', v_purchase_id,
            'no approved or active allocation exists after creating it; retry the sync');
    END IF;

    BEGIN
        UPDATE public.tutoring_sessions t
        SET allocation_id = s.allocation_id,
            student_id = s.student_id,
            trainer_id = s.trainer_id,
            course_id = s.course_id,
            scheduled_date = s.scheduled_date,
            scheduled_time = s.scheduled_time,
            duration = s.duration,
            status = s.status,
            student_home_location = s.student_home_location,
            metadata = s.merged_metadata,
            updated_at = now()
        FROM public.session_sync_session_state s
        WHERE s.purchase_id = ANY (coalesce(p_drifted_ids, p_purchase_ids))
          AND s.reason IS NULL
          AND s.state = 'drifted'
          AND t.id = s.session_id
          AND t.status NOT IN ('pending_verification', 'in_progress', 'pending_confirmation', 'completed', 'disputed')
          -- re-checked on the row as it is when locked: still this purchase's, still not protected
          AND jsonb_typeof(t.metadata) = 'object'
          AND t.metadata ->> 'purchaseId' = s.purchase_id::text;
        GET DIAGNOSTICS sessions_updated = ROW_COUNT;

        INSERT INTO public.tutoring_sessions
            (id, allocation_id, student_id, trainer_id, course_id, scheduled_date, scheduled_time,
             duration, status, student_home_location, metadata)
        SELECT e.session_id, e.allocation_id, e.student_id, e.trainer_id, e.course_id, e.scheduled_date,
               e.scheduled_time, e.duration, e.status, e.student_home_location, e.metadata
        FROM public.session_sync_expected e
        WHERE e.purchase_id = ANY (coalesce(p_missing_ids, p_purchase_ids))
          AND e.reason IS NULL
          -- missing: a plain anti-join (no drift test is needed for rows that do not exist)
          AND NOT EXISTS (SELECT 1 FROM public.tutoring_sessions t WHERE t.id = e.session_id)
        ORDER BY e.session_id
        ON CONFLICT (id) DO NOTHING;
        GET DIAGNOSTICS sessions_created = ROW_COUNT;
    EXCEPTION
        WHEN lock_not_available OR deadlock_detected OR serialization_failure THEN
            RAISE;  -- a cut-off run, not a verdict on the purchase: the caller's transaction ends
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_error = MESSAGE_TEXT;
            PERFORM public.session_sync_raise('SESSION_WRITE_FAILED', v_single, v_error);
    END;
END;
$$;
