"""Indexes the sync's lookups need, built CONCURRENTLY so a live platform keeps writing.

- purchase_sessions (purchase_id): the sessions of a purchase (the platform has no FK there).
- trainer_allocations (student_id, trainer_id, course_id) for approved/active rows: the
  allocation lookup for each purchase.

``IF NOT EXISTS`` keeps a rerun harmless. A CONCURRENTLY build that was interrupted leaves
an INVALID index behind: drop it and rerun ``alembic upgrade head``.

Revision ID: 0003_sync_indexes
Revises: 0002_sync_core
"""

from alembic import op

from session_sync.migration_sql import execute

revision = "0003_sync_indexes"
down_revision = "0002_sync_core"
branch_labels = None
depends_on = None

INDEXES = [
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS session_sync_purchase_sessions_purchase_idx"
    " ON public.purchase_sessions (purchase_id)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS session_sync_trainer_allocations_lookup_idx"
    " ON public.trainer_allocations (student_id, trainer_id, course_id)"
    " WHERE status IN ('approved', 'active')",
]

DROPS = [
    "DROP INDEX CONCURRENTLY IF EXISTS public.session_sync_trainer_allocations_lookup_idx",
    "DROP INDEX CONCURRENTLY IF EXISTS public.session_sync_purchase_sessions_purchase_idx",
]


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for statement in INDEXES:
            execute(statement)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for statement in DROPS:
            execute(statement)
