CREATE OR REPLACE TRIGGER session_sync_dropped_keys_note
    AFTER UPDATE OF metadata ON public.purchase_sessions
    FOR EACH ROW
    WHEN (OLD.metadata IS DISTINCT FROM NEW.metadata
          AND NOT (COALESCE(pg_catalog.jsonb_path_query_array(NEW.metadata, 'strict $.keyvalue().key', '{}', true), '[]')
                   @> COALESCE(pg_catalog.jsonb_path_query_array(OLD.metadata, 'strict $.keyvalue().key', '{}', true), '[]')))
    EXECUTE FUNCTION session_sync.session_sync_dropped_keys_trigger();

COMMENT ON TRIGGER session_sync_dropped_keys_note ON public.purchase_sessions IS 'Remembering the keys a purchase session''s metadata drops (session_sync_dropped_keys): one
row-level trigger whose WHEN clause lets through only the UPDATEs after which the metadata''s
keys no longer include all of the old ones, so every other write pays one comparison and no
function call. The WHEN clause uses built-ins only (a function of the package there would need
EXECUTE for every role that writes purchase_sessions); the trigger function leaves out the
canonical keys.';
