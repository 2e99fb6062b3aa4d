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
    -- The note triggers write ',<uuid>' per purchase. Anything else is a value the package did
    -- not write (a session-level SET, perhaps left by another client of a pooler): ignored.
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
    -- session_sync_setting raises for a value that is not a boolean. A SERIALIZABLE transaction's
    -- purchases are queued, not synced: the sync reads every session of a purchase, and those
    -- reads would make PostgreSQL reject (40001) commits that succeed without the package.
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
purchases noted in session_sync.pending by this transaction''s writes
(session_sync_trigger_sync) and clears the notes; with session_sync.enabled off at that
moment, or in a SERIALIZABLE transaction, it queues them instead (session_sync_enqueue), for
the next sync_all_sessions(): under SERIALIZABLE the sync''s reads of the purchase''s other
sessions would add serialization failures (40001) to commits that succeed without it.
Does nothing when none is noted; a token that is not a purchase id (a value set by hand,
not by the package) is ignored with one WARNING. A value of session_sync.enabled that is not a boolean
raises (22023), naming the setting.
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';
