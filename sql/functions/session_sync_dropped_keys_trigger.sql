CREATE OR REPLACE FUNCTION session_sync.session_sync_dropped_keys_trigger()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO public.session_sync_dropped_keys (session_id, key)
    SELECT NEW.id, k.key
    FROM unnest(session_sync.session_sync_keys_dropped(OLD.metadata, NEW.metadata)) AS k(key);
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_dropped_keys_trigger IS 'session_sync_dropped_keys_trigger() -- the function of the trigger session_sync_dropped_keys_note.
Contract: appends one row per key the update dropped (session_sync_keys_dropped) to
session_sync_dropped_keys, whether or not the tutoring session exists yet and whatever
session_sync.enabled says. Insert-only: it never waits for another transaction.';
