-- Privileges, set from scratch (revoked, then granted): a revision that changes one re-applies this
-- file. session_sync_runner (NOLOGIN; GRANT it TO app_backend) gets EXECUTE on the API and on the
-- helpers the views call, SELECT on the package's tables and public views; PUBLIC gets nothing;
-- every other routine is the owner's (triggers fire without an EXECUTE check). The role is
-- cluster-wide: created where missing, never dropped.
DO $role$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'session_sync_runner') THEN
        CREATE ROLE session_sync_runner NOLOGIN;
    END IF;
END
$role$;

GRANT USAGE ON SCHEMA session_sync TO session_sync_runner;
REVOKE ALL ON ALL ROUTINES IN SCHEMA session_sync FROM PUBLIC, session_sync_runner;

REVOKE ALL ON ROUTINE public.sync_all_sessions(boolean, text), public.sync_purchase_sessions(uuid),
    public.sync_all_sessions_batched(integer, boolean, bigint), public.session_sync_diagnose(uuid),
    public.session_sync_enqueue(uuid[]), public.session_sync_reasons() FROM PUBLIC;
GRANT EXECUTE ON ROUTINE public.sync_all_sessions(boolean, text), public.sync_purchase_sessions(uuid),
    public.sync_all_sessions_batched(integer, boolean, bigint), public.session_sync_diagnose(uuid),
    public.session_sync_enqueue(uuid[]), public.session_sync_reasons() TO session_sync_runner;

-- The backfill procedure's two steps (each checks it is called by the backend that runs the
-- backfill), and the pure helpers the views call.
GRANT EXECUTE ON FUNCTION session_sync.session_sync_backfill_start(integer, boolean),
    session_sync.session_sync_backfill_step(bigint, boolean), session_sync.session_sync_uuid(text),
    session_sync.session_sync_coordinate(jsonb), session_sync.session_sync_location_problem(jsonb),
    session_sync.session_sync_home_location(jsonb), session_sync.session_sync_primary_student(jsonb),
    session_sync.session_sync_owner(jsonb), session_sync.session_sync_owned_by(jsonb, uuid),
    session_sync.session_sync_protected(text), session_sync.session_sync_reasons(),
    session_sync.session_sync_eligible(uuid, text), session_sync.session_sync_allocation_usable(text)
    TO session_sync_runner;

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
