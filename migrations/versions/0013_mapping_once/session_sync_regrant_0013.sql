-- Gives the views created again by this revision what the dropped ones had
-- (session_sync_drop_views_0013.sql, kept in the setting session_sync.migration_0013_saved):
-- their owner, then exactly their privileges on the view and on its columns. What the new
-- views got by default (ALTER DEFAULT PRIVILEGES) and had not before is revoked. Each
-- privilege is granted by its grantor (SET LOCAL ROLE to it), once that grantor holds it WITH
-- GRANT OPTION again, pass after pass, so REVOKE ... CASCADE from a grantor still reaches it.
-- When the migrating role cannot act as the grantor, or what is left cannot be granted in any
-- order (a cycle of grant options), the migrating role (the owner) grants it instead and a
-- WARNING says so (`session-sync migrate` prints it; so does the server's log).
DO $regrant$
DECLARE
    v_saved jsonb := pg_catalog.current_setting('session_sync.migration_0013_saved')::jsonb;
    v_me text := pg_catalog.quote_ident(current_user);
    v_view record;
    v_grant record;
    v_grantee record;
    v_granted jsonb := '{}';  -- the keys of the grants given back (a set: constant-time lookup)
    v_key text;
    v_progress boolean;
    v_statement text;
BEGIN
    FOR v_view IN SELECT o.relname, o.relowner
                  FROM pg_catalog.jsonb_to_recordset(v_saved -> 'owners') AS o(relname name, relowner oid)
                  ORDER BY 1 LOOP
        IF (SELECT c.relowner FROM pg_catalog.pg_class c
            WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.format('public.%I', v_view.relname)::pg_catalog.regclass)
           OPERATOR(pg_catalog.<>) v_view.relowner THEN
            BEGIN
                EXECUTE pg_catalog.format('ALTER VIEW public.%I OWNER TO %s', v_view.relname,
                                          v_view.relowner::pg_catalog.regrole::text);  -- regrole quotes as needed
            EXCEPTION
                WHEN insufficient_privilege THEN
                    RAISE EXCEPTION USING
                        ERRCODE = 'insufficient_privilege',
                        MESSAGE = pg_catalog.format('session-sync migration 0013: cannot give the view %s back to its owner %s; nothing was changed',
                                                    v_view.relname, v_view.relowner::pg_catalog.regrole::text),
                        DETAIL = SQLERRM,
                        HINT = 'Migrate as that owner, or as a superuser; the owner needs CREATE on schema public.';
            END;
        END IF;
        FOR v_grantee IN
            SELECT DISTINCT a.grantee
            FROM pg_catalog.pg_class c
            CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
            WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.format('public.%I', v_view.relname)::pg_catalog.regclass
              AND a.grantee OPERATOR(pg_catalog.<>) v_view.relowner
        LOOP
            EXECUTE pg_catalog.format('REVOKE ALL ON public.%I FROM %s CASCADE', v_view.relname,
                CASE WHEN v_grantee.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                     ELSE v_grantee.grantee::pg_catalog.regrole::text END);
        END LOOP;
    END LOOP;

    -- Pass after pass: a grant goes once its grantor is the owner or holds the privilege WITH
    -- GRANT OPTION again (on the view, or on that column); one the server refuses in this order
    -- (invalid_grant_operation, within a cycle) waits for a later pass.
    LOOP
        v_progress := false;
        FOR v_grant IN
            SELECT g.*
            FROM pg_catalog.jsonb_to_recordset(v_saved -> 'grants')
                 AS g(relname name, attname name, grantor oid, grantee oid, privilege_type text, is_grantable boolean)
            ORDER BY g.relname, g.attname, g.grantor, g.grantee, g.privilege_type
        LOOP
            v_key := pg_catalog.concat_ws('|', v_grant.relname, v_grant.attname, v_grant.grantor, v_grant.grantee,
                                          v_grant.privilege_type);
            CONTINUE WHEN v_granted OPERATOR(pg_catalog.?) v_key;
            CONTINUE WHEN NOT (
                v_grant.grantor OPERATOR(pg_catalog.=) (SELECT o.relowner
                    FROM pg_catalog.jsonb_to_recordset(v_saved -> 'owners') AS o(relname name, relowner oid)
                    WHERE o.relname OPERATOR(pg_catalog.=) v_grant.relname)
                OR EXISTS (
                    SELECT 1 FROM pg_catalog.pg_class c
                    CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
                    WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.format('public.%I', v_grant.relname)::pg_catalog.regclass
                      AND a.grantee OPERATOR(pg_catalog.=) v_grant.grantor
                      AND a.privilege_type OPERATOR(pg_catalog.=) v_grant.privilege_type AND a.is_grantable)
                OR EXISTS (
                    SELECT 1 FROM pg_catalog.pg_attribute t
                    CROSS JOIN LATERAL pg_catalog.aclexplode(t.attacl) a
                    WHERE t.attrelid OPERATOR(pg_catalog.=) pg_catalog.format('public.%I', v_grant.relname)::pg_catalog.regclass
                      AND t.attname OPERATOR(pg_catalog.=) v_grant.attname
                      AND a.grantee OPERATOR(pg_catalog.=) v_grant.grantor
                      AND a.privilege_type OPERATOR(pg_catalog.=) v_grant.privilege_type AND a.is_grantable));
            v_statement := pg_catalog.format('GRANT %s%s ON public.%I TO %s%s', v_grant.privilege_type,
                CASE WHEN v_grant.attname IS NULL THEN '' ELSE pg_catalog.format(' (%I)', v_grant.attname) END,
                v_grant.relname,
                CASE WHEN v_grant.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                     ELSE v_grant.grantee::pg_catalog.regrole::text END,
                CASE WHEN v_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
            BEGIN
                EXECUTE pg_catalog.format('SET LOCAL ROLE %s', v_grant.grantor::pg_catalog.regrole::text);
                EXECUTE v_statement;
                EXECUTE pg_catalog.format('SET LOCAL ROLE %s', v_me);
                v_granted := v_granted OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(v_key, true);
                v_progress := true;
            EXCEPTION
                WHEN invalid_grant_operation THEN
                    NULL;  -- the subtransaction gave back the role; a later pass tries again
                WHEN insufficient_privilege THEN
                    -- the migrating role cannot act as the grantor, or the grantor lacks what the
                    -- GRANT itself needs (USAGE on schema public): the owner grants it instead
                    EXECUTE v_statement;
                    RAISE WARNING 'session-sync migration 0013: % was granted by the migrating role, not by % (the migrating role cannot act as it, or it lacks a privilege the GRANT needs, such as USAGE on schema public)',
                        v_statement, v_grant.grantor::pg_catalog.regrole::text;
                    v_granted := v_granted OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(v_key, true);
                    v_progress := true;
            END;
        END LOOP;
        EXIT WHEN NOT v_progress;
    END LOOP;
    -- What is left cannot go in any grantor order (a cycle of grant options): the migrating role
    -- (the owner) grants it.
    FOR v_grant IN
        SELECT g.*
        FROM pg_catalog.jsonb_to_recordset(v_saved -> 'grants')
             AS g(relname name, attname name, grantor oid, grantee oid, privilege_type text, is_grantable boolean)
        ORDER BY g.relname, g.attname, g.grantor, g.grantee, g.privilege_type
    LOOP
        v_key := pg_catalog.concat_ws('|', v_grant.relname, v_grant.attname, v_grant.grantor, v_grant.grantee,
                                      v_grant.privilege_type);
        CONTINUE WHEN v_granted OPERATOR(pg_catalog.?) v_key;
        v_statement := pg_catalog.format('GRANT %s%s ON public.%I TO %s%s', v_grant.privilege_type,
            CASE WHEN v_grant.attname IS NULL THEN '' ELSE pg_catalog.format(' (%I)', v_grant.attname) END,
            v_grant.relname,
            CASE WHEN v_grant.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                 ELSE v_grant.grantee::pg_catalog.regrole::text END,
            CASE WHEN v_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        EXECUTE v_statement;
        RAISE WARNING 'session-sync migration 0013: % was granted by the migrating role, not by % (a cycle of grant options)',
            v_statement, v_grant.grantor::pg_catalog.regrole::text;
    END LOOP;
    PERFORM pg_catalog.set_config('session_sync.migration_0013_saved', '', true);
END
$regrant$;
