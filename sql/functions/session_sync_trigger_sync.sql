CREATE OR REPLACE FUNCTION session_sync.session_sync_trigger_sync(p_purchase_ids uuid[])
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_strict boolean := session_sync.session_sync_setting('strict', false);
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

    SELECT * INTO v_result FROM session_sync.session_sync_write(p_purchase_ids, NULL, 'trigger');
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        -- One snapshot for the whole transaction: a purchase session another transaction inserted
        -- meanwhile (synced by that transaction before this one's writes were visible to it) was
        -- not seen here. Every purchase this transaction touched gets another look.
        PERFORM session_sync.session_sync_enqueue(p_purchase_ids);
    END IF;

    IF v_strict AND v_result.purchases_failed > 0 THEN
        SELECT f.reason, f.message, f.hint, r.sqlstate INTO v_failure
        FROM public.session_sync_failures f
        JOIN session_sync.session_sync_reasons() r ON r.reason = f.reason
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

COMMENT ON FUNCTION session_sync.session_sync_trigger_sync IS 'session_sync_trigger_sync(p_purchase_ids uuid[])
Contract (internal; session_sync_flush calls it at COMMIT): syncs the given purchases in the
transaction of the writes that noted them, set-based, through session_sync_write (source
''trigger''). A purchase that cannot be synced is recorded in session_sync_failures and the
transaction commits, unless session_sync.strict is on: then the first such failure is
raised, and the COMMIT fails with it (the whole transaction is rolled back). A purchase whose
tutoring sessions another transaction holds is queued for the next run, never waited for
(strict or not).
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';
