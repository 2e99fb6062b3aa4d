-- Privileges: what the role session_sync_runner may do, and what nobody but the owner may.
-- Applying this file sets every privilege of the package from scratch (it revokes before it
-- grants), so an update revision that changes a privilege re-applies it whole.
--   * session_sync_runner (NOLOGIN; GRANT session_sync_runner TO app_backend): EXECUTE on the
--     documented API, SELECT on the package's tables and public views (ids, counts, reasons and
--     messages: never a student's contact details or location), USAGE on schema session_sync
--     (the backfill procedure runs with the caller's rights and names two steps there).
--   * PUBLIC: nothing of the package. The pure helpers the views call (as their reader: EXECUTE
--     is checked for the role that reads) are granted to the runner; no trigger's WHEN clause
--     calls a function of the package (it would need EXECUTE for every role that writes).
--   * Everything else (the writers, the trigger functions, the internal helpers) is the owner's:
--     triggers fire without an EXECUTE check, and the SECURITY DEFINER API calls them as owner.
-- Roles are cluster-wide: the role is created where missing and never dropped.
DO $role$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'session_sync_runner') THEN
        CREATE ROLE session_sync_runner NOLOGIN;
    END IF;
END
$role$;

GRANT USAGE ON SCHEMA session_sync TO session_sync_runner;

-- The API.
REVOKE ALL ON FUNCTION public.sync_all_sessions(boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.sync_all_sessions(boolean, text) TO session_sync_runner;
REVOKE ALL ON FUNCTION public.sync_purchase_sessions(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.sync_purchase_sessions(uuid) TO session_sync_runner;
REVOKE ALL ON PROCEDURE public.sync_all_sessions_batched(integer, boolean, bigint) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE public.sync_all_sessions_batched(integer, boolean, bigint) TO session_sync_runner;
REVOKE ALL ON FUNCTION public.session_sync_diagnose(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.session_sync_diagnose(uuid) TO session_sync_runner;
REVOKE ALL ON FUNCTION public.session_sync_enqueue(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.session_sync_enqueue(uuid[]) TO session_sync_runner;
REVOKE ALL ON FUNCTION public.session_sync_reasons() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.session_sync_reasons() TO session_sync_runner;

-- The backfill procedure's two steps (SECURITY DEFINER; each checks it is called by the backend
-- that runs the backfill).
REVOKE ALL ON FUNCTION session_sync.session_sync_backfill_start(integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session_sync.session_sync_backfill_start(integer, boolean) TO session_sync_runner;
REVOKE ALL ON FUNCTION session_sync.session_sync_backfill_step(bigint, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session_sync.session_sync_backfill_step(bigint, boolean) TO session_sync_runner;

-- Pure helpers the views call (as their reader).
REVOKE ALL ON FUNCTION session_sync.session_sync_uuid(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session_sync.session_sync_uuid(text) TO session_sync_runner;
REVOKE ALL ON FUNCTION session_sync.session_sync_coordinate(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session_sync.session_sync_coordinate(jsonb) TO session_sync_runner;
REVOKE ALL ON FUNCTION session_sync.session_sync_location_problem(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session_sync.session_sync_location_problem(jsonb) TO session_sync_runner;
REVOKE ALL ON FUNCTION session_sync.session_sync_home_location(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session_sync.session_sync_home_location(jsonb) TO session_sync_runner;
REVOKE ALL ON FUNCTION session_sync.session_sync_primary_student(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session_sync.session_sync_primary_student(jsonb) TO session_sync_runner;
REVOKE ALL ON FUNCTION session_sync.session_sync_owner(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session_sync.session_sync_owner(jsonb) TO session_sync_runner;
REVOKE ALL ON FUNCTION session_sync.session_sync_owned_by(jsonb, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session_sync.session_sync_owned_by(jsonb, uuid) TO session_sync_runner;
REVOKE ALL ON FUNCTION session_sync.session_sync_protected(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session_sync.session_sync_protected(text) TO session_sync_runner;
REVOKE ALL ON FUNCTION session_sync.session_sync_reasons() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session_sync.session_sync_reasons() TO session_sync_runner;
REVOKE ALL ON FUNCTION session_sync.session_sync_eligible(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session_sync.session_sync_eligible(uuid, text) TO session_sync_runner;
REVOKE ALL ON FUNCTION session_sync.session_sync_allocation_usable(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION session_sync.session_sync_allocation_usable(text) TO session_sync_runner;

-- The owner's alone.
REVOKE ALL ON FUNCTION session_sync.session_sync_enqueue(uuid[]) FROM PUBLIC, session_sync_runner;
REVOKE ALL ON FUNCTION session_sync.session_sync_write(uuid[], bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_flush() FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_commit_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_never_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_course_purchases_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_purchase_sessions_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_tutoring_sessions_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_allocations_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_dropped_keys_trigger() FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_failure_message(text, uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_raise(text, uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_quote(jsonb, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_location_detail(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_students_problem(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_reap_backfills() FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_setting(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_keys_dropped(jsonb, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION session_sync.session_sync_hint(text) FROM PUBLIC;

-- Tables and views: read only, and only for the runner.
REVOKE ALL ON public.session_sync_runs, public.session_sync_failures, public.session_sync_changes,
    public.session_sync_locks, public.session_sync_dropped_keys FROM PUBLIC, session_sync_runner;
GRANT SELECT ON public.session_sync_runs, public.session_sync_failures, public.session_sync_changes,
    public.session_sync_dropped_keys TO session_sync_runner;
REVOKE ALL ON public.session_sync_purchase_check, public.session_sync_expected, public.session_sync_session_state,
    public.session_sync_pending, public.session_sync_verify, public.session_sync_open_failures,
    public.session_sync_queue, public.session_sync_status FROM PUBLIC, session_sync_runner;
-- Not the three internal views (purchase_check, expected, session_state): they carry students'
-- home locations and the sessions' metadata. The views granted here read them as their owner.
GRANT SELECT ON public.session_sync_pending, public.session_sync_verify, public.session_sync_open_failures,
    public.session_sync_queue, public.session_sync_status TO session_sync_runner;
