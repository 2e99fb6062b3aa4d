CREATE SCHEMA session_sync;
REVOKE ALL ON SCHEMA session_sync FROM PUBLIC;

COMMENT ON SCHEMA session_sync IS 'session_sync: the package''s internals (its API, tables and views are in public).
Only its owner may create objects in it, so no other role can plant a look-alike overload
there that a routine''s call could resolve to (in public, a role with CREATE could, by an
untyped argument or an extra defaulted parameter). session_sync_runner may look names up
in it (the backfill procedure runs with the caller''s rights); which routines it may execute
is granted one by one (sql/grants/session_sync_runner.sql).';
