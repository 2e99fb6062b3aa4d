CREATE OR REPLACE FUNCTION public.session_sync_diagnose(p_purchase_id uuid)
RETURNS TABLE (check_name text, ok boolean, detail text, hint text)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_purchase public.course_purchases%ROWTYPE;
    v_check record;
    v_counts record;
    v_failure record;
    v_sessions integer;
    v_error text;
BEGIN
    IF p_purchase_id IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = '22004',
            MESSAGE = 'session_sync_diagnose: p_purchase_id must not be NULL',
            HINT = 'SELECT * FROM session_sync_diagnose(''<purchase id>'');';
    END IF;

    SELECT * INTO v_purchase FROM public.course_purchases WHERE id = p_purchase_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'purchase_exists', false,
            format('no course_purchases row has id %s', p_purchase_id),
            replace(session_sync.session_sync_hint('PURCHASE_NOT_FOUND'), '<purchase id>', p_purchase_id::text);
        RETURN;
    END IF;
    SELECT * INTO v_check FROM public.session_sync_purchase_check c WHERE c.purchase_id = p_purchase_id;

    RETURN QUERY SELECT 'purchase_exists', true,
        format('booking %s, course %s, %s sessions, %s, created %s', v_purchase.booking_id, v_purchase.course_id,
               v_purchase.total_sessions, v_purchase.delivery_mode, v_purchase.created_at),
        NULL::text;

    RETURN QUERY SELECT 'trainer_assigned', v_purchase.trainer_id IS NOT NULL,
        format('trainer_id is %s', coalesce(v_purchase.trainer_id::text, 'NULL')),
        CASE WHEN v_purchase.trainer_id IS NULL
             THEN session_sync.session_sync_hint('NO_TRAINER') END;

    RETURN QUERY SELECT 'status_assigned', v_purchase.status = 'ASSIGNED',
        format('status is %s', coalesce(v_purchase.status, 'NULL')),
        CASE WHEN v_purchase.status IS DISTINCT FROM 'ASSIGNED'
             THEN session_sync.session_sync_hint('NOT_ASSIGNED') END;

    RETURN QUERY SELECT 'primary_student', v_check.student_id IS NOT NULL,
        CASE WHEN v_check.student_id IS NOT NULL THEN format('primary student %s', v_check.student_id)
             ELSE session_sync.session_sync_students_problem(v_purchase.students) END,
        CASE WHEN v_check.student_id IS NULL
             THEN session_sync.session_sync_hint('NO_STUDENT') END;

    RETURN QUERY SELECT 'coordinates', v_check.home_location IS NOT NULL,
        CASE WHEN v_check.home_location IS NOT NULL
             THEN 'usable: latitude and longitude valid (values not shown)'
             ELSE session_sync.session_sync_failure_message(
                      session_sync.session_sync_location_problem(v_purchase.student_location), p_purchase_id) END,
        session_sync.session_sync_hint(session_sync.session_sync_location_problem(v_purchase.student_location));

    IF v_check.student_id IS NULL OR v_purchase.trainer_id IS NULL THEN
        RETURN QUERY SELECT 'allocation', false,
            'no allocation can be looked up without a primary student and a trainer'::text,
            'Fix the checks above first.'::text;
    ELSIF v_check.allocation_id IS NOT NULL THEN
        RETURN QUERY SELECT 'allocation', true, format('allocation %s (%s) will be used', al.id, al.status), NULL::text
        FROM public.trainer_allocations al WHERE al.id = v_check.allocation_id;
    ELSE
        BEGIN
            INSERT INTO public.trainer_allocations (student_id, trainer_id, course_id, requested_by, status,
                                                    allocated_at)
            VALUES (v_check.student_id, v_purchase.trainer_id, v_purchase.course_id, v_check.student_id,
                    'approved', now());
            RAISE EXCEPTION USING ERRCODE = 'SS999', MESSAGE = 'roll back the trial allocation';
        EXCEPTION
            WHEN SQLSTATE 'SS999' THEN
                v_error := NULL;
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_error = MESSAGE_TEXT;
        END;
        RETURN QUERY SELECT 'allocation', v_error IS NULL,
            CASE WHEN v_error IS NULL
                 THEN 'none yet: an approved allocation will be created (tried and rolled back)'
                 ELSE 'none yet, and trainer_allocations refuses a new one: ' || v_error END,
            CASE WHEN v_error IS NOT NULL
                 THEN session_sync.session_sync_hint('ALLOCATION_FAILED') END;
    END IF;

    SELECT count(*) INTO v_sessions FROM public.purchase_sessions ps WHERE ps.purchase_id = p_purchase_id;
    RETURN QUERY SELECT 'sessions_present', v_sessions > 0,
        format('%s purchase sessions', v_sessions),
        CASE WHEN v_sessions = 0
             THEN 'Auto-assignment writes one purchase_sessions row per session; this purchase has none, so there is nothing to sync.' END;

    SELECT count(*) FILTER (WHERE s.state = 'missing') AS missing,
           count(*) FILTER (WHERE s.state = 'drifted') AS drifted,
           count(*) FILTER (WHERE s.state = 'conflict') AS conflicts,
           count(*) FILTER (WHERE s.state = 'protected') AS protected,
           count(*) FILTER (WHERE s.state = 'in_sync') AS in_sync
    INTO v_counts
    FROM public.session_sync_session_state s WHERE s.purchase_id = p_purchase_id;
    RETURN QUERY SELECT 'sessions_in_sync',
        v_check.eligible AND v_counts.missing + v_counts.drifted + v_counts.conflicts = 0,
        CASE WHEN NOT v_check.eligible
             THEN format('not eligible (needs a trainer and status ASSIGNED): its %s sessions are not synced', v_sessions)
             ELSE format('%s missing, %s drifted, %s conflicting, %s protected, %s in sync',
                         v_counts.missing, v_counts.drifted, v_counts.conflicts, v_counts.protected, v_counts.in_sync) END,
        CASE WHEN NOT v_check.eligible
                 THEN 'Assign a trainer and set status = ''ASSIGNED'' (see the checks above); the trigger then syncs its sessions.'
             WHEN v_counts.conflicts > 0
                 THEN session_sync.session_sync_hint('SESSION_CONFLICT')
             WHEN v_check.eligible AND v_counts.missing + v_counts.drifted > 0
                 THEN format('SELECT * FROM sync_purchase_sessions(%L);', p_purchase_id) END;

    SELECT f.reason, f.message, f.hint, f.failed_at, f.source INTO v_failure
    FROM public.session_sync_failures f
    WHERE f.purchase_id = p_purchase_id
    ORDER BY f.failed_at DESC, f.failure_id DESC
    LIMIT 1;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'last_failure', true, 'no failure recorded'::text, NULL::text;
    ELSE
        RETURN QUERY SELECT 'last_failure',
            v_check.eligible AND v_counts.missing + v_counts.drifted + v_counts.conflicts = 0,
            format('%s (%s, %s)', v_failure.message, v_failure.source, v_failure.failed_at),
            v_failure.hint;
    END IF;
END;
$$;

COMMENT ON FUNCTION public.session_sync_diagnose IS 'session_sync_diagnose(p_purchase_id uuid) -> rows (check_name, ok, detail, hint)
Contract: the guide''s troubleshooting for one purchase, one row per check, in order:
purchase_exists, trainer_assigned, status_assigned, primary_student, coordinates,
allocation (present, or creatable: tried in a savepoint always rolled back),
sessions_present, sessions_in_sync, last_failure; `hint` says how to fix a failing one.
Changes nothing. A NULL id raises 22004; an unknown one fails the first check. Details quote
ids only, never a student''s name, contact details or usable coordinates.';
