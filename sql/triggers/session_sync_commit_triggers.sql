CREATE CONSTRAINT TRIGGER session_sync_commit_purchases
    AFTER INSERT OR UPDATE ON public.course_purchases
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (pg_catalog.current_setting('session_sync.commit_armed', true)
              IS DISTINCT FROM pg_catalog.pg_current_xact_id()::text
          AND pg_catalog.set_config('session_sync.commit_armed', pg_catalog.pg_current_xact_id()::text, true)
              IS NOT NULL)
    EXECUTE FUNCTION session_sync.session_sync_commit_trigger();
CREATE CONSTRAINT TRIGGER session_sync_commit_sessions
    AFTER INSERT OR UPDATE ON public.purchase_sessions
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (pg_catalog.current_setting('session_sync.commit_armed', true)
              IS DISTINCT FROM pg_catalog.pg_current_xact_id()::text
          AND pg_catalog.set_config('session_sync.commit_armed', pg_catalog.pg_current_xact_id()::text, true)
              IS NOT NULL)
    EXECUTE FUNCTION session_sync.session_sync_commit_trigger();

COMMENT ON TRIGGER session_sync_commit_purchases ON public.course_purchases IS 'The sync at COMMIT: one deferred constraint trigger per platform table the booking service
writes (row-level: constraint triggers have no statement level). Its WHEN clause lets only the
first row a transaction writes to either table queue an event, setting the transaction-local
session_sync.commit_armed as it lets it through; a rolled-back savepoint takes both with it.
The note triggers say which purchases to sync; this one syncs them once, at COMMIT, inside
the transaction (session_sync_commit_trigger).';
COMMENT ON TRIGGER session_sync_commit_sessions ON public.purchase_sessions IS 'The sync at COMMIT: see session_sync_commit_purchases.';
