CREATE OR REPLACE FUNCTION session_sync.session_sync_backfill_step(p_run_id bigint, p_quiet boolean DEFAULT false)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_run public.session_sync_runs%ROWTYPE;
    v_ids uuid[];
    v_result record;
BEGIN
    SELECT * INTO v_run FROM public.session_sync_runs r WHERE r.run_id = p_run_id FOR UPDATE;
    IF NOT FOUND OR v_run.source <> 'batched' OR v_run.outcome IS DISTINCT FROM 'running'
       OR v_run.backend_pid IS DISTINCT FROM pg_backend_pid() THEN
        RAISE EXCEPTION USING
            ERRCODE = '55000',
            MESSAGE = format('session_sync_backfill_step: run %s is not a backfill running in this session',
                             coalesce(p_run_id::text, 'NULL')),
            HINT = 'CALL sync_all_sessions_batched(); runs a whole backfill.';
    END IF;

    PERFORM 1 FROM public.session_sync_locks l WHERE l.name = 'run' FOR UPDATE;

    SELECT array_agg(q.purchase_id ORDER BY q.purchase_id) INTO v_ids
    FROM (SELECT DISTINCT c.purchase_id
          FROM public.session_sync_changes c
          WHERE v_run.resume_after IS NULL OR c.purchase_id > v_run.resume_after
          ORDER BY c.purchase_id
          LIMIT v_run.batch_size) q;

    IF v_ids IS NULL THEN
        UPDATE public.session_sync_runs r
        SET finished_at = clock_timestamp(), outcome = 'finished'
        WHERE r.run_id = p_run_id;
        IF NOT p_quiet THEN
            RAISE NOTICE 'session-sync run % finished: % purchase(s) examined: % synced, % with nothing to write, % failed, % deferred (still queued); % session(s) created, % updated',
                p_run_id, v_run.purchases_examined, v_run.purchases_synced, v_run.purchases_in_sync,
                v_run.purchases_failed, v_run.purchases_deferred, v_run.sessions_created, v_run.sessions_updated;
        END IF;
        RETURN false;
    END IF;

    SELECT * INTO v_result FROM session_sync.session_sync_write(v_ids, p_run_id, 'batched');
    UPDATE public.session_sync_runs r
    SET purchases_synced = r.purchases_synced + v_result.purchases_synced,
        purchases_failed = r.purchases_failed + v_result.purchases_failed,
        purchases_deferred = coalesce(r.purchases_deferred, 0) + v_result.purchases_deferred,
        purchases_retried = coalesce(r.purchases_retried, 0) + v_result.purchases_retried,
        retry_reason = coalesce(v_result.retry_reason, r.retry_reason),
        sessions_created = r.sessions_created + v_result.sessions_created,
        sessions_updated = r.sessions_updated + v_result.sessions_updated,
        purchases_examined = coalesce(r.purchases_examined, 0) + v_result.purchases_examined,
        purchases_in_sync = coalesce(r.purchases_in_sync, 0) + v_result.purchases_examined
                            - v_result.purchases_synced - v_result.purchases_failed - v_result.purchases_deferred,
        resume_after = v_ids[cardinality(v_ids)],
        batches = r.batches + 1
    WHERE r.run_id = p_run_id
    RETURNING * INTO v_run;
    IF NOT p_quiet THEN
        RAISE NOTICE 'session-sync run % batch %/%: % purchase(s) examined so far: % synced, % with nothing to write, % failed, % deferred; % session(s) created, % updated',
            p_run_id, v_run.batches,
            greatest(v_run.batches, (v_run.purchases_queued + v_run.batch_size - 1) / v_run.batch_size),
            v_run.purchases_examined, v_run.purchases_synced, v_run.purchases_in_sync, v_run.purchases_failed,
            v_run.purchases_deferred, v_run.sessions_created, v_run.sessions_updated;
    END IF;
    RETURN true;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_backfill_step IS 'session_sync_backfill_step(p_run_id bigint, p_quiet boolean DEFAULT false) -> boolean
Contract (a step of CALL sync_all_sessions_batched(), which calls it and COMMITs after
each; not meant to be called alone): examines and syncs the next p_batch_size queued
purchases of run p_run_id (in purchase id order, after the last one the run examined)
through session_sync_write, adds its counts to the run''s row, and returns true; when
none is left it marks the run finished and returns false. Only the backend that started the
run may step it (else SQLSTATE 55000). Waits for a running sync_all_sessions() (the ''run''
row lock in session_sync_locks). A NOTICE per batch (p_quiet => true silences it).
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';
