"""Operator surface: the guide's checks as views and a function, and the batched backfill.

Views ``session_sync_pending``, ``session_sync_verify``, ``session_sync_open_failures``;
function ``session_sync_diagnose(uuid)``; procedure ``sync_all_sessions_batched``.

Revision ID: 0006_operator_surface
Revises: 0005_sync_triggers
"""

from session_sync.migration_sql import execute, run_snapshot

revision = "0006_operator_surface"
down_revision = "0005_sync_triggers"
branch_labels = None
depends_on = None

FILES = [
    "session_sync_pending.sql",
    "session_sync_verify.sql",
    "session_sync_open_failures.sql",
    "session_sync_diagnose.sql",
    "sync_all_sessions_batched.sql",
]
SHA256 = 'a7220ad224d727ab87d2fd4954e483836a0845c81449d49becc56d58b4b044cf'

DOWNGRADE = r"""
DROP PROCEDURE public.sync_all_sessions_batched(integer, boolean, bigint);
DROP FUNCTION public.session_sync_diagnose(uuid);
DROP VIEW public.session_sync_open_failures;
DROP VIEW public.session_sync_verify;
DROP VIEW public.session_sync_pending;
"""


def upgrade() -> None:
    run_snapshot(__file__, FILES, SHA256)


def downgrade() -> None:
    execute(DOWNGRADE)
