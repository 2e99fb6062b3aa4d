"""Core sync: session-sync's tables, helper functions, mapping views, sync functions.

Installs (from the frozen copy in ``0002_sync_core/``): tables ``session_sync_runs`` and
``session_sync_failures``; views ``session_sync_purchase_check``, ``session_sync_expected``,
``session_sync_session_state``; functions ``sync_purchase_sessions(uuid)``,
``sync_all_sessions()`` and their helpers.

Revision ID: 0002_sync_core
Revises: 0001_platform_baseline
"""

from session_sync.migration_sql import execute, run_snapshot

revision = "0002_sync_core"
down_revision = "0001_platform_baseline"
branch_labels = None
depends_on = None

FILES = [
    "session_sync_tables.sql",
    "session_sync_uuid.sql",
    "session_sync_coordinate.sql",
    "session_sync_location_problem.sql",
    "session_sync_home_location.sql",
    "session_sync_primary_student.sql",
    "session_sync_reasons.sql",
    "session_sync_purchase_check.sql",
    "session_sync_expected.sql",
    "session_sync_session_state.sql",
    "session_sync_failure_message.sql",
    "session_sync_raise.sql",
    "session_sync_apply.sql",
    "session_sync_process.sql",
    "sync_all_sessions.sql",
    "sync_purchase_sessions.sql",
]
SHA256 = '5b16f5fc7ddb90d98d1b9c85094d239bb6fa362f938cb02e63ebe4934f8a3e9e'

DOWNGRADE = r"""
DROP FUNCTION public.sync_purchase_sessions(uuid);
DROP FUNCTION public.sync_all_sessions(boolean, text);
DROP FUNCTION public.session_sync_process(uuid[], bigint, boolean, text);
DROP FUNCTION public.session_sync_apply(uuid[]);
DROP FUNCTION public.session_sync_raise(text, uuid, text);
DROP FUNCTION public.session_sync_failure_message(text, uuid, text);
DROP VIEW public.session_sync_session_state;
DROP VIEW public.session_sync_expected;
DROP VIEW public.session_sync_purchase_check;
DROP FUNCTION public.session_sync_reasons();
DROP FUNCTION public.session_sync_primary_student(jsonb);
DROP FUNCTION public.session_sync_home_location(jsonb);
DROP FUNCTION public.session_sync_location_problem(jsonb);
DROP FUNCTION public.session_sync_coordinate(jsonb);
DROP FUNCTION public.session_sync_uuid(text);
DROP TABLE public.session_sync_failures;
DROP TABLE public.session_sync_runs;
"""


def upgrade() -> None:
    run_snapshot(__file__, FILES, SHA256)


def downgrade() -> None:
    execute(DOWNGRADE)
