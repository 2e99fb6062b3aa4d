-- session-sync's own tables: the record of every run and of every purchase that failed.
CREATE TABLE public.session_sync_runs (
    run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source text NOT NULL,
    dry_run boolean NOT NULL DEFAULT false,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    purchases_synced integer,
    purchases_failed integer,
    sessions_created integer,
    sessions_updated integer
);
COMMENT ON TABLE public.session_sync_runs IS
    'session-sync: one row per sync_all_sessions() run (dry runs included, flagged dry_run)';

CREATE TABLE public.session_sync_failures (
    failure_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id bigint REFERENCES public.session_sync_runs (run_id) ON DELETE CASCADE,
    purchase_id uuid NOT NULL,
    reason text NOT NULL,
    message text NOT NULL,
    hint text,
    source text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE public.session_sync_failures IS
    'session-sync: one row per purchase that a run (or the trigger) could not sync, with its reason code';
CREATE INDEX session_sync_failures_purchase_idx
    ON public.session_sync_failures (purchase_id, failed_at DESC);
CREATE INDEX session_sync_failures_run_idx
    ON public.session_sync_failures (run_id);
