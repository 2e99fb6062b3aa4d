-- session_sync_runs: one row per run of sync_all_sessions() and per backfill
-- (CALL sync_all_sessions_batched()); a dry run writes none. Its counts account for every
-- purchase the run examined: purchases_examined = purchases_synced + purchases_in_sync +
-- purchases_failed + purchases_deferred. The sync at COMMIT of a platform transaction and
-- sync_purchase_sessions() record no run (their failures carry run_id NULL).
CREATE TABLE public.session_sync_runs (
    run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- the run's id, in session_sync_failures.run_id too
    source text NOT NULL,                                     -- who ran it: manual, cli, cron, ... or batched (a backfill)
    dry_run boolean NOT NULL DEFAULT false,                   -- true only for runs recorded before revision 0010 (a dry run records nothing now)
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(), -- when it started
    finished_at timestamptz,                                  -- when it finished or was found interrupted (NULL while running)
    purchases_synced integer,                                 -- purchases it wrote (missing sessions created, drifted ones updated)
    purchases_failed integer,                                 -- purchases it could not sync (each in session_sync_failures, untouched)
    sessions_created integer,                                 -- tutoring sessions it inserted
    sessions_updated integer,                                 -- tutoring sessions it updated
    outcome text CHECK (outcome IN ('running', 'finished', 'interrupted')), -- running, finished, or interrupted (a backfill whose backend stopped running it before it finished)
    backend_pid integer,                                      -- the backend that runs (ran) it: SELECT pg_cancel_backend(backend_pid) stops a running backfill
    backend_start timestamptz,                                -- that backend's start (with backend_pid and backend_query_start, how a cut-off backfill is recognised)
    backend_query_start timestamptz,                          -- the start of the CALL that runs the backfill
    batch_size integer,                                       -- a backfill's purchases per committed batch
    purchases_queued bigint,                                  -- a backfill's queued purchases when it started
    batches integer,                                          -- a backfill's batches committed so far
    resume_after uuid,                                        -- a backfill's last examined purchase id (the next batch starts after it)
    purchases_deferred integer,                               -- purchases left alone because another transaction held one of their tutoring sessions (still queued)
    purchases_retried integer,                                -- purchases synced one by one after the set-based write failed (retry_reason says why)
    retry_reason text,                                        -- why the set-based write failed and the slow way was taken (SQLSTATE: message); NULL when it was not
    purchases_examined integer,                               -- purchases the run looked at (queued ones): synced + in sync + failed + deferred
    purchases_in_sync integer                                 -- examined purchases with nothing to write: already in sync, or not eligible (no trainer, not ASSIGNED)
);
