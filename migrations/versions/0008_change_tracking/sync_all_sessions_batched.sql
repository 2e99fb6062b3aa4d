-- CALL sync_all_sessions_batched(p_batch_size => 1000, p_quiet => false, p_run_id => NULL)
-- Contract: the backfill for a live database. Reads session_sync_queue once (the purchases
-- writes may have put out of sync; SELECT session_sync_enqueue() queues every eligible one),
-- then examines and syncs them in batches of p_batch_size purchases
-- (session_sync_process: failures recorded, never half a purchase) and COMMITs after each
-- batch, so no lock is held on more than one batch. Progress is a NOTICE per batch
-- (p_quiet => true, or SET client_min_messages = warning, silences it). Stopped half-way
-- (Ctrl-C, statement_timeout, a lost connection), the committed batches stay and a rerun
-- picks up what is left. One backfill at a time: a second session is refused (SQLSTATE
-- 55P03) while one runs. The run is one row in session_sync_runs (source 'batched'),
-- updated after each batch; p_run_id returns its id.
-- Call it outside an explicit transaction block (it commits). A procedure that commits cannot
-- carry SET search_path, so this one names every object by schema and leaves the work to
-- session_sync_process, which does.
CREATE OR REPLACE PROCEDURE public.sync_all_sessions_batched(
    p_batch_size integer DEFAULT 1000,
    p_quiet boolean DEFAULT false,
    INOUT p_run_id bigint DEFAULT NULL
)
LANGUAGE plpgsql
AS $$
DECLARE
    v_ids uuid[];
    v_total integer;
    v_batches integer;
    v_result record;
    v_synced integer := 0;
    v_failed integer := 0;
    v_created integer := 0;
    v_updated integer := 0;
BEGIN
    IF p_batch_size IS NULL OR p_batch_size OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION USING
            ERRCODE = '22023',
            MESSAGE = pg_catalog.format('sync_all_sessions_batched: p_batch_size must be 1 or more, not %s',
                                        coalesce(p_batch_size::text, 'NULL')),
            HINT = 'CALL sync_all_sessions_batched(p_batch_size => 1000);';
    END IF;
    IF NOT pg_catalog.pg_try_advisory_lock(5417003, 0) THEN
        RAISE EXCEPTION USING
            ERRCODE = '55P03',
            MESSAGE = 'sync_all_sessions_batched is already running in another session',
            HINT = 'Wait for it to finish (SELECT * FROM session_sync_runs ORDER BY run_id DESC LIMIT 1 shows its progress), or find it: SELECT pid FROM pg_locks WHERE locktype = ''advisory'' AND classid = 5417003;';
    END IF;

    INSERT INTO public.session_sync_runs (source, dry_run, purchases_synced, purchases_failed,
                                          sessions_created, sessions_updated)
    VALUES ('batched', false, 0, 0, 0, 0)
    RETURNING run_id INTO p_run_id;

    SELECT pg_catalog.array_agg(q.purchase_id ORDER BY q.purchase_id) INTO v_ids
    FROM public.session_sync_queue q;
    v_total := coalesce(pg_catalog.cardinality(v_ids), 0);
    v_batches := (v_total + p_batch_size - 1) / p_batch_size;
    COMMIT;

    IF NOT p_quiet THEN
        RAISE NOTICE 'session-sync run %: % queued purchases to examine in % batches of up to %',
            p_run_id, v_total, v_batches, p_batch_size;
    END IF;

    FOR v_batch IN 1 .. v_batches LOOP
        -- Queue behind a running sync_all_sessions() rather than race it.
        PERFORM pg_catalog.pg_advisory_xact_lock(5417002, 0);
        SELECT * INTO v_result
        FROM public.session_sync_process(v_ids[(v_batch - 1) * p_batch_size + 1 : v_batch * p_batch_size],
                                         p_run_id, false, 'batched');
        v_synced := v_synced + v_result.purchases_synced;
        v_failed := v_failed + v_result.purchases_failed;
        v_created := v_created + v_result.sessions_created;
        v_updated := v_updated + v_result.sessions_updated;
        UPDATE public.session_sync_runs r
        SET purchases_synced = v_synced, purchases_failed = v_failed,
            sessions_created = v_created, sessions_updated = v_updated
        WHERE r.run_id = p_run_id;
        COMMIT;
        IF NOT p_quiet THEN
            RAISE NOTICE 'session-sync run % batch %/%: % purchases synced, % failed, % sessions created, % updated so far',
                p_run_id, v_batch, v_batches, v_synced, v_failed, v_created, v_updated;
        END IF;
    END LOOP;

    UPDATE public.session_sync_runs r SET finished_at = pg_catalog.clock_timestamp() WHERE r.run_id = p_run_id;
    COMMIT;
    -- Release every level this session holds (an earlier interrupted call may have left one).
    LOOP
        EXIT WHEN NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_locks l
            WHERE l.locktype = 'advisory' AND l.classid = 5417003 AND l.objid = 0 AND l.objsubid = 2
              AND l.pid = pg_catalog.pg_backend_pid());
        PERFORM pg_catalog.pg_advisory_unlock(5417003, 0);
    END LOOP;
END;
$$;
