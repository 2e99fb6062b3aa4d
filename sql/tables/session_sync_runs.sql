CREATE TABLE public.session_sync_runs (
    run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source text NOT NULL,
    dry_run boolean NOT NULL DEFAULT false,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    purchases_synced integer,
    purchases_failed integer,
    sessions_created integer,
    sessions_updated integer,
    outcome text CHECK (outcome IN ('running', 'finished', 'interrupted')),
    backend_pid integer,
    backend_start timestamptz,
    backend_query_start timestamptz,
    batch_size integer,
    purchases_queued bigint,
    batches integer,
    resume_after uuid,
    purchases_deferred integer,
    purchases_retried integer,
    retry_reason text,
    purchases_examined integer,
    purchases_in_sync integer
);

COMMENT ON TABLE public.session_sync_runs IS 'session_sync_runs: one row per run of sync_all_sessions() and per backfill (a dry run
writes none; the sync at COMMIT and sync_purchase_sessions() record no run). purchases_examined
= purchases_synced + purchases_in_sync + purchases_failed + purchases_deferred.';
COMMENT ON COLUMN public.session_sync_runs.run_id IS 'the run''s id, in session_sync_failures.run_id too';
COMMENT ON COLUMN public.session_sync_runs.source IS 'who ran it: manual, cli, cron, ... or batched (a backfill)';
COMMENT ON COLUMN public.session_sync_runs.dry_run IS 'always false: a dry run records no run';
COMMENT ON COLUMN public.session_sync_runs.started_at IS 'when it started';
COMMENT ON COLUMN public.session_sync_runs.finished_at IS 'when it finished or was found interrupted (NULL while running)';
COMMENT ON COLUMN public.session_sync_runs.purchases_synced IS 'purchases it wrote (missing sessions created, drifted ones updated)';
COMMENT ON COLUMN public.session_sync_runs.purchases_failed IS 'purchases it could not sync (each in session_sync_failures, untouched)';
COMMENT ON COLUMN public.session_sync_runs.sessions_created IS 'tutoring sessions it inserted';
COMMENT ON COLUMN public.session_sync_runs.sessions_updated IS 'tutoring sessions it updated';
COMMENT ON COLUMN public.session_sync_runs.outcome IS 'running, finished, or interrupted (a backfill whose backend stopped running it before it finished)';
COMMENT ON COLUMN public.session_sync_runs.backend_pid IS 'the backend that runs (ran) it: SELECT pg_cancel_backend(backend_pid) stops a running backfill';
COMMENT ON COLUMN public.session_sync_runs.backend_start IS 'that backend''s start (with backend_pid and backend_query_start, how a cut-off backfill is recognised)';
COMMENT ON COLUMN public.session_sync_runs.backend_query_start IS 'the start of the CALL that runs the backfill';
COMMENT ON COLUMN public.session_sync_runs.batch_size IS 'a backfill''s purchases per committed batch';
COMMENT ON COLUMN public.session_sync_runs.purchases_queued IS 'a backfill''s queued purchases when it started';
COMMENT ON COLUMN public.session_sync_runs.batches IS 'a backfill''s batches committed so far';
COMMENT ON COLUMN public.session_sync_runs.resume_after IS 'a backfill''s last examined purchase id (the next batch starts after it)';
COMMENT ON COLUMN public.session_sync_runs.purchases_deferred IS 'purchases left alone because another transaction held one of their tutoring sessions (still queued)';
COMMENT ON COLUMN public.session_sync_runs.purchases_retried IS 'purchases synced one by one after the set-based write failed (retry_reason says why)';
COMMENT ON COLUMN public.session_sync_runs.retry_reason IS 'why the set-based write failed and the slow way was taken (SQLSTATE: message); NULL when it was not';
COMMENT ON COLUMN public.session_sync_runs.purchases_examined IS 'purchases the run looked at (queued ones): synced + in sync + failed + deferred';
COMMENT ON COLUMN public.session_sync_runs.purchases_in_sync IS 'examined purchases with nothing to write: already in sync, or not eligible (no trainer, not ASSIGNED)';
