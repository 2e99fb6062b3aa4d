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
SET lock_timeout = '50ms'
SET work_mem = '256MB'
SET random_page_cost = 1.1
AS $$
DECLARE
    v_ids uuid[];
    v_snapshot pg_snapshot;
    v_batch uuid[];
    v_round integer := 0;
    v_table text;
    v_result record;
    v_failed_ids uuid[] := '{}'::uuid[];
    v_failed_reasons text[] := '{}'::text[];
    v_failed_details text[] := '{}'::text[];
    v_deferred_ids uuid[] := '{}'::uuid[];
    v_racing_ids uuid[] := '{}'::uuid[];
    v_sqlstate text;
    v_error text;
BEGIN
    purchases_synced := 0;
    purchases_failed := 0;
    purchases_deferred := 0;
    purchases_retried := 0;
    sessions_created := 0;
    sessions_updated := 0;
    purchases_examined := 0;

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
    IF purchases_examined = 0 THEN
        RETURN;
    END IF;
    IF p_source = 'trigger' THEN
        -- One sync at COMMIT of a purchase at a time. Two transactions writing one purchase at
        -- once (its purchase in one, its sessions in the other; a trainer change beside a new
        -- session) cannot see each other's rows: the second sync to get here leaves the purchase
        -- queued, written by neither, for the next run. Try-locks held to the end of the
        -- transaction: never a wait. A write of more than 64 purchases (a bulk statement) locks
        -- one of 1,024 buckets per purchase instead, which a small write shares.
        IF purchases_examined > 64 THEN
            SELECT coalesce(array_agg(i.id), '{}') INTO v_deferred_ids FROM unnest(v_ids) AS i(id)
            WHERE NOT pg_try_advisory_xact_lock(hashtext('session_sync.bucket'), hashtext(i.id::text) & 1023);
        ELSE
            SELECT coalesce(array_agg(i.id), '{}') INTO v_deferred_ids FROM unnest(v_ids) AS i(id)
            WHERE NOT (pg_try_advisory_xact_lock_shared(hashtext('session_sync.bucket'), hashtext(i.id::text) & 1023)
                       AND pg_try_advisory_xact_lock(hashtext('session_sync.purchase'), hashtext(i.id::text)));
        END IF;
        IF cardinality(v_deferred_ids) > 0 THEN
            v_ids := ARRAY(SELECT i.id FROM unnest(v_ids) AS i(id) WHERE NOT (i.id = ANY (v_deferred_ids)));
        END IF;
    END IF;

    -- The set-based write (round 0) under one savepoint. Should it fail, each purchase is
    -- written alone under its own (rounds 1..n): a failing purchase is recorded and rolled back
    -- whole, the others synced.
    WHILE cardinality(v_ids) > 0 AND v_round <= cardinality(v_ids) LOOP
        v_batch := CASE WHEN v_round = 0 THEN v_ids ELSE ARRAY[v_ids[v_round]] END;
        purchases_retried := purchases_retried + sign(v_round)::integer;
        BEGIN
            PERFORM set_config('session_sync.applying', pg_current_xact_id()::text, true);
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
                WHERE s.purchase_id = ANY (v_batch)
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
                -- The approved allocation of each (student, trainer, course) that a purchase to
                -- write lacks, with the oldest purchase's details. A concurrent transaction's
                -- allocation for the same key wins (waited for within lock_timeout); the purchase
                -- is then deferred. The sessions below point at the new ids; the foreign key is
                -- checked at the end of the statement.
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
                -- the purchases to write (no reason, rows held as classified, an allocation),
                -- each with its allocation's id
                SELECT jsonb_object_agg(v.purchase_id::text, a.id) AS m
                FROM verdict v
                CROSS JOIN LATERAL (
                    SELECT coalesce(v.allocation_id::text,
                                    (SELECT c.m FROM created_ids c)
                                        ->> concat_ws('/', v.student_id, v.trainer_id, v.course_id)) AS id) a
                WHERE v.reason IS NULL AND NOT v.busy AND a.id IS NOT NULL
            ), w AS (
                SELECT st.session_id, st.purchase_id, st.state,
                       ((SELECT ok.m FROM ok) ->> st.purchase_id::text)::uuid AS allocation_id,
                       st.student_id,
                       st.trainer_id,
                       st.course_id,
                       st.scheduled_date,
                       st.scheduled_time,
                       st.duration,
                       st.status,
                       st.student_home_location,
                       st.metadata, st.dropped_keys
                FROM st
                WHERE st.state IN ('missing', 'drifted')
                  AND coalesce((SELECT ok.m FROM ok) ? st.purchase_id::text, false)
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
                FROM w s
                WHERE s.state = 'drifted'
                  AND t.id = s.session_id
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
                FROM w s
                WHERE s.state = 'missing'
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
            SELECT count(*) FILTER (WHERE v.ok) AS synced,
                   coalesce(sum(v.missing) FILTER (WHERE v.ok), 0) AS intended,
                   (SELECT count(*) FROM inserted) AS created,
                   (SELECT count(*) FROM updated) AS updated,
                   coalesce(array_agg(v.purchase_id ORDER BY v.purchase_id) FILTER (WHERE v.reason IS NOT NULL), '{}') AS failed_ids,
                   coalesce(array_agg(v.reason ORDER BY v.purchase_id) FILTER (WHERE v.reason IS NOT NULL), '{}') AS failed_reasons,
                   coalesce(array_agg(v.purchase_id ORDER BY v.purchase_id) FILTER (WHERE v.reason IS NULL AND NOT v.ok),
                            '{}') AS deferred_ids,
                   CASE WHEN current_setting('transaction_isolation') = 'read committed' THEN '{}'::uuid[]
                        -- one snapshot for the whole transaction: a session another transaction inserted
                        -- since it was taken cannot be seen here, so what it wrote gets another look
                        ELSE coalesce(array_agg(v.purchase_id ORDER BY v.purchase_id) FILTER (WHERE v.ok), '{}') END AS racing_ids
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
            v_racing_ids := v_racing_ids || v_result.racing_ids;
            EXIT WHEN v_round = 0;
        EXCEPTION
            WHEN query_canceled THEN
                RAISE;
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_sqlstate = RETURNED_SQLSTATE, v_error = MESSAGE_TEXT,
                                        v_table = TABLE_NAME;
                IF v_sqlstate NOT IN ('55P03', '40P01', '40001', 'SS010') THEN
                    -- the platform's tables rejected the write (a constraint names its table)
                    v_sqlstate := CASE WHEN v_table = 'trainer_allocations' THEN 'SS007' ELSE 'SS009' END;
                END IF;
                IF v_round = 0 THEN
                    retry_reason := v_sqlstate || ': ' || v_error;
                    IF v_sqlstate = '55P03' THEN
                        -- Another transaction's uncommitted insert of one of these sessions or
                        -- allocations (an operator's open run, say) held the write for its
                        -- lock_timeout: retrying each purchase would wait that long again per
                        -- purchase. All are deferred (queued) instead.
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
                    -- a concurrent writer (SS010), a serialization failure, a lock timeout:
                    -- nothing is wrong with the purchase; it is left for the next run
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
    purchases_failed := cardinality(v_failed_ids);

    -- Records of dropped keys with nothing left to do (the write deletes the records of the keys
    -- it removes): the purchase session has the key again, or its tutoring session no longer
    -- has it, is protected (never changed) or is not the purchase's (a conflict, never written).
    -- Rows another transaction holds are skipped, never waited for: a record, or a tutoring
    -- session another transaction is writing (a sync copying the key onto it right now would
    -- leave the key with no record); one written since this statement's snapshot is read as
    -- it is now (the row lock rechecks it). Only looked at while the table has rows.
    -- Here and for the change log below: in REPEATABLE READ, a row another transaction deleted
    -- after this one's snapshot would raise 40001 and fail the caller's COMMIT; such a delete is
    -- given up (the rows stay for the next run), never the caller's transaction; so is one that
    -- meets a table lock (a migration's) past lock_timeout.
    IF EXISTS (SELECT 1 FROM public.session_sync_dropped_keys) THEN
        BEGIN
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
            FOR UPDATE OF k FOR SHARE OF t SKIP LOCKED));
        IF p_source <> 'trigger' THEN
            -- a run, a backfill batch or sync_purchase_sessions() also forgets the records of
            -- purchase sessions that are gone
            DELETE FROM public.session_sync_dropped_keys d
            WHERE d.ctid IN (
                SELECT k.ctid FROM public.session_sync_dropped_keys k
                WHERE NOT EXISTS (SELECT 1 FROM public.purchase_sessions ps WHERE ps.id = k.session_id)
                FOR UPDATE OF k SKIP LOCKED);
        END IF;
        EXCEPTION
            WHEN serialization_failure OR lock_not_available THEN
                NULL;
        END;
    END IF;
    purchases_deferred := cardinality(v_deferred_ids);

    IF purchases_failed > 0 THEN
        -- One row per purchase and reason: the earlier rows of the same failure are replaced by
        -- the new one, which adds up their occurrences. A row another transaction holds (it is
        -- replacing it right now) is skipped, never waited for; the next failure folds it in.
        -- Only in READ COMMITTED: in a transaction with one snapshot, replacing a row that a
        -- concurrent transaction has replaced since would fail the caller's COMMIT with 40001.
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

    -- The change log: rows this call saw go for the purchases that are in sync now; failed,
    -- deferred and racing purchases stay queued (or join the queue).
    -- A row another transaction is deleting right now (an open run that examined the purchase
    -- too) is skipped, never waited for: the purchase is only examined once more. The rows it
    -- locked are deleted by their ctid (a TID scan: a run's half a million rows are not joined
    -- back by change_id, which spilled to disk).
    IF current_setting('transaction_isolation') = 'read committed' THEN
        DELETE FROM public.session_sync_changes c
        WHERE c.ctid = ANY (ARRAY(
            SELECT q.ctid FROM public.session_sync_changes q
            WHERE q.purchase_id = ANY (v_ids)
              AND NOT (q.purchase_id = ANY (v_failed_ids || v_deferred_ids || v_racing_ids))
              AND pg_visible_in_snapshot(q.xact, v_snapshot)
            FOR UPDATE OF q SKIP LOCKED));
    ELSE
        -- The same, in a savepoint: in REPEATABLE READ a row another transaction deleted after
        -- this one's snapshot raises 40001, and the delete is given up (left for the next run).
        -- (In READ COMMITTED it cannot, and a savepoint on every platform COMMIT is not free.)
        BEGIN
            DELETE FROM public.session_sync_changes c
            WHERE c.ctid = ANY (ARRAY(
                SELECT q.ctid FROM public.session_sync_changes q
                WHERE q.purchase_id = ANY (v_ids)
                  AND NOT (q.purchase_id = ANY (v_failed_ids || v_deferred_ids || v_racing_ids))
                  AND pg_visible_in_snapshot(q.xact, v_snapshot)
                FOR UPDATE OF q SKIP LOCKED));
        EXCEPTION
            WHEN serialization_failure THEN
                NULL;
        END;
    END IF;
    IF purchases_failed + purchases_deferred + cardinality(v_racing_ids) > 0 THEN
        -- Deferred and racing purchases always get a row of their own (a run that examines them at
        -- the same moment may delete the ones it saw); a failing one only when it has none, so
        -- that the log does not grow by a row per run while its data stays wrong.
        INSERT INTO public.session_sync_changes (purchase_id)
        SELECT q.id FROM (
            SELECT DISTINCT f.id FROM unnest(v_failed_ids) AS f(id)
            WHERE NOT (f.id = ANY (v_deferred_ids || v_racing_ids))
              AND NOT EXISTS (SELECT 1 FROM public.session_sync_changes c WHERE c.purchase_id = f.id)
            UNION
            SELECT d.id FROM unnest(v_deferred_ids || v_racing_ids) AS d(id)
        ) q
        ORDER BY q.id;
    END IF;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_write IS 'session_sync_write(p_purchase_ids uuid[], p_run_id bigint, p_source text)
  -> (purchases_synced, purchases_failed, purchases_deferred, purchases_retried,
      sessions_created, sessions_updated, retry_reason, purchases_examined)
Contract (internal; every path calls it: the sync at COMMIT of a platform transaction,
sync_purchase_sessions, sync_all_sessions and the batched backfill): examines the given
purchases, or with NULL every purchase in the change log (session_sync_queue), and syncs
each one that needs it, set-based: the one place that writes tutoring sessions and
allocations. One statement creates the missing approved allocations (requested_by the
student, metadata sessionCount, isSundayOnly, schedule, purchaseId, bookingId); the next
classifies every session once (session_sync_session_state), locks the drifted ones it will
update (FOR UPDATE SKIP LOCKED), and for each purchase that can be synced and whose rows it
holds as classified inserts the missing sessions and updates the drifted ones (metadata
merged onto the row as it is, the dropped keys removed and their records deleted).
  * Purchases that cannot be synced are recorded in session_sync_failures (run p_run_id,
    source p_source, reason code, a message that names ids and coordinates only) and left
    untouched; they stay queued, so every run reports them until their data is fixed.
  * Purchases whose tutoring sessions another transaction holds or has just changed are
    deferred: nothing of them is written, they are queued, and the next run syncs them.
    Nothing here ever waits for a platform transaction''s row.
  * At COMMIT (source ''trigger'') a purchase another transaction''s sync holds (advisory
    try-locks to the end of the transaction) is deferred: neither may see the other''s rows.
  * No statement waits longer than lock_timeout 50ms (a migration holding a platform table):
    the write is then deferred, a cleanup of dropped-key records skipped.
  * Should the set-based write fail (ALLOCATION_FAILED, SESSION_WRITE_FAILED, or a concurrent
    insert of the same session), its savepoint undoes it and each purchase is retried alone
    under its own savepoint: a failing purchase is recorded and rolled back whole, the others
    synced. purchases_retried and retry_reason say that this slow way was taken, and why.
  * purchases_examined counts every purchase it looked at: synced + failed + deferred +
    the ones with nothing to write (already in sync, or not eligible), so a summary accounts
    for each.
  * A purchase that fails again for the same reason keeps one row in session_sync_failures:
    the new row carries the count (occurrences) and first_failed_at of the rows it replaces,
    so a purchase failing on every run does not grow the table.
  * The change-log rows this call read (visible in its snapshot) are deleted for the
    purchases it examined and found or left in sync; a row appended meanwhile stays.
Never raises for bad data. A statement_timeout or cancel raises and the caller''s
transaction undoes all of it.
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';
