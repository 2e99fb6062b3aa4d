-- Statement-level triggers with transition tables: a bulk write is synced in a few set-based
-- statements, in the writing transaction.
CREATE TRIGGER session_sync_purchases_insert
    AFTER INSERT ON public.course_purchases
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.session_sync_course_purchases_trigger();
CREATE TRIGGER session_sync_purchases_update
    AFTER UPDATE ON public.course_purchases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.session_sync_course_purchases_trigger();
CREATE TRIGGER session_sync_sessions_insert
    AFTER INSERT ON public.purchase_sessions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.session_sync_purchase_sessions_trigger();
CREATE TRIGGER session_sync_sessions_update
    AFTER UPDATE ON public.purchase_sessions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.session_sync_purchase_sessions_trigger();
