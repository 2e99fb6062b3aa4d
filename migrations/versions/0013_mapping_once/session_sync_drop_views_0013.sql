-- session_sync_session_state's columns change order (its mapped columns go last, so that a
-- later revision adding one only appends a column, which CREATE OR REPLACE VIEW allows): it is
-- dropped with the three views that read it, and created again by the files that follow, up
-- and down. Before that, each view's owner and privileges (on the view and on its columns,
-- with their grantors) are kept in a transaction-local setting (no temporary table: no TEMP
-- privilege needed); session_sync_regrant_0013.sql gives them back. Without CASCADE: a view of
-- someone else's that reads them stops the migration (nothing changed) instead of vanishing;
-- so do options, triggers, rules, column defaults or security labels added to them. Only inside
-- the migration's one transaction, after its lock (a script run statement by statement in
-- autocommit would lose the privileges).
SELECT pg_catalog.set_config('session_sync.migration_0013_saved', pg_catalog.jsonb_build_object(
    'owners', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                          'relname', c.relname, 'relowner', c.relowner::pg_catalog.int8) ORDER BY c.relname)
               FROM pg_catalog.pg_class c
               WHERE c.oid OPERATOR(pg_catalog.=) ANY (ARRAY[
      'public.session_sync_session_state'::pg_catalog.regclass, 'public.session_sync_pending'::pg_catalog.regclass,
      'public.session_sync_verify'::pg_catalog.regclass,
      'public.session_sync_open_failures'::pg_catalog.regclass]::pg_catalog.oid[])),
    'grants', coalesce((
        SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'relname', s.relname, 'attname', s.attname, 'grantor', s.grantor::pg_catalog.int8,
                   'grantee', s.grantee::pg_catalog.int8, 'privilege_type', s.privilege_type,
                   'is_grantable', s.is_grantable)
                   ORDER BY s.relname, s.attname, s.grantor, s.grantee, s.privilege_type)
        FROM (SELECT c.relname, NULL::pg_catalog.name AS attname, a.grantor, a.grantee, a.privilege_type, a.is_grantable
              FROM pg_catalog.pg_class c
              CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
              WHERE c.oid OPERATOR(pg_catalog.=) ANY (ARRAY[
      'public.session_sync_session_state'::pg_catalog.regclass, 'public.session_sync_pending'::pg_catalog.regclass,
      'public.session_sync_verify'::pg_catalog.regclass,
      'public.session_sync_open_failures'::pg_catalog.regclass]::pg_catalog.oid[])
                AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
              UNION ALL
              SELECT c.relname, t.attname, a.grantor, a.grantee, a.privilege_type, a.is_grantable
              FROM pg_catalog.pg_class c
              JOIN pg_catalog.pg_attribute t ON t.attrelid OPERATOR(pg_catalog.=) c.oid
              CROSS JOIN LATERAL pg_catalog.aclexplode(t.attacl) a
              WHERE c.oid OPERATOR(pg_catalog.=) ANY (ARRAY[
      'public.session_sync_session_state'::pg_catalog.regclass, 'public.session_sync_pending'::pg_catalog.regclass,
      'public.session_sync_verify'::pg_catalog.regclass,
      'public.session_sync_open_failures'::pg_catalog.regclass]::pg_catalog.oid[])
                AND t.attnum OPERATOR(pg_catalog.>) 0 AND t.attacl IS NOT NULL) s), '[]'::pg_catalog.jsonb)
)::pg_catalog.text, true);
DO $drop$
BEGIN
    -- Only in the transaction that took the lock (set_config by the lock block, to its own id):
    -- run statement by statement, the privileges kept above would be gone before they are given
    -- back. Checked here, in the statement that drops, so that no client setting can skip it.
    IF pg_catalog.current_setting('session_sync.migration_0013_locked', true) IS DISTINCT FROM
       pg_catalog.pg_current_xact_id()::text THEN
        RAISE EXCEPTION USING
            ERRCODE = '25001',
            MESSAGE = 'session-sync migration 0013: must run in one transaction, after its lock (it drops and creates views again and keeps their privileges until then); nothing was dropped',
            HINT = 'Run it with alembic, or its --sql script as printed (with its BEGIN; and COMMIT;), e.g. psql -v ON_ERROR_STOP=1 --single-transaction -f upgrade.sql';
    END IF;
    -- What a drop and create would lose and this revision does not give back: options (e.g.
    -- security_invoker), triggers, rules, column defaults and security labels someone added to
    -- these views. Refused, not lost.
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c
               WHERE c.oid OPERATOR(pg_catalog.=) ANY (ARRAY[
      'public.session_sync_session_state'::pg_catalog.regclass, 'public.session_sync_pending'::pg_catalog.regclass,
      'public.session_sync_verify'::pg_catalog.regclass,
      'public.session_sync_open_failures'::pg_catalog.regclass]::pg_catalog.oid[])
                 AND (c.reloptions IS NOT NULL
                      OR EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgrelid OPERATOR(pg_catalog.=) c.oid)
                      OR EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite r WHERE r.ev_class OPERATOR(pg_catalog.=) c.oid
                                 AND r.rulename OPERATOR(pg_catalog.<>) '_RETURN')
                      OR EXISTS (SELECT 1 FROM pg_catalog.pg_attrdef d WHERE d.adrelid OPERATOR(pg_catalog.=) c.oid)
                      OR EXISTS (SELECT 1 FROM pg_catalog.pg_seclabel l
                                 WHERE l.objoid OPERATOR(pg_catalog.=) c.oid
                                   AND l.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass))) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = 'session-sync migration 0013: session_sync_session_state, session_sync_pending, session_sync_verify or session_sync_open_failures has options, triggers, rules, column defaults or security labels added to it, which dropping and creating the view again would lose; nothing was changed',
            HINT = 'See \d+ of those views; remove what was added (ALTER VIEW ... RESET (...), DROP TRIGGER, DROP RULE, ALTER VIEW ... ALTER COLUMN ... DROP DEFAULT, SECURITY LABEL ... IS NULL), run the migration, then add it again.';
    END IF;
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
