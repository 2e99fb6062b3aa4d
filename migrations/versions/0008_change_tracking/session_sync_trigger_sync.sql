-- session_sync_trigger_sync(p_purchase_ids uuid[])
-- Contract (internal; the triggers call it): syncs the given purchases in the transaction of
-- the write that fired the trigger, set-based, through session_sync_process(). A purchase
-- that cannot be synced is recorded in session_sync_failures with source 'trigger' and the
-- write goes on, unless session_sync.strict is on: then the first such failure is raised
-- (and the write fails with it). The trigger functions call it only when session_sync.enabled
-- is on; with it off they queue the purchases instead (session_sync_enqueue).
-- Runs as its owner (SECURITY DEFINER) with a fixed search_path: callers need EXECUTE
-- (role session_sync_runner), not rights on the platform's tables.
CREATE OR REPLACE FUNCTION public.session_sync_trigger_sync(p_purchase_ids uuid[])
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_strict boolean := public.session_sync_setting('strict', false);
    v_last_failure bigint;
    v_result record;
    v_failure record;
BEGIN
    IF coalesce(cardinality(p_purchase_ids), 0) = 0 THEN
        RETURN;
    END IF;
    IF v_strict THEN
        SELECT coalesce(max(f.failure_id), 0) INTO v_last_failure FROM public.session_sync_failures f;
    END IF;

    SELECT * INTO v_result FROM public.session_sync_process(p_purchase_ids, NULL, false, 'trigger');

    IF v_strict AND v_result.purchases_failed > 0 THEN
        SELECT f.reason, f.message, f.hint, r.sqlstate INTO v_failure
        FROM public.session_sync_failures f
        JOIN public.session_sync_reasons() r ON r.reason = f.reason
        WHERE f.failure_id > v_last_failure AND f.source = 'trigger' AND f.purchase_id = ANY (p_purchase_ids)
        ORDER BY f.failure_id
        LIMIT 1;
        RAISE EXCEPTION USING
            ERRCODE = coalesce(v_failure.sqlstate, 'SS000'),
            MESSAGE = coalesce(v_failure.message, 'session-sync: a purchase could not be synced'),
            HINT = coalesce(v_failure.hint, '') || ' (session_sync.strict is on: SET session_sync.strict = off records the failure in session_sync_failures instead of failing the write.)';
    END IF;
END;
$$;
