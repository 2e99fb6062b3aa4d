-- session_sync_apply(p_purchase_ids uuid[]) -> (sessions_created int, sessions_updated int)
-- Contract (internal; callers validate first): for purchases that can be synced and have no
-- SESSION_CONFLICT, in three set-based statements:
--   1. create the approved allocation of each (student, trainer, course) that has none
--      (approved or active) and has sessions, as shared/domain.md prescribes;
--   2. update every drifted, non-protected tutoring session to the mapped values;
--   3. insert every missing tutoring session.
-- Raises ALLOCATION_FAILED or SESSION_WRITE_FAILED (the caller's transaction or savepoint
-- then undoes everything this call did). Concurrent inserts of the same rows are skipped,
-- not raised.
CREATE OR REPLACE FUNCTION public.session_sync_apply(
    p_purchase_ids uuid[],
    OUT sessions_created integer,
    OUT sessions_updated integer
)
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_single uuid := CASE WHEN cardinality(p_purchase_ids) = 1 THEN p_purchase_ids[1] END;
    v_purchase_id uuid;
    v_error text;
BEGIN
    sessions_created := 0;
    sessions_updated := 0;

    BEGIN
        INSERT INTO public.trainer_allocations
            (student_id, trainer_id, course_id, requested_by, status, allocated_at, metadata)
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
        ON CONFLICT DO NOTHING;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_error = MESSAGE_TEXT;
        PERFORM public.session_sync_raise('ALLOCATION_FAILED', v_single, v_error);
    END;

    -- A concurrent transaction may hold the allocation we skipped; it is visible now that it
    -- has committed. If it rolled back, or something else is wrong, say so.
    SELECT e.purchase_id INTO v_purchase_id
    FROM public.session_sync_expected e
    WHERE e.purchase_id = ANY (p_purchase_ids) AND e.allocation_id IS NULL
    LIMIT 1;
    IF FOUND THEN
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
        WHERE s.purchase_id = ANY (p_purchase_ids)
          AND s.reason IS NULL
          AND s.state = 'drifted'
          AND t.id = s.session_id
          AND t.status NOT IN ('pending_verification', 'in_progress', 'pending_confirmation', 'completed', 'disputed');
        GET DIAGNOSTICS sessions_updated = ROW_COUNT;

        INSERT INTO public.tutoring_sessions
            (id, allocation_id, student_id, trainer_id, course_id, scheduled_date, scheduled_time,
             duration, status, student_home_location, metadata)
        SELECT s.session_id, s.allocation_id, s.student_id, s.trainer_id, s.course_id, s.scheduled_date,
               s.scheduled_time, s.duration, s.status, s.student_home_location, s.metadata
        FROM public.session_sync_session_state s
        WHERE s.purchase_id = ANY (p_purchase_ids)
          AND s.reason IS NULL
          AND s.state = 'missing'
        ON CONFLICT (id) DO NOTHING;
        GET DIAGNOSTICS sessions_created = ROW_COUNT;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_error = MESSAGE_TEXT;
        PERFORM public.session_sync_raise('SESSION_WRITE_FAILED', v_single, v_error);
    END;
END;
$$;
