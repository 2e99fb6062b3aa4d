CREATE OR REPLACE FUNCTION session_sync.session_sync_write_batch(
    p_purchase_ids uuid[],
    OUT purchases_synced integer,
    OUT sessions_created integer,
    OUT sessions_updated integer,
    OUT failed_ids uuid[],
    OUT failed_reasons text[],
    OUT deferred_ids uuid[],
    OUT racing_ids uuid[]
)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET work_mem = '256MB'
SET random_page_cost = 1.1
SET lock_timeout = '50ms'
AS $$
DECLARE
    v_intended bigint;
    v_error text;
    v_stage text;
BEGIN
    PERFORM set_config('session_sync.applying', pg_current_xact_id()::text, true);

    -- One savepoint for both statements; v_stage names the error code of the one that failed.
    BEGIN
        v_stage := 'SS007';
        -- A cheap probe first: the insert runs only while an eligible purchase lacks its
        -- allocation (its NOT EXISTS, alone); when none does, it would insert nothing.
        IF EXISTS (
            SELECT 1 FROM public.course_purchases p
            WHERE p.id = ANY (p_purchase_ids)
              AND session_sync.session_sync_eligible(p.trainer_id, p.status)
              AND NOT EXISTS (
                  SELECT 1 FROM public.trainer_allocations al
                  WHERE al.student_id = session_sync.session_sync_primary_student(p.students)
                    AND al.trainer_id = p.trainer_id
                    AND al.course_id = p.course_id
                    AND session_sync.session_sync_allocation_usable(al.status)))
        THEN
        WITH lacking AS MATERIALIZED (
            -- the purchases that can be synced and lack their allocation, found first, so that
            -- the checks below (sessions, conflicts) read the sessions of these only, not of
            -- every purchase of a backfill's batch
            SELECT c.*
            FROM public.session_sync_purchase_check c
            WHERE c.purchase_id = ANY (p_purchase_ids)
              AND c.eligible
              AND c.reason IS NULL
              AND NOT EXISTS (
                  SELECT 1 FROM public.trainer_allocations al
                  WHERE al.student_id = c.student_id
                    AND al.trainer_id = c.trainer_id
                    AND al.course_id = c.course_id
                    AND session_sync.session_sync_allocation_usable(al.status))
        )
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
        FROM lacking c
        WHERE EXISTS (SELECT 1 FROM public.purchase_sessions ps WHERE ps.purchase_id = c.purchase_id)
          AND NOT EXISTS (
              SELECT 1 FROM public.purchase_sessions ps
              JOIN public.tutoring_sessions t ON t.id = ps.id
              WHERE ps.purchase_id = c.purchase_id
                AND NOT session_sync.session_sync_owned_by(t.metadata, c.purchase_id))
        ORDER BY c.student_id, c.trainer_id, c.course_id, c.created_at, c.purchase_id
        -- A concurrent transaction's allocation for the same (student, trainer, course) wins
        -- (this waits for it to commit or roll back); the next statement then sees and uses it.
        ON CONFLICT DO NOTHING;
        END IF;

        v_stage := 'SS009';
        WITH st AS MATERIALIZED (
            SELECT s.session_id, s.purchase_id, s.reason, s.state, s.tutoring_xmin,
                   s.allocation_id,
                   s.student_id,
                   s.trainer_id,
                   s.course_id,
                   s.scheduled_date,
                   s.scheduled_time,
                   s.duration,
                   s.status,
                   s.student_home_location,
                   s.metadata, s.dropped_keys
            FROM public.session_sync_session_state s
            WHERE s.purchase_id = ANY (p_purchase_ids)
              AND s.state IN ('missing', 'drifted', 'conflict')
        ), locked AS MATERIALIZED (
            -- Never wait: a row another transaction holds leaves its purchase for later.
            SELECT t.id, t.xmin AS tutoring_xmin
            FROM public.tutoring_sessions t
            -- (= ANY of an array: an index scan of the ids, whatever the planner expects of st)
            WHERE t.id = ANY (ARRAY(SELECT st.session_id FROM st WHERE st.state = 'drifted' AND st.reason IS NULL))
            ORDER BY t.id
            FOR UPDATE SKIP LOCKED
        ), locked_xmin AS MATERIALIZED (
            -- The rows locked, as one jsonb object (id -> xmin), and below the purchases to write,
            -- as one jsonb set: looked up per session (a binary search), never joined. Before
            -- PostgreSQL 17 a CTE is estimated without its columns' statistics, and a join to it
            -- became a nested loop rescanning it for every session: time growing with the square
            -- of the batch even with statistics.
            SELECT jsonb_object_agg(l.id::text, l.tutoring_xmin::text) AS m FROM locked l
        ), verdict AS MATERIALIZED (
            SELECT st.purchase_id,
                   coalesce(min(st.reason),
                            CASE WHEN bool_or(st.state = 'conflict') THEN 'SESSION_CONFLICT' END) AS reason,
                   bool_or(st.allocation_id IS NULL
                           OR (st.state = 'drifted'
                               AND ((SELECT x.m FROM locked_xmin x) ->> st.session_id::text)
                                   IS DISTINCT FROM st.tutoring_xmin::text)) AS busy,
                   count(*) FILTER (WHERE st.state = 'missing') AS missing
            FROM st
            GROUP BY st.purchase_id
        ), ok AS MATERIALIZED (
            SELECT jsonb_object_agg(v.purchase_id::text, true) AS m FROM verdict v WHERE v.reason IS NULL AND NOT v.busy
        ), updated AS (
            UPDATE public.tutoring_sessions t
            SET
                allocation_id = s.allocation_id,
                student_id = s.student_id,
                trainer_id = s.trainer_id,
                course_id = s.course_id,
                scheduled_date = s.scheduled_date,
                scheduled_time = s.scheduled_time,
                duration = s.duration,
                status = s.status,
                student_home_location = s.student_home_location,
                -- merged onto the row as it is: keys the apps added stay, keys the purchase
                -- session dropped (the sync's own, copied earlier) go
                metadata = (CASE WHEN jsonb_typeof(t.metadata) = 'object' THEN t.metadata ELSE '{}'::jsonb END
                            - coalesce(s.dropped_keys, '{}'::text[]))
                           || s.metadata,
                updated_at = now()
            FROM st s
            WHERE s.state = 'drifted'
              AND t.id = s.session_id
              AND coalesce((SELECT ok.m FROM ok) ? s.purchase_id::text, false)
              AND session_sync.session_sync_owned_by(t.metadata, s.purchase_id)
              AND NOT session_sync.session_sync_protected(t.status)
            RETURNING t.id
        ), inserted AS (
            INSERT INTO public.tutoring_sessions
                (id,
                 allocation_id,
                 student_id,
                 trainer_id,
                 course_id,
                 scheduled_date,
                 scheduled_time,
                 duration,
                 status,
                 student_home_location,
                 metadata)
            SELECT s.session_id,
                   s.allocation_id,
                   s.student_id,
                   s.trainer_id,
                   s.course_id,
                   s.scheduled_date,
                   s.scheduled_time,
                   s.duration,
                   s.status,
                   s.student_home_location,
                   s.metadata
            FROM st s
            WHERE s.state = 'missing'
              AND coalesce((SELECT ok.m FROM ok) ? s.purchase_id::text, false)
            ORDER BY s.session_id
            ON CONFLICT (id) DO NOTHING
            RETURNING id
        ), forgotten AS (
            -- the dropped keys are gone from the sessions written now (rows appended after this
            -- statement's snapshot stay for the next write): in the same statement, so that a
            -- record goes exactly when its key does
            DELETE FROM public.session_sync_dropped_keys d
            WHERE d.ctid IN (
                SELECT k.ctid FROM public.session_sync_dropped_keys k
                WHERE k.session_id = ANY (ARRAY(SELECT u.id FROM updated u UNION ALL SELECT i.id FROM inserted i))
                FOR UPDATE OF k SKIP LOCKED)
        )
        -- one pass over the verdicts (ok is those with no reason and not busy)
        SELECT count(*) FILTER (WHERE v.reason IS NULL AND NOT v.busy),
               coalesce(sum(v.missing) FILTER (WHERE v.reason IS NULL AND NOT v.busy), 0),
               (SELECT count(*) FROM inserted),
               (SELECT count(*) FROM updated),
               coalesce(array_agg(v.purchase_id ORDER BY v.purchase_id) FILTER (WHERE v.reason IS NOT NULL), '{}'),
               coalesce(array_agg(v.reason ORDER BY v.purchase_id) FILTER (WHERE v.reason IS NOT NULL), '{}'),
               coalesce(array_agg(v.purchase_id ORDER BY v.purchase_id) FILTER (WHERE v.reason IS NULL AND v.busy),
                        '{}'),
               CASE WHEN current_setting('transaction_isolation') = 'read committed' THEN '{}'::uuid[]
                    -- one snapshot for the whole transaction: a session another transaction inserted
                    -- since it was taken cannot be seen here, so what it wrote gets another look
                    ELSE coalesce(array_agg(v.purchase_id ORDER BY v.purchase_id)
                                  FILTER (WHERE v.reason IS NULL AND NOT v.busy), '{}') END
        FROM verdict v
        INTO purchases_synced, v_intended, sessions_created, sessions_updated, failed_ids, failed_reasons,
             deferred_ids, racing_ids;
    EXCEPTION
        WHEN lock_not_available OR deadlock_detected OR serialization_failure OR query_canceled THEN
            RAISE;
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_error = MESSAGE_TEXT;
            RAISE EXCEPTION USING ERRCODE = v_stage, MESSAGE = v_error;
    END;

    IF sessions_created < v_intended THEN
        RAISE EXCEPTION USING
            ERRCODE = 'SS010',
            MESSAGE = format('%s of %s sessions were inserted by a concurrent transaction first',
                             v_intended - sessions_created, v_intended);
    END IF;
    PERFORM set_config('session_sync.applying', 'off', true);
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_write_batch IS 'session_sync_write_batch(p_purchase_ids uuid[])
  -> (purchases_synced, sessions_created, sessions_updated, failed_ids, failed_reasons, deferred_ids)
Contract (internal; session_sync_write calls it inside a savepoint): the one place that
writes tutoring sessions and allocations. For the given purchases, in two statements:
  1. creates the approved allocation of each (primary student, trainer, course) that has
     none (approved or active), for purchases that can be synced, have sessions and no
     conflict (requested_by = the student, allocated_at = now(), metadata
     sessionCount, isSundayOnly, schedule, purchaseId, bookingId);
  2. classifies every session once (session_sync_session_state), locks the drifted
     tutoring sessions it will update with FOR UPDATE SKIP LOCKED, and for every purchase
     that can be synced and whose rows it holds as it classified them, inserts the missing
     sessions and updates the drifted ones. The metadata update merges onto the row as it
     is (keys the apps added are kept) and removes the keys its purchase session dropped,
     deleting their records (session_sync_dropped_keys) in the same statement.
Returns the purchases it synced (count), the ones that cannot be synced (failed_ids with
their reason code, SESSION_CONFLICT included; nothing written for them), and the ones it left
alone because another transaction holds or has just changed one of their tutoring sessions
(deferred_ids; nothing written for them either). It never waits for a row another transaction
holds, so it adds no lock wait, and no deadlock, to the transaction it runs in. racing_ids
(REPEATABLE READ only) are the purchases it wrote, to be queued by the caller for another look.
Raises ALLOCATION_FAILED (SS007) or SESSION_WRITE_FAILED (SS009) when the platform''s tables
reject a write, and SS010 when a concurrent transaction inserted one of the sessions first;
the caller''s savepoint then undoes the whole call and it retries purchase by purchase.
The only waits left are for another transaction''s uncommitted insert of the same allocation
or session (a unique index): lock_timeout 50ms, well below deadlock_timeout, ends them, and
the caller defers the purchase (queued), so even a platform transaction that inserts an
allocation by hand and then writes the purchase never deadlocks with the sync.
Its CTEs are looked up (jsonb objects, index scans of arrays), never joined to one another:
no planner estimate can make its time grow with the square of the batch.
Runs as its owner (SECURITY DEFINER) with a fixed search_path. work_mem 256MB and
random_page_cost 1.1 for its statements: a backfill''s classification is hashed in memory,
and the rows it reads by index were mostly written recently and are cached.';
