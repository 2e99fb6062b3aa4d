CREATE OR REPLACE FUNCTION session_sync.session_sync_never_trigger()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_never_trigger IS 'session_sync_never_trigger() -- the function of the note triggers, whose WHEN clause does
their work and is always false: it never runs, and would do nothing.';
