-- The privileges the dropped views had (session_sync_drop_views_0013.sql), granted again on the
-- views of the same names, by their owner (the migration's role), to the same roles (0: PUBLIC).
DO $regrant$
DECLARE
    v_grant record;
BEGIN
    FOR v_grant IN SELECT * FROM pg_temp.session_sync_saved_grants ORDER BY 1, 2, 3 LOOP
        EXECUTE pg_catalog.format('GRANT %s ON public.%I TO %s%s', v_grant.privilege_type, v_grant.relname,
            CASE WHEN v_grant.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                 ELSE v_grant.grantee::pg_catalog.regrole::text END,  -- regrole quotes as needed
            CASE WHEN v_grant.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
END
$regrant$;
