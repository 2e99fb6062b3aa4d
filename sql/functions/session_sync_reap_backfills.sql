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
            AND (a.backend_start IS NULL OR r.backend_start IS NULL
                 OR (a.backend_start = r.backend_start
                     AND a.query_start = r.backend_query_start
                     AND (a.state IS NULL OR a.state IN ('active', 'fastpath function call')))));
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_reap_backfills IS 'session_sync_reap_backfills() -> integer
Contract (internal): marks ''interrupted'' (finished_at set) every backfill run still shown
running whose backend no longer runs it: gone, or idle or running another statement since
(the CALL is told by its backend''s pid, backend_start and query_start). A backend whose
state this role cannot read is taken to be still running it. Returns how many it marked.';
