CREATE OR REPLACE FUNCTION public.sync_purchase_sessions(p_purchase_id uuid)
RETURNS TABLE (
    purchase_id uuid,
    allocation_id uuid,
    sessions_created integer,
    sessions_updated integer,
    sessions_unchanged integer,
    sessions_protected integer
)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_reason text;
    v_conflicts integer;
    v_protected integer;
    v_in_sync integer;
    v_result record;
    v_failure record;
    v_allocation_id uuid;
BEGIN
    IF p_purchase_id IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = '22004',
            MESSAGE = 'sync_purchase_sessions: p_purchase_id must not be NULL',
            HINT = 'Pass the id of a course_purchases row: SELECT * FROM sync_purchase_sessions(''<purchase id>'');';
    END IF;

    SELECT c.reason INTO v_reason FROM public.session_sync_purchase_check c WHERE c.purchase_id = p_purchase_id;
    IF NOT FOUND THEN
        v_reason := 'PURCHASE_NOT_FOUND';
    END IF;
    IF v_reason IS NOT NULL THEN
        PERFORM session_sync.session_sync_raise(v_reason, p_purchase_id);
    END IF;

    SELECT count(*) FILTER (WHERE s.state = 'conflict') INTO v_conflicts
    FROM public.session_sync_session_state s
    WHERE s.purchase_id = p_purchase_id;
    IF v_conflicts > 0 THEN
        PERFORM session_sync.session_sync_raise('SESSION_CONFLICT', p_purchase_id,
            format('the ids of %s of its purchase sessions are taken by tutoring sessions that are not its own (their metadata.purchaseId is absent or names another purchase); as the package owner, see SELECT session_id FROM session_sync_session_state WHERE purchase_id = %L AND state = %L',
                   v_conflicts, p_purchase_id, 'conflict'));
    END IF;

    -- another transaction holding one of its sessions: up to 20 tries, 50 ms apart, never a lock wait
    FOR v_attempt IN 1 .. 20 LOOP
        SELECT * INTO v_result FROM session_sync.session_sync_write(ARRAY[p_purchase_id], NULL, 'manual');
        EXIT WHEN v_result.purchases_deferred = 0;
        PERFORM pg_sleep(0.05);
    END LOOP;
    IF v_result.purchases_failed > 0 THEN
        SELECT f.reason, f.message, f.hint, r.sqlstate INTO v_failure
        FROM public.session_sync_failures f
        JOIN session_sync.session_sync_reasons() r ON r.reason = f.reason
        WHERE f.purchase_id = p_purchase_id
        ORDER BY f.failure_id DESC
        LIMIT 1;
        RAISE EXCEPTION USING ERRCODE = v_failure.sqlstate, MESSAGE = v_failure.message, HINT = v_failure.hint;
    END IF;
    IF v_result.purchases_deferred > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = '55P03',
            MESSAGE = format('purchase %s: another transaction is changing one of its tutoring sessions right now; nothing was written',
                             p_purchase_id),
            HINT = 'Retry in a moment; the sync never waits for (or deadlocks with) the platform''s own transactions.';
    END IF;

    SELECT count(*) FILTER (WHERE s.state = 'protected'),
           count(*) FILTER (WHERE s.state = 'in_sync')
    INTO v_protected, v_in_sync
    FROM public.session_sync_session_state s
    WHERE s.purchase_id = p_purchase_id;
    v_in_sync := v_in_sync - v_result.sessions_created - v_result.sessions_updated;

    SELECT c.allocation_id INTO v_allocation_id
    FROM public.session_sync_purchase_check c WHERE c.purchase_id = p_purchase_id;

    RETURN QUERY SELECT p_purchase_id, v_allocation_id, v_result.sessions_created, v_result.sessions_updated,
                        v_in_sync, v_protected;
END;
$$;

COMMENT ON FUNCTION public.sync_purchase_sessions IS 'sync_purchase_sessions(p_purchase_id uuid)
  -> one row (purchase_id, allocation_id, sessions_created, sessions_updated,
              sessions_unchanged, sessions_protected)
Contract: syncs one purchase, all or nothing (session_sync_expected''s mapping): creates each
missing tutoring session, updates each drifted, non-protected one, reuses the approved (else
active) allocation for (primary student, trainer, course) or creates one (after a trainer
change the sessions move to the new trainer and allocation). Protected sessions are counted,
never changed. Idempotent: a second call reports 0 created and 0 updated; a purchase with no
sessions returns zeros.
A purchase it cannot sync raises an error whose message begins with the reason code
(session_sync_reasons() lists them with their SQLSTATEs and hints) and changes nothing.
It never waits on another transaction''s lock: when one holds (or has just changed) one of
the purchase''s tutoring sessions, it tries again up to 20 times, 50 ms apart, and then
raises SQLSTATE 55P03 having written nothing; retry.
Runs as its owner (SECURITY DEFINER) with a fixed search_path: callers need EXECUTE
(role session_sync_runner), not rights on the platform''s tables.';
