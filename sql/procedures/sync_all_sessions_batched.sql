CREATE OR REPLACE PROCEDURE public.sync_all_sessions_batched(
    p_batch_size integer DEFAULT 1000,
    p_quiet boolean DEFAULT false,
    INOUT p_run_id bigint DEFAULT NULL
)
LANGUAGE plpgsql
AS $$
DECLARE
    v_more boolean := true;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    p_run_id := session_sync.session_sync_backfill_start(p_batch_size, p_quiet);
    COMMIT;
    WHILE v_more LOOP
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        v_more := session_sync.session_sync_backfill_step(p_run_id, p_quiet);
        COMMIT;
    END LOOP;
END;
$$;

COMMENT ON PROCEDURE public.sync_all_sessions_batched IS 'CALL sync_all_sessions_batched(p_batch_size => 1000, p_quiet => false, p_run_id => NULL)
Contract: the backfill for a live database. Works through session_sync_queue in purchase id
order, p_batch_size purchases per batch, syncing each batch like sync_all_sessions() and
COMMITting after it, so no lock outlives a batch. A NOTICE per batch reports progress
(p_quiet => true silences it). Stopped half-way (Ctrl-C, a timeout, a lost connection), the
committed batches stay; the next call marks the cut-off run ''interrupted'' and goes on. One
backfill at a time: another call is refused with SQLSTATE 55P03 naming the backend that runs
it. The run is one row of session_sync_runs (source ''batched''); p_run_id returns its id.
Call it outside a transaction block. A procedure that commits can be neither SET search_path
nor SECURITY DEFINER: it pins search_path itself after every COMMIT and leaves the work to
session_sync_backfill_start and session_sync_backfill_step.';
