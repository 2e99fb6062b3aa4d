CREATE OR REPLACE FUNCTION session_sync.session_sync_reap_backfills()
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    UPDATE public.session_sync_runs r
    SET outcome = 'interrupted', finished_at = clock_timestamp()
    WHERE r.outcome = 'running'
      AND r.source = 'batched'
      AND NOT EXISTS (
          SELECT 1 FROM pg_stat_activity a
          WHERE a.pid = r.backend_pid
            AND a.pid <> pg_backend_pid()
            AND (   -- a backend whose details this role may not read (the owner is not a
                    -- superuser nor in pg_read_all_stats) is taken to be still running it
                    a.backend_start IS NULL OR r.backend_start IS NULL
                 OR (a.backend_start = r.backend_start
                     AND a.query_start = r.backend_query_start
                     AND (a.state IS NULL OR a.state IN ('active', 'fastpath function call')))));
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_reap_backfills IS 'session_sync_reap_backfills() -> integer
Contract (internal; the backfill''s start and sync_all_sessions() call it): marks every
backfill run that session_sync_runs still shows as running but whose backend no longer
runs it (gone, restarted, idle, or running another statement since: the CALL was
cancelled, timed out or its client went away; the CALL is told by its backend''s pid,
backend_start and query_start) as outcome ''interrupted'', with finished_at set. Returns how many it marked.
A backend that is still active (or whose state this role cannot see) is left alone.
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';
