"""Change tracking: sync_all_sessions() examines only the purchases writes may have put out of sync.

Adds table ``session_sync_queue`` and function ``session_sync_enqueue(uuid[])``; tracking
triggers on ``tutoring_sessions`` (row-level, skipped for the sync's own writes) and
``trainer_allocations`` (statement-level); the triggers on ``course_purchases`` and
``purchase_sessions`` now queue their purchases when ``session_sync.enabled`` is off instead
of forgetting them. ``session_sync_process`` reads the queue, creates allocations in one
statement and classifies and writes every session in one more; ``session_sync_session_state``
tests metadata drift without building JSON per row (``session_sync_expected`` gains the
purchase session's own booking_id, session_number, session_type and metadata as its last
columns); the batched backfill works through the queue. Every eligible purchase starts queued.

An index on ``course_purchases (trainer_id, course_id)`` (built CONCURRENTLY) serves the
allocation trigger's lookup of the purchases an allocation change concerns.

The downgrade reinstalls the earlier versions from the frozen folders of 0002, 0004, 0005 and
0006 and the grants 0007 made on the views it recreates.

Revision ID: 0008_change_tracking
Revises: 0007_privileges
"""

from pathlib import Path

from alembic import op

from session_sync.migration_sql import execute, execute_files, run_snapshot

revision = "0008_change_tracking"
down_revision = "0007_privileges"
branch_labels = None
depends_on = None

FILES = [
    'session_sync_expected.sql',
    'session_sync_session_state.sql',
    'session_sync_queue.sql',
    'session_sync_enqueue.sql',
    'session_sync_process.sql',
    'session_sync_trigger_sync.sql',
    'session_sync_course_purchases_trigger.sql',
    'session_sync_purchase_sessions_trigger.sql',
    'session_sync_tutoring_sessions_trigger.sql',
    'session_sync_allocations_trigger.sql',
    'sync_all_sessions_batched.sql',
    'sync_all_sessions.sql',
    'session_sync_tracking_triggers.sql',
]
SHA256 = '61c6b6eb3fc2adf7a32ad0a88cd60104bc6cb02d4ff375d1bfb162bb935e8f19'

NEW_ROUTINES = [
    "FUNCTION public.session_sync_enqueue(uuid[])",
    "FUNCTION public.session_sync_tutoring_sessions_trigger()",
    "FUNCTION public.session_sync_allocations_trigger()",
]

INDEX = ("CREATE INDEX CONCURRENTLY IF NOT EXISTS session_sync_course_purchases_trainer_idx"
         " ON public.course_purchases (trainer_id, course_id)")
DROP_INDEX = "DROP INDEX CONCURRENTLY IF EXISTS public.session_sync_course_purchases_trainer_idx"

VERSIONS = Path(__file__).parent
# What stood before this revision, folder by folder, in dependency order.
EARLIER = [
    ("0002_sync_core", ["session_sync_expected.sql"]),
    ("0004_sync_core_v2", ["session_sync_session_state.sql", "session_sync_process.sql"]),
    ("0005_sync_triggers", ["session_sync_course_purchases_trigger.sql",
                            "session_sync_purchase_sessions_trigger.sql"]),
    ("0006_operator_surface", ["session_sync_pending.sql", "session_sync_verify.sql",
                               "session_sync_open_failures.sql", "sync_all_sessions_batched.sql"]),
]
RECREATED_VIEWS = ("public.session_sync_expected, public.session_sync_session_state, "
                   "public.session_sync_pending, public.session_sync_verify, public.session_sync_open_failures")

DOWNGRADE = r"""
DROP TRIGGER session_sync_allocations_update ON public.trainer_allocations;
DROP TRIGGER session_sync_allocations_insert ON public.trainer_allocations;
DROP TRIGGER session_sync_tutoring_truncate ON public.tutoring_sessions;
DROP TRIGGER session_sync_tutoring_update ON public.tutoring_sessions;
DROP TRIGGER session_sync_tutoring_insert_delete ON public.tutoring_sessions;
DROP FUNCTION public.session_sync_allocations_trigger();
DROP FUNCTION public.session_sync_tutoring_sessions_trigger();
-- session_sync_expected loses its last columns: it and the views built on it are recreated.
DROP VIEW public.session_sync_open_failures, public.session_sync_verify, public.session_sync_pending,
    public.session_sync_session_state, public.session_sync_expected;
"""


def upgrade() -> None:
    with op.get_context().autocommit_block():
        execute(INDEX)
    run_snapshot(__file__, FILES, SHA256)
    for routine in NEW_ROUTINES:
        execute(f"REVOKE EXECUTE ON {routine} FROM PUBLIC")
        execute(f"GRANT EXECUTE ON {routine} TO session_sync_runner")
    execute("GRANT SELECT ON public.session_sync_queue TO session_sync_runner")


def downgrade() -> None:
    execute(DOWNGRADE)
    for folder, names in EARLIER:
        execute_files(VERSIONS / folder, names)
    execute(f"GRANT SELECT ON {RECREATED_VIEWS} TO session_sync_runner")
    execute("DROP FUNCTION public.session_sync_enqueue(uuid[])")
    execute("DROP TABLE public.session_sync_queue")
    with op.get_context().autocommit_block():
        execute(DROP_INDEX)
