-- session_sync_failures: why a purchase could not be synced, one row per purchase and reason.
-- A purchase that fails again for the same reason (on every run, on every platform write while
-- its data stays wrong) keeps one row: the newest failure replaces the older rows and adds up
-- their occurrences, so the table does not grow with every run. session_sync_open_failures shows
-- the ones still not in sync.
CREATE TABLE public.session_sync_failures (
    failure_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- grows with every failure recorded (the newest of a purchase has the highest)
    run_id bigint REFERENCES public.session_sync_runs (run_id) ON DELETE CASCADE, -- the run that last met it; NULL for the sync at COMMIT and sync_purchase_sessions()
    purchase_id uuid NOT NULL,                              -- the purchase that could not be synced (left untouched)
    reason text NOT NULL,                                   -- its reason code (SELECT * FROM session_sync_reasons() lists them)
    message text NOT NULL,                                  -- what is wrong, naming ids and coordinates only (never names, e-mails or phone numbers)
    hint text,                                              -- how to fix it
    source text NOT NULL,                                   -- the path that last met it: trigger, manual, cli, cron, batched, ...
    failed_at timestamptz NOT NULL DEFAULT clock_timestamp(), -- when it last failed so
    occurrences integer NOT NULL DEFAULT 1,                 -- how many times it failed so (this row and the ones it replaced)
    first_failed_at timestamptz NOT NULL DEFAULT clock_timestamp() -- when it first failed so
);
CREATE INDEX session_sync_failures_purchase_idx ON public.session_sync_failures (purchase_id, failed_at DESC);
CREATE INDEX session_sync_failures_run_idx ON public.session_sync_failures (run_id);
