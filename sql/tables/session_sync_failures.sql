CREATE TABLE public.session_sync_failures (
    failure_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id bigint REFERENCES public.session_sync_runs (run_id) ON DELETE CASCADE,
    purchase_id uuid NOT NULL,
    reason text NOT NULL,
    message text NOT NULL,
    hint text,
    source text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    occurrences integer NOT NULL DEFAULT 1,
    first_failed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX session_sync_failures_purchase_idx ON public.session_sync_failures (purchase_id, failed_at DESC);
CREATE INDEX session_sync_failures_run_idx ON public.session_sync_failures (run_id);

COMMENT ON TABLE public.session_sync_failures IS 'session_sync_failures: why a purchase could not be synced, one row per purchase and
reason: a repeated failure replaces the older row and adds up its occurrences, so the table
does not grow with every run. session_sync_open_failures shows those still not in sync.';
COMMENT ON COLUMN public.session_sync_failures.failure_id IS 'grows with every failure recorded (the newest of a purchase has the highest)';
COMMENT ON COLUMN public.session_sync_failures.run_id IS 'the run that last met it; NULL for the sync at COMMIT and sync_purchase_sessions()';
COMMENT ON COLUMN public.session_sync_failures.purchase_id IS 'the purchase that could not be synced (left untouched)';
COMMENT ON COLUMN public.session_sync_failures.reason IS 'its reason code (SELECT * FROM session_sync_reasons() lists them)';
COMMENT ON COLUMN public.session_sync_failures.message IS 'what is wrong, naming ids and coordinates only (never names, e-mails or phone numbers)';
COMMENT ON COLUMN public.session_sync_failures.hint IS 'how to fix it';
COMMENT ON COLUMN public.session_sync_failures.source IS 'the path that last met it: trigger, manual, cli, cron, batched, ...';
COMMENT ON COLUMN public.session_sync_failures.failed_at IS 'when it last failed so';
COMMENT ON COLUMN public.session_sync_failures.occurrences IS 'how many times it failed so (this row and the ones it replaced)';
COMMENT ON COLUMN public.session_sync_failures.first_failed_at IS 'when it first failed so';
