-- session_sync_process(p_purchase_ids uuid[], p_run_id bigint, p_dry_run boolean, p_source text)
--   -> (purchases_synced, purchases_failed, sessions_created, sessions_updated)
-- Contract (internal; sync_all_sessions, the trigger and the batched backfill call it):
-- syncs every eligible purchase that has a missing, drifted or conflicting session, limited
-- to p_purchase_ids when it is not NULL.
--   * Purchases that cannot be synced (a reason code, or SESSION_CONFLICT) are recorded in
--     session_sync_failures (run p_run_id, source p_source) and left untouched.
--   * The others are synced set-based in one go. Should that fail (ALLOCATION_FAILED,
--     SESSION_WRITE_FAILED), each of them is retried alone under its own savepoint, so a
--     failing purchase is recorded and rolled back whole while the others are synced.
--   * p_dry_run: counts what a real run would do and writes nothing.
-- Never raises for bad data; cancellation (statement_timeout, Ctrl-C) is not caught.
CREATE OR REPLACE FUNCTION public.session_sync_process(
    p_purchase_ids uuid[],
    p_run_id bigint,
    p_dry_run boolean,
    p_source text,
    OUT purchases_synced integer,
    OUT purchases_failed integer,
    OUT sessions_created integer,
    OUT sessions_updated integer
)
LANGUAGE plpgsql
VOLATILE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_ok_ids uuid[];
    v_missing bigint;
    v_drifted bigint;
    v_failed_ids uuid[];
    v_failed_reasons text[];
    v_id uuid;
    v_result record;
    v_sqlstate text;
    v_error text;
    v_reason text;
BEGIN
    WITH work AS (
        SELECT s.purchase_id,
               min(s.reason) AS reason,
               bool_or(s.state = 'conflict') AS conflict,
               count(*) FILTER (WHERE s.state = 'missing') AS missing,
               count(*) FILTER (WHERE s.state = 'drifted') AS drifted
        FROM public.session_sync_session_state s
        WHERE s.state IN ('missing', 'drifted', 'conflict')
          AND (p_purchase_ids IS NULL OR s.purchase_id = ANY (p_purchase_ids))
        GROUP BY s.purchase_id
    )
    SELECT coalesce(array_agg(w.purchase_id ORDER BY w.purchase_id)
                        FILTER (WHERE w.reason IS NULL AND NOT w.conflict), '{}'),
           coalesce(sum(w.missing) FILTER (WHERE w.reason IS NULL AND NOT w.conflict), 0),
           coalesce(sum(w.drifted) FILTER (WHERE w.reason IS NULL AND NOT w.conflict), 0),
           coalesce(array_agg(w.purchase_id ORDER BY w.purchase_id)
                        FILTER (WHERE w.reason IS NOT NULL OR w.conflict), '{}'),
           coalesce(array_agg(coalesce(w.reason, 'SESSION_CONFLICT') ORDER BY w.purchase_id)
                        FILTER (WHERE w.reason IS NOT NULL OR w.conflict), '{}')
    INTO v_ok_ids, v_missing, v_drifted, v_failed_ids, v_failed_reasons
    FROM work w;

    purchases_failed := cardinality(v_failed_ids);

    IF p_dry_run THEN
        purchases_synced := cardinality(v_ok_ids);
        sessions_created := v_missing;
        sessions_updated := v_drifted;
        RETURN;
    END IF;

    INSERT INTO public.session_sync_failures (run_id, purchase_id, reason, message, hint, source)
    SELECT p_run_id, f.purchase_id, f.reason,
           public.session_sync_failure_message(f.reason, f.purchase_id),
           (SELECT r.hint FROM public.session_sync_reasons() r WHERE r.reason = f.reason),
           p_source
    FROM unnest(v_failed_ids, v_failed_reasons) AS f(purchase_id, reason);

    purchases_synced := 0;
    sessions_created := 0;
    sessions_updated := 0;
    IF cardinality(v_ok_ids) = 0 THEN
        RETURN;
    END IF;

    BEGIN
        SELECT * INTO v_result FROM public.session_sync_apply(v_ok_ids);
        purchases_synced := cardinality(v_ok_ids);
        sessions_created := v_result.sessions_created;
        sessions_updated := v_result.sessions_updated;
        RETURN;
    EXCEPTION WHEN OTHERS THEN
        -- Fall through: isolate the purchase(s) that failed.
        NULL;
    END;

    FOREACH v_id IN ARRAY v_ok_ids LOOP
        BEGIN
            SELECT * INTO v_result FROM public.session_sync_apply(ARRAY[v_id]);
            purchases_synced := purchases_synced + 1;
            sessions_created := sessions_created + v_result.sessions_created;
            sessions_updated := sessions_updated + v_result.sessions_updated;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_sqlstate = RETURNED_SQLSTATE, v_error = MESSAGE_TEXT;
            SELECT r.reason INTO v_reason FROM public.session_sync_reasons() r WHERE r.sqlstate = v_sqlstate;
            IF v_reason IS NULL THEN
                v_reason := 'SESSION_WRITE_FAILED';
                v_error := public.session_sync_failure_message(v_reason, v_id, v_error);
            END IF;
            INSERT INTO public.session_sync_failures (run_id, purchase_id, reason, message, hint, source)
            SELECT p_run_id, v_id, v_reason, v_error, r.hint, p_source
            FROM public.session_sync_reasons() r WHERE r.reason = v_reason;
            purchases_failed := purchases_failed + 1;
        END;
    END LOOP;
END;
$$;
