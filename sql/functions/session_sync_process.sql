-- session_sync_process(p_purchase_ids uuid[], p_run_id bigint, p_dry_run boolean, p_source text)
--   -> (purchases_synced, purchases_failed, sessions_created, sessions_updated)
-- Contract (internal; sync_all_sessions, the trigger and the batched backfill call it):
-- examines the given purchases (p_purchase_ids), or, when it is NULL, every purchase in
-- session_sync_queue (the purchases a write may have put out of sync), and syncs each
-- eligible one that has a missing, drifted or conflicting session.
--   * Purchases that cannot be synced (a reason code, or SESSION_CONFLICT) are recorded in
--     session_sync_failures (run p_run_id, source p_source), left untouched, and stay queued.
--   * The others are synced set-based, in one statement that classifies every session once,
--     creates the missing allocations and writes the missing and drifted sessions. Should it fail
--     (ALLOCATION_FAILED, SESSION_WRITE_FAILED), each purchase is retried alone under its own
--     savepoint with session_sync_apply(), so a failing purchase is recorded and rolled back
--     whole while the others are synced.
--   * Examined purchases that are now in sync leave the queue, unless a write queued them
--     again meanwhile (the queue row's version changed): then they stay for the next run.
--   * p_dry_run: counts what a real run would do and writes nothing.
-- Never raises for bad data. A run cut off (statement_timeout, Ctrl-C, lock_timeout, a
-- deadlock or serialization failure) raises and its transaction undoes all of it; rerun it.
-- Concurrency: the purchases' rows are locked (FOR NO KEY UPDATE, in id order) before
-- anything is read, so a concurrent sync of the same purchase waits and then sees this one's
-- writes. Its own writes to tutoring_sessions and trainer_allocations do not queue the
-- purchases again (session_sync.applying is on while it writes).
-- work_mem is raised to 256MB for its statements: the classification of a large backfill
-- is hashed and materialized in memory. ALTER FUNCTION ... SET work_mem changes it.
-- random_page_cost is 1.1 for its statements: the rows it reads through indexes (a batch's
-- purchase sessions, the tutoring sessions they map to) were mostly written recently and
-- are cached; at the default 4.0 a batch of 1,000 purchases seq-scanned all of
-- purchase_sessions instead (the batched backfill of 1M sessions took 21 s instead of 14).
-- No plan_cache_mode setting: it would also apply to the foreign-key checks PostgreSQL runs
-- for each inserted session, and force_custom_plan re-plans every one of them.
-- Runs as its owner (SECURITY DEFINER) with a fixed search_path: callers need EXECUTE
-- (role session_sync_runner), not rights on the platform's tables.
CREATE OR REPLACE FUNCTION public.session_sync_process(
    p_purchase_ids uuid[],
    p_run_id bigint,
    p_dry_run boolean,
    p_source text,
    OUT purchases_synced integer,
    OUT purchases_failed integer,
    OUT sessions_created integer,
    OUT sessions_updated integer
)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET work_mem = '256MB'
SET random_page_cost = 1.1
AS $$
DECLARE
    v_ids uuid[];
    v_queued uuid[];
    v_versions bigint[];
    v_ok_ids uuid[] := '{}'::uuid[];
    v_failed_ids uuid[] := '{}'::uuid[];
    v_failed_reasons text[] := '{}'::text[];
    v_missing bigint;
    v_drifted bigint;
    v_written boolean := false;
    v_id uuid;
    v_result record;
    v_sqlstate text;
    v_error text;
    v_reason text;
    v_salt text := gen_random_uuid()::text;
BEGIN
    purchases_synced := 0;
    purchases_failed := 0;
    sessions_created := 0;
    sessions_updated := 0;

    IF p_purchase_ids IS NULL THEN
        SELECT coalesce(array_agg(q.purchase_id ORDER BY q.purchase_id), '{}'),
               coalesce(array_agg(q.version ORDER BY q.purchase_id), '{}')
        INTO v_queued, v_versions
        FROM public.session_sync_queue q;
        v_ids := v_queued;
    ELSE
        SELECT coalesce(array_agg(DISTINCT i.id ORDER BY i.id), '{}') INTO v_ids
        FROM unnest(p_purchase_ids) AS i(id)
        WHERE i.id IS NOT NULL;
        SELECT coalesce(array_agg(q.purchase_id ORDER BY q.purchase_id), '{}'),
               coalesce(array_agg(q.version ORDER BY q.purchase_id), '{}')
        INTO v_queued, v_versions
        FROM public.session_sync_queue q
        WHERE q.purchase_id = ANY (v_ids);
    END IF;
    IF cardinality(v_ids) = 0 THEN
        RETURN;
    END IF;

    IF NOT p_dry_run THEN
        PERFORM 1 FROM public.course_purchases p
        WHERE p.id = ANY (v_ids)
        ORDER BY p.id
        FOR NO KEY UPDATE;

        PERFORM set_config('session_sync.applying', 'on', true);
        BEGIN
            -- One statement: classify every session once; create the missing allocations (an id
            -- drawn per (student, trainer, course) and run, so that the sessions written beside
            -- them can point at them); write the missing and drifted sessions of the purchases that
            -- can be synced; return the ones that cannot, with their reason.
            WITH st AS MATERIALIZED (
                SELECT s.session_id, s.purchase_id, s.reason, s.state,
                       s.allocation_id IS NULL AS new_allocation,
                       coalesce(s.allocation_id,
                                md5(v_salt || s.student_id::text || s.trainer_id::text || s.course_id::text)::uuid)
                           AS allocation_id,
                       s.student_id, s.trainer_id, s.course_id, s.scheduled_date, s.scheduled_time, s.duration,
                       s.status, s.student_home_location,
                       CASE s.state WHEN 'missing' THEN s.metadata WHEN 'drifted' THEN s.merged_metadata END AS metadata
                FROM public.session_sync_session_state s
                WHERE s.purchase_id = ANY (v_ids)
                  AND s.state IN ('missing', 'drifted', 'conflict')
            ), purchases AS MATERIALIZED (
                -- One row per purchase with work: why it cannot be synced (NULL: it can), and
                -- whether its (student, trainer, course) needs a new allocation.
                SELECT st.purchase_id, st.allocation_id, st.student_id, st.trainer_id, st.course_id,
                       coalesce(min(st.reason),
                                CASE WHEN bool_or(st.state = 'conflict') THEN 'SESSION_CONFLICT' END) AS reason,
                       bool_or(st.new_allocation) AS new_allocation
                FROM st
                GROUP BY st.purchase_id, st.allocation_id, st.student_id, st.trainer_id, st.course_id
            ), failed AS MATERIALIZED (
                SELECT n.purchase_id, n.reason FROM purchases n WHERE n.reason IS NOT NULL
            ), allocated AS (
                INSERT INTO public.trainer_allocations
                    (id, student_id, trainer_id, course_id, requested_by, status, allocated_at, metadata)
                SELECT DISTINCT ON (n.student_id, n.trainer_id, n.course_id)
                    n.allocation_id, n.student_id, n.trainer_id, n.course_id, n.student_id, 'approved', now(),
                    jsonb_build_object(
                        'sessionCount', p.total_sessions,
                        'isSundayOnly', p.delivery_mode = 'SUNDAY_ONLY',
                        'schedule', jsonb_build_object('timeSlot', p.preferred_time_slot, 'date', p.start_date),
                        'purchaseId', p.id,
                        'bookingId', p.booking_id)
                FROM purchases n
                JOIN public.course_purchases p ON p.id = n.purchase_id
                WHERE n.new_allocation AND n.reason IS NULL
                ORDER BY n.student_id, n.trainer_id, n.course_id, p.created_at, p.id
                -- A concurrent writer's allocation wins; the sessions pointing at this one then fail
                -- their foreign key, and the purchases are retried one by one below.
                ON CONFLICT DO NOTHING
                RETURNING 1
            ), updated AS (
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
                    metadata = s.metadata,
                    updated_at = now()
                FROM st s
                WHERE s.state = 'drifted'
                  AND s.reason IS NULL
                  AND s.purchase_id NOT IN (SELECT f.purchase_id FROM failed f)
                  AND t.id = s.session_id
                  AND t.status NOT IN ('pending_verification', 'in_progress', 'pending_confirmation', 'completed', 'disputed')
          -- re-checked on the row as it is when locked: still this purchase's, still not protected
          AND jsonb_typeof(t.metadata) = 'object'
          AND t.metadata ->> 'purchaseId' = s.purchase_id::text
                RETURNING 1
            ), inserted AS (
                INSERT INTO public.tutoring_sessions
                    (id, allocation_id, student_id, trainer_id, course_id, scheduled_date, scheduled_time,
                     duration, status, student_home_location, metadata)
                SELECT s.session_id, s.allocation_id, s.student_id, s.trainer_id, s.course_id, s.scheduled_date,
                       s.scheduled_time, s.duration, s.status, s.student_home_location, s.metadata
                FROM st s
                WHERE s.state = 'missing'
                  AND s.reason IS NULL
                  AND s.purchase_id NOT IN (SELECT f.purchase_id FROM failed f)
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM purchases n WHERE n.reason IS NULL),
                   (SELECT count(*) FROM inserted),
                   (SELECT count(*) FROM updated),
                   (SELECT coalesce(array_agg(f.purchase_id ORDER BY f.purchase_id), '{}') FROM failed f),
                   (SELECT coalesce(array_agg(f.reason ORDER BY f.purchase_id), '{}') FROM failed f),
                   true
            INTO purchases_synced, sessions_created, sessions_updated, v_failed_ids, v_failed_reasons, v_written;
        EXCEPTION
            WHEN lock_not_available OR deadlock_detected OR serialization_failure THEN
                RAISE;  -- a cut-off run, not a verdict on a purchase: the caller's transaction ends
            WHEN OTHERS THEN
                NULL;  -- rolled back: v_written stays false, and the purchases are taken one by one
        END;
    END IF;

    IF NOT v_written THEN
        -- A dry run, or the set-based write failed: the verdict per purchase, read on its own.
        WITH work AS (
            SELECT s.purchase_id,
                   coalesce(min(s.reason),
                            CASE WHEN bool_or(s.state = 'conflict') THEN 'SESSION_CONFLICT' END) AS reason,
                   count(*) FILTER (WHERE s.state = 'missing') AS missing,
                   count(*) FILTER (WHERE s.state = 'drifted') AS drifted
            FROM public.session_sync_session_state s
            WHERE s.purchase_id = ANY (v_ids)
              AND s.state IN ('missing', 'drifted', 'conflict')
            GROUP BY s.purchase_id
        )
        SELECT coalesce(array_agg(w.purchase_id ORDER BY w.purchase_id) FILTER (WHERE w.reason IS NULL), '{}'),
               coalesce(array_agg(w.purchase_id ORDER BY w.purchase_id) FILTER (WHERE w.reason IS NOT NULL), '{}'),
               coalesce(array_agg(w.reason ORDER BY w.purchase_id) FILTER (WHERE w.reason IS NOT NULL), '{}'),
               coalesce(sum(w.missing) FILTER (WHERE w.reason IS NULL), 0),
               coalesce(sum(w.drifted) FILTER (WHERE w.reason IS NULL), 0)
        INTO v_ok_ids, v_failed_ids, v_failed_reasons, v_missing, v_drifted
        FROM work w;
        IF p_dry_run THEN
            purchases_synced := cardinality(v_ok_ids);
            purchases_failed := cardinality(v_failed_ids);
            sessions_created := v_missing;
            sessions_updated := v_drifted;
            RETURN;
        END IF;
    END IF;

    -- The purchases that cannot be synced, with their reason (SESSION_CONFLICT included).
    INSERT INTO public.session_sync_failures (run_id, purchase_id, reason, message, hint, source)
    SELECT p_run_id, f.purchase_id, f.reason,
           public.session_sync_failure_message(f.reason, f.purchase_id),
           (SELECT r.hint FROM public.session_sync_reasons() r WHERE r.reason = f.reason),
           p_source
    FROM unnest(v_failed_ids, v_failed_reasons) AS f(purchase_id, reason);
    purchases_failed := cardinality(v_failed_ids);

    -- Empty unless the set-based write failed: each purchase alone, under its own savepoint.
    FOREACH v_id IN ARRAY v_ok_ids LOOP
        BEGIN
            SELECT * INTO v_result FROM public.session_sync_apply(ARRAY[v_id]);
            purchases_synced := purchases_synced + 1;
            sessions_created := sessions_created + v_result.sessions_created;
            sessions_updated := sessions_updated + v_result.sessions_updated;
        EXCEPTION
            WHEN lock_not_available OR deadlock_detected OR serialization_failure THEN
                RAISE;
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_sqlstate = RETURNED_SQLSTATE, v_error = MESSAGE_TEXT;
                SELECT r.reason INTO v_reason FROM public.session_sync_reasons() r WHERE r.sqlstate = v_sqlstate;
                IF v_reason IS NULL THEN
                    v_reason := 'SESSION_WRITE_FAILED';
                    v_error := public.session_sync_failure_message(v_reason, v_id, v_error);
                END IF;
                INSERT INTO public.session_sync_failures (run_id, purchase_id, reason, message, hint, source)
                SELECT p_run_id, v_id, v_reason, v_error, r.hint, p_source
                FROM public.session_sync_reasons() r WHERE r.reason = v_reason;
                purchases_failed := purchases_failed + 1;
                v_failed_ids := v_failed_ids || v_id;
        END;
    END LOOP;
    PERFORM set_config('session_sync.applying', 'off', true);

    -- The queue: examined purchases leave it unless queued again since it was read; the ones
    -- that failed stay (or join it), so the next run reports them again.
    DELETE FROM public.session_sync_queue q
    USING unnest(v_queued, v_versions) AS r(purchase_id, version)
    WHERE q.purchase_id = r.purchase_id
      AND q.version = r.version
      AND NOT (r.purchase_id = ANY (v_failed_ids));
    INSERT INTO public.session_sync_queue (purchase_id)
    SELECT f.id FROM unnest(v_failed_ids) AS f(id)
    ORDER BY f.id
    ON CONFLICT (purchase_id) DO NOTHING;
END;
$$;
