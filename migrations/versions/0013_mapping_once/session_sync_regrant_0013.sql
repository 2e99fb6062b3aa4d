-- Gives the views created again by this revision what the dropped ones had
-- (session_sync_drop_views_0013.sql): their owner, then exactly their privileges on the view
-- and on its columns. What the new views got by default (ALTER DEFAULT PRIVILEGES) and had not
-- before is revoked. Each privilege is granted by its grantor (SET ROLE to it; a grant made by a
-- role that had it WITH GRANT OPTION comes after that role's grant), so REVOKE ... CASCADE
-- from a grantor still reaches it; when the migrating role cannot act as that grantor, or the
-- grant options form a cycle, the migrating role (the owner) grants it instead and a WARNING
-- (in the server's log) says so.
DO $regrant$
DECLARE
    v_view record;
    v_grant record;
    v_grantee record;
    v_done boolean;
    v_statement text;
    v_me text := pg_catalog.quote_ident(current_user);
BEGIN
    FOR v_view IN SELECT o.relname, o.relowner FROM pg_temp.session_sync_saved_owners o ORDER BY 1 LOOP
        EXECUTE pg_catalog.format('ALTER VIEW public.%I OWNER TO %s', v_view.relname,
                                  v_view.relowner::pg_catalog.regrole::text);  -- regrole quotes as needed
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

    CREATE TEMPORARY TABLE session_sync_regranted (LIKE pg_temp.session_sync_saved_grants) ON COMMIT DROP;
    -- Grants whose grantor holds the privilege now (the owner, or a role already given it WITH
    -- GRANT OPTION) go first; repeated until none is left.
    LOOP
        v_done := true;
        FOR v_grant IN
            SELECT g.* FROM pg_temp.session_sync_saved_grants g
            JOIN pg_temp.session_sync_saved_owners o ON o.relname OPERATOR(pg_catalog.=) g.relname
            WHERE NOT EXISTS (SELECT 1 FROM pg_temp.session_sync_regranted r
                              WHERE r.relname IS NOT DISTINCT FROM g.relname AND r.attname IS NOT DISTINCT FROM g.attname
                                AND r.grantor OPERATOR(pg_catalog.=) g.grantor AND r.grantee OPERATOR(pg_catalog.=) g.grantee
                                AND r.privilege_type OPERATOR(pg_catalog.=) g.privilege_type)
              AND (g.grantor OPERATOR(pg_catalog.=) o.relowner
                   OR EXISTS (SELECT 1 FROM pg_temp.session_sync_regranted r
                              WHERE r.relname OPERATOR(pg_catalog.=) g.relname
                                AND (r.attname IS NOT DISTINCT FROM g.attname OR r.attname IS NULL)
                                AND r.grantee OPERATOR(pg_catalog.=) g.grantor
                                AND r.privilege_type OPERATOR(pg_catalog.=) g.privilege_type
                                AND r.is_grantable))
            ORDER BY g.relname, g.attname, g.grantor, g.grantee, g.privilege_type
        LOOP
            v_done := false;
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
            EXCEPTION
                WHEN insufficient_privilege THEN
                    -- the subtransaction gave back the role; the owner grants it instead
                    EXECUTE v_statement;
                    RAISE WARNING 'session-sync migration 0013: % was granted by the migrating role, not by %, which it cannot act as',
                        v_statement, v_grant.grantor::pg_catalog.regrole::text;
            END;
            INSERT INTO pg_temp.session_sync_regranted
            VALUES (v_grant.relname, v_grant.attname, v_grant.grantor, v_grant.grantee, v_grant.privilege_type,
                    v_grant.is_grantable);
        END LOOP;
        EXIT WHEN v_done;
    END LOOP;
    -- What is left has a grantor whose grant option is itself passed on in a cycle (each of two
    -- roles granted the other WITH GRANT OPTION): given back by the migrating role (as the owner).
    FOR v_grant IN
        SELECT g.* FROM pg_temp.session_sync_saved_grants g
        WHERE NOT EXISTS (SELECT 1 FROM pg_temp.session_sync_regranted r
                          WHERE r.relname IS NOT DISTINCT FROM g.relname AND r.attname IS NOT DISTINCT FROM g.attname
                            AND r.grantor OPERATOR(pg_catalog.=) g.grantor AND r.grantee OPERATOR(pg_catalog.=) g.grantee
                            AND r.privilege_type OPERATOR(pg_catalog.=) g.privilege_type)
        ORDER BY g.relname, g.attname, g.grantor, g.grantee, g.privilege_type
    LOOP
        EXECUTE pg_catalog.format('GRANT %s%s ON public.%I TO %s%s', v_grant.privilege_type,
            CASE WHEN v_grant.attname IS NULL THEN '' ELSE pg_catalog.format(' (%I)', v_grant.attname) END,
            v_grant.relname,
            CASE WHEN v_grant.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                 ELSE v_grant.grantee::pg_catalog.regrole::text END,
            CASE WHEN v_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        RAISE WARNING 'session-sync migration 0013: % on % to % given back by the migrating role, not by % (a cycle of grant options)',
            v_grant.privilege_type, v_grant.relname, v_grant.grantee::pg_catalog.regrole::text,
            v_grant.grantor::pg_catalog.regrole::text;
        INSERT INTO pg_temp.session_sync_regranted
        VALUES (v_grant.relname, v_grant.attname, v_grant.grantor, v_grant.grantee, v_grant.privilege_type,
                v_grant.is_grantable);
    END LOOP;
    DROP TABLE pg_temp.session_sync_regranted, pg_temp.session_sync_saved_grants, pg_temp.session_sync_saved_owners;
END
$regrant$;
