-- First, the platform's four tables, so that no platform write's trigger runs half on the old
-- objects and half on the new ones while this revision replaces them (it would otherwise
-- deadlock with the revision's ALTER of session_sync_runs): writes wait for the revision's
-- transaction, reads go on.
LOCK TABLE public.course_purchases, public.purchase_sessions, public.trainer_allocations, public.tutoring_sessions
    IN SHARE ROW EXCLUSIVE MODE;
