"""Privileges: EXECUTE only for role session_sync_runner, never PUBLIC.

Creates the NOLOGIN role ``session_sync_runner`` where missing (roles are cluster-wide: a
downgrade revokes what this revision granted but keeps the role, which other databases may
use). EXECUTE on every function and procedure of the package is revoked from PUBLIC and
granted to the role, with SELECT on the package's views and tables and the rights the
batched backfill needs on ``session_sync_runs``. The writing functions are SECURITY DEFINER,
so members need no right on ``tutoring_sessions`` or ``trainer_allocations``:

    GRANT session_sync_runner TO app_backend;

Revision ID: 0007_privileges
Revises: 0006_operator_surface
"""

from session_sync.migration_sql import execute

revision = "0007_privileges"
down_revision = "0006_operator_surface"
branch_labels = None
depends_on = None

ROUTINES = [
    "FUNCTION public.session_sync_uuid(text)",
    "FUNCTION public.session_sync_coordinate(jsonb)",
    "FUNCTION public.session_sync_location_problem(jsonb)",
    "FUNCTION public.session_sync_home_location(jsonb)",
    "FUNCTION public.session_sync_primary_student(jsonb)",
    "FUNCTION public.session_sync_reasons()",
    "FUNCTION public.session_sync_failure_message(text, uuid, text)",
    "FUNCTION public.session_sync_raise(text, uuid, text)",
    "FUNCTION public.session_sync_apply(uuid[], uuid[], uuid[])",
    "FUNCTION public.session_sync_process(uuid[], bigint, boolean, text)",
    "FUNCTION public.sync_all_sessions(boolean, text)",
    "FUNCTION public.sync_purchase_sessions(uuid)",
    "FUNCTION public.session_sync_setting(text, boolean)",
    "FUNCTION public.session_sync_trigger_sync(uuid[])",
    "FUNCTION public.session_sync_course_purchases_trigger()",
    "FUNCTION public.session_sync_purchase_sessions_trigger()",
    "FUNCTION public.session_sync_diagnose(uuid)",
    "PROCEDURE public.sync_all_sessions_batched(integer, boolean, bigint)",
]
READABLE = [
    "public.session_sync_purchase_check", "public.session_sync_expected", "public.session_sync_session_state",
    "public.session_sync_pending", "public.session_sync_verify", "public.session_sync_open_failures",
    "public.session_sync_runs", "public.session_sync_failures",
]

ROLE = """
DO $role$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'session_sync_runner') THEN
        CREATE ROLE session_sync_runner NOLOGIN;
    END IF;
END
$role$;
"""


def upgrade() -> None:
    execute(ROLE)
    for routine in ROUTINES:
        execute(f"REVOKE EXECUTE ON {routine} FROM PUBLIC")
        execute(f"GRANT EXECUTE ON {routine} TO session_sync_runner")
    execute(f"GRANT SELECT ON {', '.join(READABLE)} TO session_sync_runner")
    execute("GRANT INSERT, UPDATE ON public.session_sync_runs TO session_sync_runner")


def downgrade() -> None:
    execute("REVOKE INSERT, UPDATE ON public.session_sync_runs FROM session_sync_runner")
    execute(f"REVOKE SELECT ON {', '.join(READABLE)} FROM session_sync_runner")
    for routine in reversed(ROUTINES):
        execute(f"REVOKE EXECUTE ON {routine} FROM session_sync_runner")
        execute(f"GRANT EXECUTE ON {routine} TO PUBLIC")
