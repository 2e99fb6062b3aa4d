CREATE OR REPLACE VIEW public.session_sync_status AS
SELECT
    q.queued_purchases,
    q.oldest_queued_at,
    coalesce(extract(epoch FROM now() - q.oldest_queued_at), 0)::bigint AS oldest_queued_seconds,
    (SELECT count(DISTINCT f.purchase_id)
     FROM public.session_sync_failures f
     WHERE EXISTS (SELECT 1 FROM public.session_sync_changes c WHERE c.purchase_id = f.purchase_id)
    ) AS failing_purchases,
    r.run_id AS last_run_id,
    r.source AS last_run_source,
    r.outcome AS last_run_outcome,
    r.started_at AS last_run_started_at,
    r.finished_at AS last_run_finished_at,
    r.purchases_failed AS last_run_purchases_failed,
    r.purchases_deferred AS last_run_purchases_deferred,
    EXISTS (
        SELECT 1
        FROM public.session_sync_runs b
        JOIN pg_stat_activity a ON a.pid = b.backend_pid
        WHERE b.source = 'batched' AND b.outcome = 'running'
          AND (a.backend_start IS NULL OR a.backend_start = b.backend_start)
    ) AS backfill_running,
    (SELECT count(*) FROM public.session_sync_dropped_keys) AS dropped_keys_pending
FROM (
    SELECT count(DISTINCT c.purchase_id) AS queued_purchases, min(c.queued_at) AS oldest_queued_at
    FROM public.session_sync_changes c
) q
LEFT JOIN LATERAL (
    SELECT *
    FROM public.session_sync_runs r
    WHERE NOT r.dry_run
    ORDER BY r.run_id DESC
    LIMIT 1
) r ON true;

COMMENT ON VIEW public.session_sync_status IS 'session_sync_status: the package''s health in one row, always; cheap enough to poll every
few seconds (it never reads the platform''s tables). Alert on oldest_queued_seconds above
your run interval, failing_purchases above 0, last_run_outcome = ''interrupted''.';
COMMENT ON COLUMN public.session_sync_status.queued_purchases IS 'purchases waiting in the change log for the next run';
COMMENT ON COLUMN public.session_sync_status.oldest_queued_at IS 'when the oldest of them was queued (NULL when none)';
COMMENT ON COLUMN public.session_sync_status.oldest_queued_seconds IS 'its age in seconds (0 when none): alert when it keeps growing';
COMMENT ON COLUMN public.session_sync_status.failing_purchases IS 'queued purchases with a recorded failure (their data needs a person; session_sync_open_failures says why)';
COMMENT ON COLUMN public.session_sync_status.last_run_id IS 'the newest run of sync_all_sessions() or of the backfill';
COMMENT ON COLUMN public.session_sync_status.last_run_source IS 'its source';
COMMENT ON COLUMN public.session_sync_status.last_run_outcome IS 'running, finished or interrupted';
COMMENT ON COLUMN public.session_sync_status.last_run_started_at IS 'when it started';
COMMENT ON COLUMN public.session_sync_status.last_run_finished_at IS 'when it finished (NULL while running)';
COMMENT ON COLUMN public.session_sync_status.last_run_purchases_failed IS 'its purchases that failed';
COMMENT ON COLUMN public.session_sync_status.last_run_purchases_deferred IS 'its purchases another transaction held (still queued)';
COMMENT ON COLUMN public.session_sync_status.backfill_running IS 'a backfill''s backend is alive and running it now (a cut-off one does not count)';
COMMENT ON COLUMN public.session_sync_status.dropped_keys_pending IS 'dropped metadata keys the sync has yet to remove';
