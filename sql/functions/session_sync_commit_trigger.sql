CREATE OR REPLACE FUNCTION session_sync.session_sync_commit_trigger()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM set_config('session_sync.commit_armed', '', true);
    PERFORM session_sync.session_sync_flush();
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_commit_trigger IS 'session_sync_commit_trigger() -- the deferred constraint trigger on course_purchases and
purchase_sessions (DEFERRABLE INITIALLY DEFERRED, row-level; its WHEN clause lets only the
first row a transaction writes queue an event, by setting session_sync.commit_armed to the
transaction''s id).
Contract: fires once per transaction, at COMMIT (or at SET CONSTRAINTS ... IMMEDIATE), and
syncs every purchase the transaction''s statements noted (session_sync_flush), still inside
the transaction: a rollback undoes the sync with the writes. Then it disarms, so that writes
after a SET CONSTRAINTS ... IMMEDIATE queue a new event.
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';
