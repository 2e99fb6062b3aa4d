-- The package's own schema, for everything but its API: only its owner may create objects in
-- it, so no other role can plant a look-alike overload there that a routine's call could
-- resolve to (in public, a role with CREATE could, by an untyped argument or an extra
-- defaulted parameter: a takeover or an error on every platform write). Routines move with
-- their OIDs, so the views and triggers bound to them keep working. session_sync_runner may
-- look names up in it (the backfill procedure runs with the caller's rights); which routines it
-- may execute is granted one by one.
CREATE SCHEMA session_sync;
REVOKE ALL ON SCHEMA session_sync FROM PUBLIC;
GRANT USAGE ON SCHEMA session_sync TO session_sync_runner;
COMMENT ON SCHEMA session_sync IS
    'session-sync: the package''s internals (its API, tables and views are in public)';
ALTER FUNCTION public.session_sync_uuid(text) SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_coordinate(jsonb) SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_location_problem(jsonb) SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_primary_student(jsonb) SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_home_location(jsonb) SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_students_problem(jsonb) SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_location_detail(jsonb) SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_reasons() SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_failure_message(text, uuid, text) SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_raise(text, uuid, text) SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_setting(text, boolean) SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_trigger_sync(uuid[]) SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_enqueue(uuid[]) SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_reap_backfills() SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_backfill_start(integer, boolean) SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_backfill_step(bigint, boolean) SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_course_purchases_trigger() SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_purchase_sessions_trigger() SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_tutoring_sessions_trigger() SET SCHEMA session_sync;
ALTER FUNCTION public.session_sync_allocations_trigger() SET SCHEMA session_sync;
DROP FUNCTION public.session_sync_process(uuid[], bigint, boolean, text);
DROP FUNCTION public.session_sync_apply(uuid[], uuid[], uuid[]);
