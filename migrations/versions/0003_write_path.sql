-- 0003_write_path: built by python -m session_sync.build --freeze

-- sql/functions/session_sync_coordinate.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_coordinate(p_value jsonb)
RETURNS numeric
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE jsonb_typeof(p_value)
    WHEN 'number' THEN p_value::numeric
    WHEN 'string' THEN CASE
        WHEN length(p_value #>> '{}') <= 1000 AND (p_value #>> '{}') ~ '^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$'
        THEN (p_value #>> '{}')::numeric END
END;

COMMENT ON FUNCTION session_sync.session_sync_coordinate IS 'session_sync_coordinate(p_value jsonb) -> numeric
Contract: the number a coordinate holds: a JSON number, or a JSON string that is entirely a
finite decimal number ("12.5", "-0.25", "+7", ".5": no spaces, exponent, "NaN" or
"Infinity"); else NULL. Range checks are the caller''s. Never raises.';

-- sql/functions/session_sync_location_problem.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_location_problem(p_location jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN p_location IS NULL OR jsonb_typeof(p_location) = 'null'
        THEN 'MISSING_LOCATION'
    WHEN jsonb_typeof(p_location) <> 'object'
        THEN 'INVALID_COORDINATES'
    WHEN coalesce(p_location -> 'latitude' IN ('null', '""'), true)
      OR coalesce(p_location -> 'longitude' IN ('null', '""'), true)
        THEN 'MISSING_LOCATION'
    -- abs(), not BETWEEN, which would compute the coordinate twice
    WHEN NOT coalesce(abs(session_sync.session_sync_coordinate(p_location -> 'latitude')) <= 90, false)
      OR NOT coalesce(abs(session_sync.session_sync_coordinate(p_location -> 'longitude')) <= 180, false)
        THEN 'INVALID_COORDINATES'
    WHEN session_sync.session_sync_coordinate(p_location -> 'latitude') = 0
     AND session_sync.session_sync_coordinate(p_location -> 'longitude') = 0
        THEN 'MISSING_LOCATION'
END;

COMMENT ON FUNCTION session_sync.session_sync_location_problem IS 'session_sync_location_problem(p_location jsonb) -> text
Contract: NULL when student_location holds usable coordinates, else the reason code:
  MISSING_LOCATION     no object, latitude or longitude absent, JSON null or "", or exactly (0, 0)
  INVALID_COORDINATES  not an object, or a coordinate that is not a finite decimal number
                       (session_sync_coordinate) or lies outside [-90, 90] / [-180, 180]
Never raises.';

-- sql/functions/session_sync_write.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_write(
    p_purchase_ids uuid[],
    p_run_id bigint,
    p_source text,
    OUT purchases_synced integer,
    OUT purchases_failed integer,
    OUT purchases_deferred integer,
    OUT purchases_retried integer,
    OUT sessions_created integer,
    OUT sessions_updated integer,
    OUT retry_reason text,
    OUT purchases_examined integer
)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET work_mem = '256MB'
SET random_page_cost = 1.1
AS $$
DECLARE
    v_ids uuid[];  v_batch uuid[];  v_round integer := 0;
    v_snapshot pg_snapshot;  v_result record;  v_lock_timeout text := current_setting('lock_timeout');
    v_failed_ids uuid[] := '{}'::uuid[];  v_failed_reasons text[] := '{}'::text[];  v_failed_details text[] := '{}'::text[];
    v_deferred_ids uuid[] := '{}'::uuid[];  v_requeued_ids uuid[] := '{}'::uuid[];
    v_sqlstate text;  v_error text;  v_table text;
BEGIN
    SELECT 0, 0, 0, 0, 0, 0, 0 INTO purchases_synced, purchases_failed, purchases_deferred, purchases_retried,
                                   sessions_created, sessions_updated, purchases_examined;

    IF p_source <> 'trigger' AND current_setting('transaction_isolation') = 'serializable' THEN
        RAISE EXCEPTION USING
            ERRCODE = '25001',
            MESSAGE = 'session-sync: sync_all_sessions(), the backfill and sync_purchase_sessions() do not run in a SERIALIZABLE transaction: their writes would take part in the platform''s serializable checks and could make its transactions fail with 40001',
            HINT = 'Run them in READ COMMITTED (the default): BEGIN ISOLATION LEVEL READ COMMITTED; ... or SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED;';
    END IF;
    v_snapshot := pg_current_snapshot();
    IF p_purchase_ids IS NULL THEN
        SELECT coalesce(array_agg(DISTINCT c.purchase_id ORDER BY c.purchase_id), '{}') INTO v_ids
        FROM public.session_sync_changes c;
    ELSIF cardinality(p_purchase_ids) = 1 AND p_purchase_ids[1] IS NOT NULL THEN
        v_ids := ARRAY[p_purchase_ids[1]];  -- one purchase (the sync at COMMIT): no array round trip
    ELSE
        SELECT coalesce(array_agg(DISTINCT i.id ORDER BY i.id), '{}') INTO v_ids
        FROM unnest(p_purchase_ids) AS i(id)
        WHERE i.id IS NOT NULL;
    END IF;
    purchases_examined := cardinality(v_ids);
    IF purchases_examined = 0 THEN RETURN; END IF;
    IF p_source = 'trigger' THEN
        -- One sync at COMMIT of a purchase at a time (try-locks, never a wait); a write of more
        -- than 64 purchases locks one of 1,024 buckets per purchase instead, which a small one shares.
        SELECT coalesce(array_agg(i.id), '{}') INTO v_deferred_ids FROM unnest(v_ids) AS i(id)
        WHERE NOT CASE WHEN purchases_examined > 64
                       THEN pg_try_advisory_xact_lock(hashtext('session_sync.bucket'), hashtext(i.id::text) & 1023)
                       ELSE pg_try_advisory_xact_lock_shared(hashtext('session_sync.bucket'), hashtext(i.id::text) & 1023)
                            AND pg_try_advisory_xact_lock(hashtext('session_sync.purchase'), hashtext(i.id::text)) END;
    ELSE
        -- A run: a purchase whose sync at COMMIT ran in a still open transaction is deferred (its
        -- queue rows kept: this call cannot see what that sync saw). Probes: a run holds no lock.
        SELECT coalesce(array_agg(i.id), '{}') INTO v_deferred_ids FROM unnest(v_ids) AS i(id)
        WHERE NOT (pg_try_advisory_lock_shared(hashtext('session_sync.bucket'), hashtext(i.id::text) & 1023)
                   AND pg_advisory_unlock_shared(hashtext('session_sync.bucket'), hashtext(i.id::text) & 1023)
                   AND pg_try_advisory_lock_shared(hashtext('session_sync.purchase'), hashtext(i.id::text))
                   AND pg_advisory_unlock_shared(hashtext('session_sync.purchase'), hashtext(i.id::text)));
    END IF;
    IF cardinality(v_deferred_ids) > 0 THEN
        v_ids := ARRAY(SELECT i.id FROM unnest(v_ids) AS i(id) WHERE NOT (i.id = ANY (v_deferred_ids)));
    END IF;

    -- Round 0 writes the set under one savepoint; should it fail, rounds 1..n each purchase alone.
    WHILE cardinality(v_ids) > 0 AND v_round <= cardinality(v_ids) LOOP
        v_batch := CASE WHEN v_round = 0 THEN v_ids ELSE ARRAY[v_ids[v_round]] END;
        purchases_retried := purchases_retried + sign(v_round)::integer;
        BEGIN
            PERFORM set_config('lock_timeout', '50ms', true);
            PERFORM set_config('session_sync.applying', pg_current_xact_id()::text, true);
            WITH st AS MATERIALIZED (
                SELECT s.session_id, s.purchase_id, s.reason, s.state, s.tutoring_xmin, s.allocation_id, s.student_id,
                       s.trainer_id, s.course_id, s.scheduled_date, s.scheduled_time, s.duration, s.status,
                       s.student_home_location, s.metadata, s.dropped_keys
                FROM public.session_sync_session_state s
                -- <= 64 purchases: an InitPlan, estimated alike for any batch (one cached plan); more: the array
                WHERE s.purchase_id = ANY (CASE WHEN cardinality(v_batch) > 64 THEN v_batch ELSE (SELECT v_batch)::uuid[] END)
                  AND s.state IN ('missing', 'drifted', 'conflict')
            ), locked AS MATERIALIZED (
                -- Never wait: a row another transaction holds leaves its purchase for later.
                SELECT t.id, t.xmin AS tutoring_xmin
                FROM public.tutoring_sessions t
                WHERE t.id = ANY (ARRAY(SELECT st.session_id FROM st WHERE st.state = 'drifted' AND st.reason IS NULL))
                ORDER BY t.id
                FOR UPDATE SKIP LOCKED
            ), locked_xmin AS MATERIALIZED (
                -- Rows locked (id -> xmin), and the purchases to write below: jsonb looked up, never joined
                SELECT jsonb_object_agg(l.id::text, l.tutoring_xmin::text) AS m FROM locked l
            ), verdict AS MATERIALIZED (
                SELECT st.purchase_id, st.student_id, st.trainer_id, st.course_id, st.allocation_id,
                       coalesce(min(st.reason),
                                CASE WHEN bool_or(st.state = 'conflict') THEN 'SESSION_CONFLICT' END) AS reason,
                       bool_or(st.state = 'drifted'
                               AND ((SELECT x.m FROM locked_xmin x) ->> st.session_id::text)
                                   IS DISTINCT FROM st.tutoring_xmin::text) AS busy,
                       count(*) FILTER (WHERE st.state = 'missing') AS missing
                FROM st
                GROUP BY st.purchase_id, st.student_id, st.trainer_id, st.course_id, st.allocation_id
            ), created AS (
                -- The oldest purchase's details win a shared key; a concurrent transaction's
                -- allocation for the key wins too (ON CONFLICT), and the purchase is deferred.
                INSERT INTO public.trainer_allocations
                    (student_id, trainer_id, course_id, requested_by, status, allocated_at, metadata)
                SELECT DISTINCT ON (v.student_id, v.trainer_id, v.course_id)
                       v.student_id, v.trainer_id, v.course_id, v.student_id, 'approved', now(),
                       jsonb_build_object(
                           'sessionCount', p.total_sessions,
                           'isSundayOnly', p.delivery_mode = 'SUNDAY_ONLY',
                           'schedule', jsonb_build_object('timeSlot', p.preferred_time_slot, 'date', p.start_date),
                           'purchaseId', p.id,
                           'bookingId', p.booking_id)
                FROM verdict v
                CROSS JOIN LATERAL (SELECT * FROM public.course_purchases cp WHERE cp.id = v.purchase_id) p
                WHERE v.reason IS NULL AND v.allocation_id IS NULL AND NOT v.busy
                ORDER BY v.student_id, v.trainer_id, v.course_id, p.created_at, p.id
                ON CONFLICT DO NOTHING
                RETURNING id, student_id, trainer_id, course_id
            ), created_ids AS MATERIALIZED (
                SELECT jsonb_object_agg(concat_ws('/', c.student_id, c.trainer_id, c.course_id), c.id) AS m
                FROM created c
            ), ok AS MATERIALIZED (
                -- the purchases to write (no reason, rows held as classified), with their allocation
                SELECT jsonb_object_agg(v.purchase_id::text, a.id) AS m
                FROM verdict v
                CROSS JOIN LATERAL (
                    SELECT coalesce(v.allocation_id::text,
                                    (SELECT c.m FROM created_ids c)
                                        ->> concat_ws('/', v.student_id, v.trainer_id, v.course_id)) AS id) a
                WHERE v.reason IS NULL AND NOT v.busy AND a.id IS NOT NULL
            ), w AS (
                -- the sessions of the purchases to write, with their allocation (one lookup a row)
                SELECT * FROM (
                    SELECT st.session_id, st.purchase_id, st.state,
                           ((SELECT ok.m FROM ok) ->> st.purchase_id::text)::uuid AS allocation_id, st.student_id,
                           st.trainer_id, st.course_id, st.scheduled_date, st.scheduled_time, st.duration, st.status,
                           st.student_home_location, st.metadata, st.dropped_keys
                    FROM st
                    WHERE st.state IN ('missing', 'drifted')
                    OFFSET 0) s
                WHERE s.allocation_id IS NOT NULL
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
                    -- merged onto the row as it is: the apps' keys stay, the dropped keys go
                    metadata = (CASE WHEN jsonb_typeof(t.metadata) = 'object' THEN t.metadata ELSE '{}'::jsonb END
                                - coalesce(s.dropped_keys, '{}'::text[]))
                               || s.metadata,
                    updated_at = now()
                FROM w s
                WHERE s.state = 'drifted'
                  AND t.id = s.session_id
                  AND session_sync.session_sync_owned_by(t.metadata, s.purchase_id)
                  AND NOT session_sync.session_sync_protected(t.status)
                RETURNING t.id
            ), inserted AS (
                INSERT INTO public.tutoring_sessions
                    (id, allocation_id, student_id, trainer_id, course_id, scheduled_date, scheduled_time, duration,
                     status, student_home_location, metadata)
                SELECT s.session_id, s.allocation_id, s.student_id, s.trainer_id, s.course_id, s.scheduled_date,
                       s.scheduled_time, s.duration, s.status, s.student_home_location, s.metadata
                FROM w s
                WHERE s.state = 'missing'
                ORDER BY s.session_id  -- concurrent writers take the keys in one order: one waits, never both
                ON CONFLICT (id) DO NOTHING
                RETURNING id
            ), forgotten AS (
                -- in the same statement, so that a dropped key's record goes exactly when the key does
                DELETE FROM public.session_sync_dropped_keys d
                WHERE d.ctid IN (
                    SELECT k.ctid FROM public.session_sync_dropped_keys k
                    WHERE k.session_id = ANY (ARRAY(SELECT u.id FROM updated u UNION ALL SELECT i.id FROM inserted i))
                    FOR UPDATE OF k SKIP LOCKED)
            )
            SELECT count(*) FILTER (WHERE v.ok) AS synced,
                   coalesce(sum(v.missing) FILTER (WHERE v.ok), 0) AS intended,
                   (SELECT count(*) FROM inserted) AS created,
                   (SELECT count(*) FROM updated) AS updated,
                   coalesce(array_agg(v.purchase_id ORDER BY v.purchase_id) FILTER (WHERE v.reason IS NOT NULL), '{}') AS failed_ids,
                   coalesce(array_agg(v.reason ORDER BY v.purchase_id) FILTER (WHERE v.reason IS NOT NULL), '{}') AS failed_reasons,
                   coalesce(array_agg(v.purchase_id ORDER BY v.purchase_id) FILTER (WHERE v.reason IS NULL AND NOT v.ok),
                            '{}') AS deferred_ids,
                   -- outside READ COMMITTED a session inserted since the transaction's snapshot is not
                   -- seen here: what was written stays queued for another look
                   CASE WHEN current_setting('transaction_isolation') = 'read committed' THEN '{}'::uuid[]
                        ELSE coalesce(array_agg(v.purchase_id ORDER BY v.purchase_id) FILTER (WHERE v.ok), '{}') END AS requeued_ids
            FROM (SELECT v.purchase_id, v.reason, v.missing, coalesce((SELECT ok.m FROM ok) ? v.purchase_id::text, false) AS ok
                  FROM verdict v) v
            INTO v_result;
            IF v_result.created < v_result.intended THEN
                RAISE EXCEPTION USING ERRCODE = 'SS010', MESSAGE = format(
                    '%s of %s sessions were inserted by a concurrent transaction first',
                    v_result.intended - v_result.created, v_result.intended);
            END IF;
            purchases_synced := purchases_synced + v_result.synced;
            sessions_created := sessions_created + v_result.created;
            sessions_updated := sessions_updated + v_result.updated;
            v_failed_ids := v_failed_ids || v_result.failed_ids;
            v_failed_reasons := v_failed_reasons || v_result.failed_reasons;
            v_failed_details := v_failed_details || array_fill(NULL::text, ARRAY[cardinality(v_result.failed_ids)]);
            v_deferred_ids := v_deferred_ids || v_result.deferred_ids;
            v_requeued_ids := v_requeued_ids || v_result.requeued_ids;
            EXIT WHEN v_round = 0;
        EXCEPTION
            WHEN OTHERS THEN  -- never a cancel or statement_timeout: OTHERS does not match them
                GET STACKED DIAGNOSTICS v_sqlstate = RETURNED_SQLSTATE, v_error = MESSAGE_TEXT,
                                        v_table = TABLE_NAME;
                IF v_sqlstate NOT IN ('55P03', '40P01', '40001', 'SS010') THEN
                    -- the platform's tables rejected the write (a constraint names its table)
                    v_sqlstate := CASE WHEN v_table = 'trainer_allocations' THEN 'SS007' ELSE 'SS009' END;
                END IF;
                IF v_round = 0 THEN
                    retry_reason := v_sqlstate || ': ' || v_error;
                    IF v_sqlstate = '55P03' THEN
                        -- retrying each purchase would wait lock_timeout again per purchase
                        v_deferred_ids := v_deferred_ids || v_ids;
                        RAISE NOTICE 'session-sync: the set-based write of % purchases waited for another transaction''s uncommitted write (%); all deferred (left queued)',
                            cardinality(v_ids), retry_reason;
                        EXIT;
                    END IF;
                ELSIF v_sqlstate IN ('SS007', 'SS009') THEN
                    v_failed_ids := v_failed_ids || v_batch;
                    v_failed_reasons := v_failed_reasons
                        || CASE v_sqlstate WHEN 'SS007' THEN 'ALLOCATION_FAILED' ELSE 'SESSION_WRITE_FAILED' END;
                    v_failed_details := v_failed_details || v_error;
                ELSE
                    -- SS010, 40001, 40P01, 55P03: nothing is wrong with the purchase
                    v_deferred_ids := v_deferred_ids || v_batch;
                END IF;
        END;
        v_round := v_round + 1;
    END LOOP;
    IF purchases_retried > 0 THEN
        RAISE NOTICE 'session-sync: the set-based write of % purchases failed (%); retried one by one: % synced, % failed, % deferred (left queued)',
            cardinality(v_ids), retry_reason, purchases_synced, cardinality(v_failed_ids),
            cardinality(v_deferred_ids);
    END IF;
    PERFORM set_config('session_sync.applying', 'off', true);
    PERFORM set_config('lock_timeout', v_lock_timeout, true);
    purchases_failed := cardinality(v_failed_ids);

    -- Records of dropped keys with nothing left to do (the key is back, or gone from a session
    -- it may stay on; a run also forgets those of deleted purchase sessions). Rows another
    -- transaction holds are skipped; a 40001 or a lock wait past 50 ms gives the cleanup up.
    BEGIN
        PERFORM set_config('lock_timeout', '50ms', true);
        IF EXISTS (SELECT 1 FROM public.session_sync_dropped_keys) THEN
        DELETE FROM public.session_sync_dropped_keys d
        WHERE d.ctid = ANY (ARRAY(
            SELECT k.ctid
            FROM public.session_sync_dropped_keys k
            JOIN public.purchase_sessions ps ON ps.id = k.session_id
            WHERE ps.purchase_id = ANY (v_ids)
              AND coalesce(jsonb_typeof(ps.metadata) = 'object' AND ps.metadata ? k.key, false)
            FOR UPDATE OF k SKIP LOCKED)
          || ARRAY(
            SELECT k.ctid
            FROM public.session_sync_dropped_keys k
            JOIN public.purchase_sessions ps ON ps.id = k.session_id
            JOIN public.tutoring_sessions t ON t.id = k.session_id
            WHERE ps.purchase_id = ANY (v_ids)
              AND (NOT coalesce(jsonb_typeof(t.metadata) = 'object' AND t.metadata ? k.key, false)
                   OR session_sync.session_sync_protected(t.status)
                   OR NOT session_sync.session_sync_owned_by(t.metadata, ps.purchase_id))
            FOR UPDATE OF k FOR SHARE OF t SKIP LOCKED)
          || ARRAY(
            SELECT k.ctid
            FROM public.session_sync_dropped_keys k
            WHERE p_source <> 'trigger'
              AND NOT EXISTS (SELECT 1 FROM public.purchase_sessions ps WHERE ps.id = k.session_id)
            FOR UPDATE OF k SKIP LOCKED));
        END IF;
        PERFORM set_config('lock_timeout', v_lock_timeout, true);
    EXCEPTION
        WHEN serialization_failure OR lock_not_available THEN
            NULL;  -- the savepoint's rollback restores lock_timeout too
    END;
    purchases_deferred := cardinality(v_deferred_ids);

    IF purchases_failed > 0 THEN
        -- The earlier rows of the same failure are folded in; one another transaction holds is
        -- skipped (the next failure folds it). Only in READ COMMITTED, where it cannot raise 40001.
        WITH failed AS (
            SELECT f.purchase_id, f.reason, f.detail
            FROM unnest(v_failed_ids, v_failed_reasons, v_failed_details) AS f(purchase_id, reason, detail)
        ), earlier AS (
            DELETE FROM public.session_sync_failures old
            WHERE old.failure_id IN (
                SELECT o.failure_id
                FROM public.session_sync_failures o
                JOIN failed f ON f.purchase_id = o.purchase_id AND f.reason = o.reason
                WHERE current_setting('transaction_isolation') = 'read committed'
                FOR UPDATE OF o SKIP LOCKED)
            RETURNING old.purchase_id, old.reason, old.occurrences, old.first_failed_at
        )
        INSERT INTO public.session_sync_failures
            (run_id, purchase_id, reason, message, hint, source, occurrences, first_failed_at)
        SELECT p_run_id, f.purchase_id, f.reason,
               session_sync.session_sync_failure_message(f.reason, f.purchase_id, f.detail),
               session_sync.session_sync_hint(f.reason), p_source,
               1 + coalesce((SELECT sum(e.occurrences) FROM earlier e
                             WHERE e.purchase_id = f.purchase_id AND e.reason = f.reason), 0),
               coalesce((SELECT min(e.first_failed_at) FROM earlier e
                         WHERE e.purchase_id = f.purchase_id AND e.reason = f.reason), clock_timestamp())
        FROM failed f;
    END IF;

    -- The change log: the rows this call saw go, by ctid, for the purchases left in sync; a row
    -- another transaction holds is skipped, a 40001 or a lock wait past 50 ms gives it up. The
    -- failures above and the queue below wait as the caller's statements would.
    BEGIN
        PERFORM set_config('lock_timeout', '50ms', true);
        DELETE FROM public.session_sync_changes c
        WHERE c.ctid = ANY (ARRAY(
            SELECT q.ctid FROM public.session_sync_changes q
            WHERE q.purchase_id = ANY (v_ids)
              AND NOT (q.purchase_id = ANY (v_failed_ids || v_deferred_ids || v_requeued_ids))
              AND pg_visible_in_snapshot(q.xact, v_snapshot)
            FOR UPDATE OF q SKIP LOCKED));
        PERFORM set_config('lock_timeout', v_lock_timeout, true);
    EXCEPTION
        WHEN serialization_failure OR lock_not_available THEN
            NULL;
    END;
    IF purchases_failed + purchases_deferred + cardinality(v_requeued_ids) > 0 THEN
        -- Deferred and requeued purchases always get a row of their own (a concurrent run may
        -- delete the ones it saw); a failing one only when it has none, so the log does not grow.
        PERFORM session_sync.session_sync_enqueue(v_deferred_ids || v_requeued_ids || ARRAY(
            SELECT f.id FROM unnest(v_failed_ids) AS f(id)
            WHERE NOT EXISTS (SELECT 1 FROM public.session_sync_changes c WHERE c.purchase_id = f.id)));
    END IF;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_write IS 'session_sync_write(p_purchase_ids uuid[], p_run_id bigint, p_source text)
  -> (purchases_synced, purchases_failed, purchases_deferred, purchases_retried,
      sessions_created, sessions_updated, retry_reason, purchases_examined)
Contract (internal; the sync at COMMIT, sync_purchase_sessions, sync_all_sessions and the
backfill call it): the one place that writes tutoring sessions and allocations. Examines the
given purchases (NULL: every queued one) and, in one statement, classifies their sessions
(session_sync_session_state), locks the drifted ones (FOR UPDATE SKIP LOCKED), creates the
missing approved allocations (requested_by the student; metadata sessionCount, isSundayOnly,
schedule, purchaseId, bookingId), inserts the missing sessions and updates the drifted ones
(metadata merged onto the row as it is, the dropped keys and their records removed).
  * A purchase that cannot be synced is recorded in session_sync_failures (one row per purchase
    and reason, occurrences counted; a message naming ids only), left untouched and queued.
  * Deferred (nothing written, queued): a purchase whose tutoring sessions another transaction
    holds or changed since classified, or whose sync at COMMIT another transaction holds
    (try-locks at COMMIT, probes in a run), or whose write waits past 50 ms for a lock, or one of
    whose sessions a concurrent transaction inserted first (ON CONFLICT, then a count). The
    clean-ups give up past 50 ms; only recording failures and queuing wait (on the package''s
    own tables), so a COMMIT never fails for a lock.
  * Should the set-based write fail, each purchase is retried alone under its own savepoint.
  * purchases_examined = synced + failed + deferred + those with nothing to write.
  * The change-log rows it read go for the purchases left in sync (outside READ COMMITTED a
    written one stays queued); a row appended meanwhile stays.
Never raises for bad data; a run, backfill or sync_purchase_sessions() refuses SERIALIZABLE
(25001). A cancel raises and the caller''s transaction undoes all of it.
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';

-- sql/functions/session_sync_primary_student.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_primary_student(p_students jsonb)
RETURNS uuid
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
-- -> 0 of a non-array and -> 'id' of a non-object are NULL: one test covers the shape
RETURN CASE WHEN jsonb_typeof(p_students -> 0 -> 'id') = 'string'
            THEN session_sync.session_sync_uuid(p_students -> 0 ->> 'id') END;

COMMENT ON FUNCTION session_sync.session_sync_primary_student IS 'session_sync_primary_student(p_students jsonb) -> uuid
Contract: the UUID string "id" of the first element of course_purchases.students, else NULL
(the purchase cannot be synced: NO_STUDENT). Never raises.';

-- sql/views/session_sync_purchase_check.sql
CREATE OR REPLACE VIEW public.session_sync_purchase_check AS
SELECT
    p.id AS purchase_id,
    p.booking_id,
    p.trainer_id,
    p.course_id,
    p.status AS purchase_status,
    p.delivery_mode,
    p.total_sessions,
    p.start_date,
    p.preferred_time_slot,
    p.created_at,
    session_sync.session_sync_eligible(p.trainer_id, p.status) AS eligible,
    x.student_id,
    x.home_location,
    CASE
        WHEN p.trainer_id IS NULL THEN 'NO_TRAINER'
        WHEN p.status IS DISTINCT FROM 'ASSIGNED' THEN 'NOT_ASSIGNED'
        WHEN x.student_id IS NULL THEN 'NO_STUDENT'
        ELSE x.location_problem
    END AS reason,
    x.allocation_id
FROM public.course_purchases p
-- OFFSET 0 keeps these subqueries from being flattened: each value is computed once per
-- purchase, not once per session row after the views join purchase_sessions, nor once per use.
-- The home location is NULL exactly when there is a location problem, which is looked up then only.
CROSS JOIN LATERAL (
    SELECT session_sync.session_sync_primary_student(p.students) AS student_id,
           session_sync.session_sync_home_location(p.student_location) AS home_location
    OFFSET 0
) s
CROSS JOIN LATERAL (
    SELECT s.student_id,
           s.home_location,
           CASE WHEN s.home_location IS NULL
                THEN session_sync.session_sync_location_problem(p.student_location) END AS location_problem,
           (SELECT al.id FROM public.trainer_allocations al
            WHERE al.student_id = s.student_id
              AND al.trainer_id = p.trainer_id AND al.course_id = p.course_id
              AND session_sync.session_sync_allocation_usable(al.status)
            ORDER BY al.status = 'approved' DESC, al.requested_at, al.id
            LIMIT 1) AS allocation_id
    OFFSET 0
) x;

COMMENT ON VIEW public.session_sync_purchase_check IS 'session_sync_purchase_check: one row per course_purchases row.
Contract: whether the purchase is eligible (trainer_id set and status = ''ASSIGNED''), its
primary student, the student_home_location its tutoring sessions get, and `reason`:
NULL when it can be synced, else the first reason code that stops it, in the order
NO_TRAINER, NOT_ASSIGNED, NO_STUDENT, MISSING_LOCATION / INVALID_COORDINATES.';
COMMENT ON COLUMN public.session_sync_purchase_check.purchase_id IS 'the purchase (course_purchases.id)';
COMMENT ON COLUMN public.session_sync_purchase_check.booking_id IS 'its booking';
COMMENT ON COLUMN public.session_sync_purchase_check.trainer_id IS 'its trainer (NULL while none is assigned)';
COMMENT ON COLUMN public.session_sync_purchase_check.course_id IS 'its course';
COMMENT ON COLUMN public.session_sync_purchase_check.purchase_status IS 'its status (ASSIGNED, WAITLISTED, ...)';
COMMENT ON COLUMN public.session_sync_purchase_check.delivery_mode IS 'its delivery mode (SUNDAY_ONLY sessions last 80 minutes)';
COMMENT ON COLUMN public.session_sync_purchase_check.total_sessions IS 'its number of sessions (the new allocation''s sessionCount)';
COMMENT ON COLUMN public.session_sync_purchase_check.start_date IS 'its start date (the new allocation''s schedule.date)';
COMMENT ON COLUMN public.session_sync_purchase_check.preferred_time_slot IS 'its preferred time slot (the new allocation''s schedule.timeSlot)';
COMMENT ON COLUMN public.session_sync_purchase_check.created_at IS 'when it was created (the older purchase''s allocation wins a tie)';
COMMENT ON COLUMN public.session_sync_purchase_check.eligible IS 'trainer_id set and status ASSIGNED: the sync writes its sessions';
COMMENT ON COLUMN public.session_sync_purchase_check.student_id IS 'the primary student''s id (students->0->>''id''), NULL when absent or not a uuid';
COMMENT ON COLUMN public.session_sync_purchase_check.home_location IS 'the student''s home location as the sync writes it (JSON numbers, plus a non-empty address); NULL when invalid';
COMMENT ON COLUMN public.session_sync_purchase_check.allocation_id IS 'the approved (else active) allocation of (student, trainer, course) its sessions use; NULL while none exists';
COMMENT ON COLUMN public.session_sync_purchase_check.reason IS 'the reason code that stops its sync (NO_TRAINER, NOT_ASSIGNED, NO_STUDENT, MISSING_LOCATION, INVALID_COORDINATES); NULL when it can be synced';

-- sql/views/session_sync_session_state.sql
CREATE OR REPLACE VIEW public.session_sync_session_state AS
SELECT
    e.session_id,
    e.purchase_id,
    e.reason,
    e.metadata,
    t.id IS NOT NULL AS tutoring_exists,
    t.status AS tutoring_status,
    (CASE WHEN jsonb_typeof(t.metadata) = 'object' THEN t.metadata ELSE '{}'::jsonb END
        - coalesce(dk.keys, '{}'::text[])) || e.metadata AS merged_metadata,
    st.state,
    t.xmin AS tutoring_xmin,
    dk.keys AS dropped_keys,
    -- the mapped columns last: a revision adding one appends a column, which CREATE OR REPLACE VIEW allows
    e.allocation_id,
    e.student_id,
    e.trainer_id,
    e.course_id,
    e.scheduled_date,
    e.scheduled_time,
    e.duration,
    e.status,
    e.student_home_location
FROM public.session_sync_expected e
LEFT JOIN public.tutoring_sessions t ON t.id = e.session_id
-- The session's dropped keys, by index, only while the table has rows (the uncorrelated EXISTS
-- runs once per query). Both laterals are flattened, no node per row: the state is computed per
-- use (the WHERE, then the rows returned); a reader using it more per row fences it (OFFSET 0).
CROSS JOIN LATERAL (
    SELECT CASE WHEN EXISTS (SELECT 1 FROM public.session_sync_dropped_keys)
                THEN (SELECT array_agg(DISTINCT d.key) FROM public.session_sync_dropped_keys d
                      WHERE d.session_id = e.session_id)
           END AS keys
) dk
CROSS JOIN LATERAL (
    SELECT
        CASE
            WHEN t.id IS NULL THEN 'missing'
            WHEN NOT session_sync.session_sync_owned_by(t.metadata, e.purchase_id) THEN 'conflict'
            WHEN session_sync.session_sync_protected(t.status) THEN 'protected'
            WHEN e.allocation_id IS NULL
              OR (t.allocation_id, t.student_id, t.trainer_id, t.course_id, t.scheduled_date, t.scheduled_time, t.duration, t.status, t.student_home_location)
                 IS DISTINCT FROM
                 (e.allocation_id, e.student_id, e.trainer_id, e.course_id, e.scheduled_date, e.scheduled_time, e.duration, e.status, e.student_home_location)
              OR NOT coalesce(
                     jsonb_typeof(t.metadata) = 'object'
                     AND t.metadata ->> 'purchaseId' = e.purchase_id::text
                     AND t.metadata ->> 'bookingId' = e.booking_id::text
                     AND CASE jsonb_typeof(t.metadata -> 'sessionNumber')
                             WHEN 'number' THEN (t.metadata -> 'sessionNumber')::numeric = e.session_number END
                     AND CASE WHEN e.session_type IS NULL THEN t.metadata -> 'sessionType' = 'null'::jsonb
                              ELSE jsonb_typeof(t.metadata -> 'sessionType') = 'string'
                                   AND t.metadata ->> 'sessionType' = e.session_type END
                     AND CASE
                             WHEN coalesce(jsonb_typeof(e.session_metadata), '') <> 'object' THEN true
                             WHEN jsonb_path_exists(e.session_metadata,
                                                    'strict $.* ? (@.type() == "object" || @.type() == "array")')
                                 THEN t.metadata || e.metadata = t.metadata
                             ELSE t.metadata @> (e.session_metadata
                                                 - '{purchaseId,bookingId,sessionNumber,sessionType}'::text[])
                         END,
                     false)
              -- the metadata holding all expected keys, a dropped key stays if not one of them
              OR (EXISTS (SELECT 1 FROM public.session_sync_dropped_keys)
                  AND jsonb_typeof(t.metadata) = 'object'
                  AND EXISTS (SELECT 1 FROM public.session_sync_dropped_keys d
                              WHERE d.session_id = e.session_id AND t.metadata ? d.key AND NOT e.metadata ? d.key))
                THEN 'drifted'
            ELSE 'in_sync'
        END AS state
) st;

COMMENT ON VIEW public.session_sync_session_state IS 'session_sync_session_state: session_sync_expected beside the tutoring session it maps to.
Contract: `state` of each purchase session of an eligible purchase:
  missing    no tutoring session has its id
  conflict   a tutoring session has its id but its metadata.purchaseId is absent or names
             another purchase: someone else''s row, never taken over
  protected  the tutoring session has happened or is happening (pending_verification,
             in_progress, pending_confirmation, completed, disputed): never changed
  drifted    a mapped column differs from the mapping (or no allocation exists yet), merging
             the expected metadata keys would change its metadata, or it still has a key its
             purchase session has dropped since the sync copied it (session_sync_dropped_keys)
  in_sync    nothing to do
The metadata test checks the four canonical keys and contains the purchase session''s own keys
(where those hold arrays or objects it compares the merge exactly).';
COMMENT ON COLUMN public.session_sync_session_state.session_id IS 'the purchase session (and tutoring session) id';
COMMENT ON COLUMN public.session_sync_session_state.purchase_id IS 'its purchase';
COMMENT ON COLUMN public.session_sync_session_state.reason IS 'the purchase''s reason code (NULL when it can be synced)';
COMMENT ON COLUMN public.session_sync_session_state.metadata IS 'the expected metadata keys (the purchase session''s and the canonical ones)';
COMMENT ON COLUMN public.session_sync_session_state.tutoring_exists IS 'a tutoring session has the id';
COMMENT ON COLUMN public.session_sync_session_state.tutoring_status IS 'its status';
COMMENT ON COLUMN public.session_sync_session_state.merged_metadata IS 'the metadata an update writes: the tutoring session''s keys but dropped_keys, the expected keys on top';
COMMENT ON COLUMN public.session_sync_session_state.state IS 'missing, conflict, protected, drifted or in_sync (see the view''s description)';
COMMENT ON COLUMN public.session_sync_session_state.tutoring_xmin IS 'the version of the tutoring session that was classified (a write leaves the purchase for later when it changed since)';
COMMENT ON COLUMN public.session_sync_session_state.dropped_keys IS 'keys its purchase session''s metadata dropped that the sync has yet to remove (session_sync_dropped_keys)';
COMMENT ON COLUMN public.session_sync_session_state.allocation_id IS 'the expected allocation_id (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.student_id IS 'the expected student_id (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.trainer_id IS 'the expected trainer_id (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.course_id IS 'the expected course_id (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.scheduled_date IS 'the expected scheduled_date (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.scheduled_time IS 'the expected scheduled_time (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.duration IS 'the expected duration (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.status IS 'the expected status (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.student_home_location IS 'the expected student_home_location (a mapped column: session_sync_expected)';

-- sql/views/session_sync_verify.sql
CREATE OR REPLACE VIEW public.session_sync_verify AS
SELECT
    st.purchase_sessions,
    (SELECT count(*) FROM public.tutoring_sessions t WHERE t.metadata ->> 'purchaseId' IS NOT NULL)
        AS tutoring_sessions,
    st.missing,
    st.drifted,
    st.conflicts,
    st.protected,
    (SELECT count(*)
     FROM public.tutoring_sessions t
     WHERE t.metadata ->> 'purchaseId' IS NOT NULL
       AND NOT EXISTS (
           SELECT 1
           FROM public.purchase_sessions ps
           JOIN public.course_purchases p ON p.id = ps.purchase_id
           WHERE ps.id = t.id AND session_sync.session_sync_eligible(p.trainer_id, p.status))) AS orphaned
FROM (
    SELECT count(*) AS purchase_sessions,
           count(*) FILTER (WHERE s.state = 'missing') AS missing,
           count(*) FILTER (WHERE s.state = 'drifted') AS drifted,
           count(*) FILTER (WHERE s.state = 'conflict') AS conflicts,
           count(*) FILTER (WHERE s.state = 'protected') AS protected
    FROM (SELECT s.state FROM public.session_sync_session_state s OFFSET 0) s  -- each state once
) st;

COMMENT ON VIEW public.session_sync_verify IS 'session_sync_verify: the guide''s "Testing the Sync" as one row of counts; missing and
drifted are 0 after a sync_all_sessions() run with no failures.';
COMMENT ON COLUMN public.session_sync_verify.purchase_sessions IS 'purchase sessions of eligible purchases';
COMMENT ON COLUMN public.session_sync_verify.tutoring_sessions IS 'tutoring sessions with a metadata.purchaseId';
COMMENT ON COLUMN public.session_sync_verify.missing IS 'purchase sessions of eligible purchases with no tutoring session (0 after a run without failures)';
COMMENT ON COLUMN public.session_sync_verify.drifted IS 'tutoring sessions whose mapped values differ (0 after a run without failures)';
COMMENT ON COLUMN public.session_sync_verify.conflicts IS 'purchase sessions whose id is taken by a tutoring session that is not their purchase''s';
COMMENT ON COLUMN public.session_sync_verify.protected IS 'tutoring sessions that happened or are happening (never changed)';
COMMENT ON COLUMN public.session_sync_verify.orphaned IS 'tutoring sessions with a purchaseId whose purchase session is gone or whose purchase is no longer eligible (never deleted)';
