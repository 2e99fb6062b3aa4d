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

COMMENT ON FUNCTION session_sync.session_sync_dropped_keys_trigger IS 'session_sync_dropped_keys_trigger() -- row-level AFTER UPDATE OF metadata on
purchase_sessions, fired only when the new metadata lacks a key the old one had (the
trigger''s WHEN clause asks session_sync_keys_dropped).
Contract: appends one row per dropped key to session_sync_dropped_keys, so that the sync
removes the key from the tutoring session it copied it to (recorded whether or not that
session exists yet: a sync writing it at this moment may not be visible here). Insert-only: it never waits for
another transaction. Runs whether or not session_sync.enabled is on (a write made with the
sync off is queued, and its dropped keys are remembered for the run that syncs it).
Runs as its owner (SECURITY DEFINER) with a fixed search_path: the platform''s roles need
no rights on the package''s table.';
