"""Sync at assignment time: statement-level triggers on course_purchases and purchase_sessions.

Settings: ``session_sync.enabled = off`` skips the triggers (bulk loads; catch up with
``sync_all_sessions()``); ``session_sync.strict = on`` makes a purchase that cannot be
synced fail the write instead of being recorded in ``session_sync_failures``.

Revision ID: 0005_sync_triggers
Revises: 0004_sync_core_v2
"""

from session_sync.migration_sql import execute, run_snapshot

revision = "0005_sync_triggers"
down_revision = "0004_sync_core_v2"
branch_labels = None
depends_on = None

FILES = [
    "session_sync_setting.sql",
    "session_sync_trigger_sync.sql",
    "session_sync_course_purchases_trigger.sql",
    "session_sync_purchase_sessions_trigger.sql",
    "session_sync_triggers.sql",
]
SHA256 = '251185a1e5c1a04effbd52c281703a1d654a42107c490ed58d8e9016638f08e7'

DOWNGRADE = r"""
DROP TRIGGER session_sync_sessions_update ON public.purchase_sessions;
DROP TRIGGER session_sync_sessions_insert ON public.purchase_sessions;
DROP TRIGGER session_sync_purchases_update ON public.course_purchases;
DROP TRIGGER session_sync_purchases_insert ON public.course_purchases;
DROP FUNCTION public.session_sync_purchase_sessions_trigger();
DROP FUNCTION public.session_sync_course_purchases_trigger();
DROP FUNCTION public.session_sync_trigger_sync(uuid[]);
DROP FUNCTION public.session_sync_setting(text, boolean);
"""


def upgrade() -> None:
    run_snapshot(__file__, FILES, SHA256)


def downgrade() -> None:
    execute(DOWNGRADE)
