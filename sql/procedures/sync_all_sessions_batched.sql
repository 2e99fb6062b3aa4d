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
Contract: the backfill for a live database. Works through session_sync_queue (the
purchases writes may have put out of sync; SELECT session_sync_enqueue() queues every
eligible one) in batches of p_batch_size purchases, in purchase id order, examining and
syncing each batch (session_sync_write: failures recorded, never half a purchase) and
COMMITting after each, so no lock is held on more than one batch. Every positive batch
size works. Progress is a NOTICE per batch (p_quiet => true, or SET client_min_messages =
warning, silences it). Stopped half-way (Ctrl-C, statement_timeout, a lost connection), the
committed batches stay; the next call marks the cut-off run ''interrupted'' and picks up what
is left. One backfill at a time: while another backend runs one, a call is refused with
SQLSTATE 55P03 naming that backend and the one-liner that stops it. The run is one row in
session_sync_runs (source ''batched'', outcome running / finished / interrupted), updated
after each batch; p_run_id returns its id.
Call it outside an explicit transaction block (it commits). A procedure that commits can
carry neither SET search_path nor SECURITY DEFINER: this one pins search_path to
pg_catalog, pg_temp itself (set_config, again after every COMMIT), names every function by
schema, and leaves all the work to SECURITY DEFINER functions with a fixed search_path
(session_sync_backfill_start, session_sync_backfill_step), so nothing resolves through the
caller''s search_path.';
