-- session_sync_runs learns how each run ended and which backend runs it, so a backfill cut
-- off by statement_timeout or a lost client is recognised (and taken over) instead of
-- blocking the next one behind a session-level advisory lock.
ALTER TABLE public.session_sync_runs
    ADD COLUMN outcome text CHECK (outcome IN ('running', 'finished', 'interrupted')),
    ADD COLUMN backend_pid integer,
    ADD COLUMN backend_start timestamptz,
    ADD COLUMN backend_query_start timestamptz,
    ADD COLUMN batch_size integer,
    ADD COLUMN purchases_queued bigint,
    ADD COLUMN batches integer,
    ADD COLUMN resume_after uuid;
COMMENT ON COLUMN public.session_sync_runs.outcome IS
    'running, finished, or interrupted (a backfill whose backend stopped running it before it finished)';
COMMENT ON COLUMN public.session_sync_runs.backend_pid IS
    'the backend that runs (ran) it: SELECT pg_cancel_backend(backend_pid) stops a running backfill';
-- Runs recorded before: finished, running (a backfill that still holds the lock of the
-- earlier revisions), or cut off.
UPDATE public.session_sync_runs r
SET outcome = CASE
        WHEN r.finished_at IS NOT NULL THEN 'finished'
        WHEN r.source OPERATOR(pg_catalog.=) 'batched' AND l.pid IS NOT NULL THEN 'running'
        ELSE 'interrupted' END,
    backend_pid = CASE WHEN r.finished_at IS NULL THEN l.pid END,
    backend_start = CASE WHEN r.finished_at IS NULL THEN a.backend_start END,
    finished_at = CASE WHEN r.finished_at IS NULL AND l.pid IS NULL THEN pg_catalog.clock_timestamp()
                       ELSE r.finished_at END
FROM (SELECT 1) AS one
LEFT JOIN pg_catalog.pg_locks l
    ON l.locktype OPERATOR(pg_catalog.=) 'advisory' AND l.classid OPERATOR(pg_catalog.=) 5417003::pg_catalog.oid
   AND l.objid OPERATOR(pg_catalog.=) 0::pg_catalog.oid AND l.granted
LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid OPERATOR(pg_catalog.=) l.pid;
