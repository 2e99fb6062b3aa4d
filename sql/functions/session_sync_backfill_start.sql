CREATE OR REPLACE FUNCTION session_sync.session_sync_backfill_start(p_batch_size integer, p_quiet boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_running record;
    v_run_id bigint;
    v_queued bigint;
BEGIN
    IF p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION USING
            ERRCODE = '22023',
            MESSAGE = format('sync_all_sessions_batched: p_batch_size must be 1 or more, not %s',
                             coalesce(p_batch_size::text, 'NULL')),
            HINT = 'CALL sync_all_sessions_batched(p_batch_size => 1000);';
    END IF;

    BEGIN
        PERFORM 1 FROM public.session_sync_locks l WHERE l.name = 'backfill' FOR UPDATE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RAISE EXCEPTION USING
            ERRCODE = '55P03',
            MESSAGE = 'sync_all_sessions_batched: another backfill is starting right now',
            HINT = 'Run it again in a moment; SELECT * FROM session_sync_runs ORDER BY run_id DESC LIMIT 1 shows the running one.';
    END;
    PERFORM session_sync.session_sync_reap_backfills();

    SELECT r.run_id, r.backend_pid, r.started_at, a.usename, a.query_start INTO v_running
    FROM public.session_sync_runs r
    LEFT JOIN pg_stat_activity a
           ON a.pid = r.backend_pid AND a.backend_start = r.backend_start AND a.query_start = r.backend_query_start
    WHERE r.outcome = 'running' AND r.source = 'batched'
    ORDER BY r.run_id
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = '55P03',
            MESSAGE = format('sync_all_sessions_batched is already running: run %s in backend %s (role %s), started %s',
                             v_running.run_id, v_running.backend_pid, coalesce(v_running.usename::text, 'unknown'),
                             v_running.started_at),
            HINT = format('Wait for it (SELECT * FROM session_sync_runs WHERE run_id = %s shows its progress), or stop it: SELECT pg_cancel_backend(%s);',
                          v_running.run_id, v_running.backend_pid);
    END IF;

    SELECT count(DISTINCT c.purchase_id) INTO v_queued FROM public.session_sync_changes c;
    INSERT INTO public.session_sync_runs (source, dry_run, purchases_synced, purchases_failed, sessions_created,
                                          sessions_updated, outcome, backend_pid, backend_start,
                                          backend_query_start, batch_size, purchases_queued, batches,
                                          purchases_deferred, purchases_retried, purchases_examined,
                                          purchases_in_sync)
    SELECT 'batched', false, 0, 0, 0, 0, 'running', a.pid, a.backend_start, a.query_start, p_batch_size,
           v_queued, 0, 0, 0, 0, 0
    FROM pg_stat_activity a
    WHERE a.pid = pg_backend_pid()
    RETURNING run_id INTO v_run_id;

    IF NOT p_quiet THEN
        RAISE NOTICE 'session-sync run %: % queued purchase(s) to examine, in batches of up to %',
            v_run_id, v_queued, p_batch_size;
    END IF;
    RETURN v_run_id;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_backfill_start IS 'session_sync_backfill_start(p_batch_size integer, p_quiet boolean DEFAULT false) -> bigint
Contract (the first step of CALL sync_all_sessions_batched(); not meant to be called alone):
checks p_batch_size (1 or more, else 22023) and records a new run in session_sync_runs
(source ''batched'', outcome ''running'', this backend''s pid), whose id it returns.
A backfill whose backend still runs it refuses the new one with 55P03, naming the run, the
backend''s pid, its role and since when, and the SELECT pg_cancel_backend(<pid>); that stops
it; one that was cut off blocks nothing (session_sync_reap_backfills marks it
''interrupted'', and the new run works through the queue it left). Starts are serialized by
a row lock in session_sync_locks, taken without waiting: a start that finds it taken (another
start, or a transaction left open after one) is refused with 55P03.
A NOTICE says how many purchases are queued (p_quiet => true silences it).
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';
