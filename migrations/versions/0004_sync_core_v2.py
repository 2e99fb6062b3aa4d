"""Core sync, second version: what 0002 installed, made faster, safer and concurrent.

Replaces (from the frozen copy in ``0004_sync_core_v2/``):
- ``session_sync_home_location``: STABLE (it was IMMUTABLE over a STABLE body, so never inlined);
- views ``session_sync_purchase_check`` and ``session_sync_session_state``: per-purchase values
  and the per-session state computed once (same columns);
- ``session_sync_apply``: row locks per purchase in id order, writes in key order, optional
  lists of the purchases with missing / drifted sessions (the one-argument version is dropped);
- ``session_sync_process``: one evaluation of the state per row; lock timeouts, deadlocks and
  serialization failures cut the run off instead of being recorded as a purchase's failure;
- ``sync_purchase_sessions``: a row lock instead of an advisory lock;
- all the plpgsql functions above: SECURITY DEFINER with a fixed search_path.

The downgrade reinstalls 0002's versions from 0002's own frozen folder.

Revision ID: 0004_sync_core_v2
Revises: 0003_sync_indexes
"""

from pathlib import Path

from session_sync.migration_sql import execute, execute_files, run_snapshot

revision = "0004_sync_core_v2"
down_revision = "0003_sync_indexes"
branch_labels = None
depends_on = None

FILES = [
    "drop_session_sync_apply_v1.sql",
    "session_sync_home_location.sql",
    "session_sync_purchase_check.sql",
    "session_sync_session_state.sql",
    "session_sync_failure_message.sql",
    "session_sync_raise.sql",
    "session_sync_apply.sql",
    "session_sync_process.sql",
    "sync_all_sessions.sql",
    "sync_purchase_sessions.sql",
]
SHA256 = 'f317171f91a4e59e6d8c7ca1cc08232c8426f5440351f38af3a2a874771cf1d2'

# What 0002 installed for the same objects, in dependency order.
CORE_V1 = Path(__file__).with_name("0002_sync_core")
CORE_V1_FILES = [
    "session_sync_home_location.sql",
    "session_sync_purchase_check.sql",
    "session_sync_session_state.sql",
    "session_sync_failure_message.sql",
    "session_sync_raise.sql",
    "session_sync_apply.sql",
    "session_sync_process.sql",
    "sync_all_sessions.sql",
    "sync_purchase_sessions.sql",
]


def upgrade() -> None:
    run_snapshot(__file__, FILES, SHA256)


def downgrade() -> None:
    execute("DROP FUNCTION public.session_sync_apply(uuid[], uuid[], uuid[])")
    execute_files(CORE_V1, CORE_V1_FILES)
