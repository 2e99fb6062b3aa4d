CREATE SCHEMA session_sync;
REVOKE ALL ON SCHEMA session_sync FROM PUBLIC;

COMMENT ON SCHEMA session_sync IS 'session_sync: the package''s internals (its API, tables and views are in public).
Only its owner may create objects in it, so no role can plant a look-alike overload that a
routine''s call would resolve to. session_sync_runner may look names up in it; EXECUTE is
granted routine by routine (sql/grants/session_sync_runner.sql). Every SECURITY DEFINER
routine of the package runs as its owner with search_path pinned to pg_catalog, pg_temp:
its callers need EXECUTE, not rights on the platform''s tables.';
