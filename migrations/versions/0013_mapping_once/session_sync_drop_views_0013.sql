-- session_sync_session_state's columns change order (its mapped columns go last, so that a
-- later revision adding one only appends a column, which CREATE OR REPLACE VIEW allows): it is
-- dropped with the three views that read it, and created again by the files that follow, up
-- and down. Before that, each view's owner and privileges (on the view and on its columns,
-- with their grantors) are kept in temporary tables; session_sync_regrant_0013.sql gives them
-- back. Without CASCADE: a view of someone else's that reads them stops the migration (nothing
-- changed) instead of vanishing. Only inside the migration's one transaction, after its lock
-- (a script run statement by statement in autocommit would lose the privileges).
DO $guard$
BEGIN
    IF pg_catalog.current_setting('session_sync.migration_0013_locked', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION USING
            ERRCODE = '25001',
            MESSAGE = 'session-sync migration 0013: must run in one transaction, after its lock (it drops and creates views again and keeps their privileges in a temporary table until then); nothing was changed',
            HINT = 'Run it with alembic, or its --sql script as printed (with its BEGIN; and COMMIT;), e.g. psql -v ON_ERROR_STOP=1 --single-transaction -f upgrade.sql';
    END IF;
END
$guard$;
CREATE TEMPORARY TABLE session_sync_saved_owners ON COMMIT DROP AS
SELECT c.relname, c.relowner
FROM pg_catalog.pg_class c
WHERE c.oid OPERATOR(pg_catalog.=) ANY (ARRAY[
      'public.session_sync_session_state'::pg_catalog.regclass, 'public.session_sync_pending'::pg_catalog.regclass,
      'public.session_sync_verify'::pg_catalog.regclass,
      'public.session_sync_open_failures'::pg_catalog.regclass]::pg_catalog.oid[]);
CREATE TEMPORARY TABLE session_sync_saved_grants ON COMMIT DROP AS
SELECT c.relname, NULL::pg_catalog.name AS attname, a.grantor, a.grantee, a.privilege_type, a.is_grantable
FROM pg_catalog.pg_class c
CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
WHERE c.relname OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT o.relname FROM pg_temp.session_sync_saved_owners o))
  AND c.relnamespace OPERATOR(pg_catalog.=) 'public'::pg_catalog.regnamespace
  AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
UNION ALL
SELECT c.relname, t.attname, a.grantor, a.grantee, a.privilege_type, a.is_grantable
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_attribute t ON t.attrelid OPERATOR(pg_catalog.=) c.oid
CROSS JOIN LATERAL pg_catalog.aclexplode(t.attacl) a
WHERE c.relname OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT o.relname FROM pg_temp.session_sync_saved_owners o))
  AND c.relnamespace OPERATOR(pg_catalog.=) 'public'::pg_catalog.regnamespace
  AND t.attnum OPERATOR(pg_catalog.>) 0 AND t.attacl IS NOT NULL;
DO $drop$
BEGIN
    DROP VIEW public.session_sync_open_failures;
    DROP VIEW public.session_sync_pending;
    DROP VIEW public.session_sync_verify;
    DROP VIEW public.session_sync_session_state;
EXCEPTION
    WHEN dependent_objects_still_exist THEN
        DECLARE
            v_detail text;
        BEGIN
            GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
            RAISE EXCEPTION USING
                ERRCODE = 'dependent_objects_still_exist',
                MESSAGE = 'session-sync migration 0013: it drops and creates again session_sync_session_state, session_sync_pending, session_sync_verify and session_sync_open_failures, and other objects read them; nothing was changed',
                DETAIL = v_detail,
                HINT = 'Drop those objects (note their definitions first), run the migration, then create them again. Do not use CASCADE on the package''s views.';
        END;
END
$drop$;
