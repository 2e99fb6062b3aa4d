CREATE OR REPLACE TRIGGER session_sync_dropped_keys_note
    AFTER UPDATE OF metadata ON public.purchase_sessions
    FOR EACH ROW
    WHEN (OLD.metadata IS DISTINCT FROM NEW.metadata
          AND NOT (COALESCE(pg_catalog.jsonb_path_query_array(NEW.metadata, 'strict $.keyvalue().key', '{}', true), '[]')
                   @> COALESCE(pg_catalog.jsonb_path_query_array(OLD.metadata, 'strict $.keyvalue().key', '{}', true), '[]')))
    EXECUTE FUNCTION session_sync.session_sync_dropped_keys_trigger();

COMMENT ON TRIGGER session_sync_dropped_keys_note ON public.purchase_sessions IS 'Remembers the keys an UPDATE drops from a purchase session''s metadata
(session_sync_dropped_keys). Its WHEN clause, built-ins only (a package function there would
need EXECUTE for every writer), lets through only the updates after which the keys no
longer include all the old ones: every other write pays one comparison.';
