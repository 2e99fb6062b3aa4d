CREATE OR REPLACE FUNCTION session_sync.session_sync_flush()
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_pending text := coalesce(current_setting('session_sync.pending', true), '');
    v_ids uuid[];
    v_stray text;
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
        PERFORM session_sync.session_sync_trigger_sync(v_ids);
    ELSE
        PERFORM session_sync.session_sync_enqueue(v_ids);
    END IF;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_flush IS 'session_sync_flush() -> void
Contract (internal; the COMMIT trigger and the bulk statement triggers call it): syncs the
purchases this transaction noted in session_sync.pending (session_sync_trigger_sync) and
clears the notes. With session_sync.enabled off, or under SERIALIZABLE (where the sync''s
reads would add 40001 failures to commits that succeed without it), it queues them instead.
A token that is not a purchase id (set by hand) is ignored with one WARNING; a value of
session_sync.enabled that is not a boolean raises 22023.';
