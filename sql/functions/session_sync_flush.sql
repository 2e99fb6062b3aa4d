CREATE OR REPLACE FUNCTION session_sync.session_sync_flush(p_ids text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_pending text := coalesce(current_setting('session_sync.pending', true), '') || coalesce(',' || p_ids, '');
    v_ids uuid[];
    v_stray text;
    v_strict boolean;
    v_last_failure bigint;
    v_result record;
    v_failure record;
BEGIN
    IF v_pending = '' THEN
        RETURN;
    END IF;
    PERFORM set_config('session_sync.pending', '', true);
    -- The note triggers append ',<uuid>' per purchase; any other token was set by hand.
    IF v_pending ~ '^,[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        -- one purchase noted (the common case): no array round trip
        v_ids := ARRAY[substr(v_pending, 2)::uuid];
    ELSE
        SELECT array_agg(DISTINCT i.id::uuid ORDER BY i.id::uuid)
                   FILTER (WHERE i.id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
               min(i.id) FILTER (WHERE i.id !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
        INTO v_ids, v_stray
        FROM unnest(string_to_array(v_pending, ',')) AS i(id)
        WHERE i.id <> '';
        IF v_stray IS NOT NULL THEN
            RAISE WARNING USING
                MESSAGE = format('session-sync: ignored %L in session_sync.pending, which is not a purchase id',
                                 left(v_stray, 40)),
                DETAIL = 'session_sync.pending is internal to the package: only its triggers set it, in the transaction.',
                HINT = 'Do not SET it: RESET session_sync.pending (and ALTER ROLE / DATABASE ... RESET it if set there).';
        END IF;
    END IF;
    IF v_ids IS NULL THEN
        RETURN;
    END IF;
    IF session_sync.session_sync_setting('enabled', true)
       AND current_setting('transaction_isolation') <> 'serializable' THEN
        v_strict := session_sync.session_sync_setting('strict', false);
        IF v_strict THEN
            SELECT coalesce(max(f.failure_id), 0) INTO v_last_failure FROM public.session_sync_failures f;
        END IF;
        SELECT * INTO v_result FROM session_sync.session_sync_write(v_ids, NULL, 'trigger');
        IF current_setting('transaction_isolation') <> 'read committed' THEN
            -- one snapshot for the whole transaction: what another transaction inserted since
            -- was not seen here, so every purchase noted gets another look
            PERFORM session_sync.session_sync_enqueue(v_ids);
        END IF;
        IF v_strict AND v_result.purchases_failed > 0 THEN
            SELECT f.reason, f.message, f.hint, r.sqlstate INTO v_failure
            FROM public.session_sync_failures f
            JOIN session_sync.session_sync_reasons() r ON r.reason = f.reason
            WHERE f.failure_id > v_last_failure AND f.source = 'trigger' AND f.purchase_id = ANY (v_ids)
            ORDER BY f.failure_id
            LIMIT 1;
            RAISE EXCEPTION USING
                ERRCODE = coalesce(v_failure.sqlstate, 'SS000'),
                MESSAGE = coalesce(v_failure.message, 'session-sync: a purchase could not be synced'),
                HINT = coalesce(v_failure.hint, '') || ' (session_sync.strict is on: SET session_sync.strict = off records the failure in session_sync_failures instead of failing the write.)';
        END IF;
    ELSE
        PERFORM session_sync.session_sync_enqueue(v_ids);
    END IF;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_flush IS 'session_sync_flush(p_ids text DEFAULT NULL) -> void
Contract (internal; the COMMIT trigger and the bulk statement triggers call it): syncs the
purchases this transaction noted in session_sync.pending, and the comma-separated p_ids (a
bulk statement''s), in that transaction
(session_sync_write, source ''trigger''), and clears the notes. A purchase that cannot be
synced is recorded in session_sync_failures and the transaction commits, unless
session_sync.strict is on: then the first such failure fails the COMMIT. With
session_sync.enabled off, or under SERIALIZABLE (where the sync''s reads would add 40001
failures to commits that succeed without it), it queues them instead. A token that is not a
purchase id (set by hand) is ignored with one WARNING; a value of session_sync.enabled that is
not a boolean raises 22023.';
