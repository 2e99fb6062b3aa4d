-- session_sync_session_state's columns change order (its mapped columns go last, so that a
-- later revision adding one only appends a column, which CREATE OR REPLACE VIEW allows): it is
-- dropped with the three views that read it, and created again by the files that follow, up
-- and down. Without CASCADE: a view of someone else's that reads them stops the migration
-- (nothing changed) instead of vanishing. The privileges granted on them, whoever granted them,
-- are kept in a temporary table and granted again afterwards (session_sync_regrant_0013.sql).
CREATE TEMPORARY TABLE session_sync_saved_grants ON COMMIT DROP AS
SELECT c.relname, a.privilege_type, a.grantee, a.is_grantable
FROM pg_catalog.pg_class c
CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
WHERE c.oid OPERATOR(pg_catalog.=) ANY (ARRAY[
      'public.session_sync_session_state'::pg_catalog.regclass, 'public.session_sync_pending'::pg_catalog.regclass,
      'public.session_sync_verify'::pg_catalog.regclass,
      'public.session_sync_open_failures'::pg_catalog.regclass]::pg_catalog.oid[])
  AND a.grantee OPERATOR(pg_catalog.<>) c.relowner;
DROP VIEW public.session_sync_open_failures;
DROP VIEW public.session_sync_pending;
DROP VIEW public.session_sync_verify;
DROP VIEW public.session_sync_session_state;
