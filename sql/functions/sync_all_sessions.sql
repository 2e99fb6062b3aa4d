CREATE OR REPLACE FUNCTION public.sync_all_sessions(
    p_dry_run boolean DEFAULT false,
    p_source text DEFAULT 'manual'
)
RETURNS TABLE (
    run_id bigint,
    purchases_synced integer,
    purchases_failed integer,
    sessions_created integer,
    sessions_updated integer,
    purchases_examined integer,
    purchases_in_sync integer,
    purchases_deferred integer
)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_run_id bigint;
    v_result record;
    v_in_sync integer;
BEGIN
    IF p_dry_run IS NULL OR p_source IS NULL OR p_source = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = '22004',
            MESSAGE = 'sync_all_sessions: p_dry_run and p_source must not be NULL or empty',
            HINT = 'Call SELECT * FROM sync_all_sessions(); or sync_all_sessions(p_dry_run => true).';
    END IF;
    IF p_source !~ '^[a-z][a-z0-9_-]{0,31}$' OR p_source IN ('trigger', 'batched') THEN
        RAISE EXCEPTION USING
            ERRCODE = '22023',
            MESSAGE = 'sync_all_sessions: p_source must be a short lowercase label (letters, digits, _ and -, at most 32), and not trigger or batched, which name the package''s own runs',
            HINT = 'e.g. sync_all_sessions(p_source => ''cron'').';
    END IF;

    IF p_dry_run THEN
        -- What a run would do, read from the queue and the views; nothing is written.
        WITH queued AS (
            SELECT DISTINCT q.purchase_id FROM public.session_sync_changes q
        ), work AS (
            SELECT s.purchase_id,
                   coalesce(min(s.reason),
                            CASE WHEN bool_or(s.state = 'conflict') THEN 'SESSION_CONFLICT' END) AS reason,
                   count(*) FILTER (WHERE s.state = 'missing') AS missing,
                   count(*) FILTER (WHERE s.state = 'drifted') AS drifted
            FROM public.session_sync_session_state s
            WHERE s.purchase_id IN (SELECT q.purchase_id FROM queued q)
              AND s.state IN ('missing', 'drifted', 'conflict')
            GROUP BY s.purchase_id
        )
        SELECT (count(*) FILTER (WHERE w.reason IS NULL))::integer AS purchases_synced,
               (count(*) FILTER (WHERE w.reason IS NOT NULL))::integer AS purchases_failed,
               0 AS purchases_deferred,
               (coalesce(sum(w.missing) FILTER (WHERE w.reason IS NULL), 0))::integer AS sessions_created,
               (coalesce(sum(w.drifted) FILTER (WHERE w.reason IS NULL), 0))::integer AS sessions_updated,
               (SELECT count(*) FROM queued)::integer AS purchases_examined
        INTO v_result
        FROM work w;
    ELSE
        -- One run at a time: a row lock on the package's own table, held to the end of the
        -- transaction, which no role without the package's rights can take.
        PERFORM 1 FROM public.session_sync_locks l WHERE l.name = 'run' FOR UPDATE;
        PERFORM session_sync.session_sync_reap_backfills();
        INSERT INTO public.session_sync_runs (source, dry_run, outcome, backend_pid)
        VALUES (p_source, p_dry_run, 'running', pg_backend_pid())
        RETURNING session_sync_runs.run_id INTO v_run_id;
        SELECT * INTO v_result FROM session_sync.session_sync_write(NULL, v_run_id, p_source);
    END IF;
    v_in_sync := v_result.purchases_examined - v_result.purchases_synced - v_result.purchases_failed
                 - v_result.purchases_deferred;

    IF NOT p_dry_run THEN
        UPDATE public.session_sync_runs r
        SET finished_at = clock_timestamp(),
            outcome = 'finished',
            purchases_synced = v_result.purchases_synced,
            purchases_failed = v_result.purchases_failed,
            purchases_deferred = v_result.purchases_deferred,
            purchases_retried = v_result.purchases_retried,
            retry_reason = v_result.retry_reason,
            sessions_created = v_result.sessions_created,
            sessions_updated = v_result.sessions_updated,
            purchases_examined = v_result.purchases_examined,
            purchases_in_sync = v_in_sync
        WHERE r.run_id = v_run_id;
    END IF;

    RAISE NOTICE '%: % purchases examined: % synced, % with nothing to write, % failed, % deferred (another transaction held their sessions; still queued); % sessions created, % updated%',
        CASE WHEN p_dry_run THEN 'session-sync dry run' ELSE 'session-sync run ' || v_run_id END,
        v_result.purchases_examined, v_result.purchases_synced, v_in_sync, v_result.purchases_failed,
        v_result.purchases_deferred, v_result.sessions_created, v_result.sessions_updated,
        CASE WHEN p_dry_run THEN ' (dry run: nothing written)' ELSE '' END;

    RETURN QUERY SELECT v_run_id, v_result.purchases_synced, v_result.purchases_failed,
                        v_result.sessions_created, v_result.sessions_updated, v_result.purchases_examined,
                        v_in_sync, v_result.purchases_deferred;
END;
$$;

COMMENT ON FUNCTION public.sync_all_sessions IS 'sync_all_sessions(p_dry_run boolean DEFAULT false, p_source text DEFAULT ''manual'')
  -> one row (run_id, purchases_synced, purchases_failed, sessions_created, sessions_updated,
              purchases_examined, purchases_in_sync, purchases_deferred)
Contract: syncs every queued purchase (session_sync_queue; SELECT session_sync_enqueue() first
queues every eligible one) that is eligible and has a missing or drifted tutoring session, with
no cap, set-based (session_sync_write). A purchase that cannot be synced is recorded in
session_sync_failures and left untouched, never half synced, never stopping the others; one
whose rows another transaction holds is deferred and stays queued. purchases_examined =
purchases_synced + purchases_in_sync + purchases_failed + purchases_deferred; the run is
recorded in session_sync_runs. p_dry_run => true writes nothing (run_id NULL; works READ ONLY
and on a standby). Runs and backfill batches queue behind one another (a row lock in
session_sync_locks that only the package''s owner can take). A NOTICE reports the outcome.
p_source labels the run (''manual'', ''cli'', ''cron'', ...; ''trigger'' and ''batched'' are
refused, 22023). SECURITY DEFINER: callers need EXECUTE (session_sync_runner), no table rights.';
