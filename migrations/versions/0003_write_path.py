"""session-sync 1.1: the write path's plan kept, its classification cheaper (CHANGELOG.md).

Replaces the routines and views of ``0003_write_path.sql`` after locking ``course_purchases`` and
``purchase_sessions`` SHARE ROW EXCLUSIVE (writes wait, well under a second; reads go on) and
``session_sync_dropped_keys`` ACCESS EXCLUSIVE (a run or a query of the views it replaces makes it
retry, holding nothing). The downgrade puts 1.0's back.

Revision ID: 0003_write_path
Revises: 0002_install
"""

from pathlib import Path

from session_sync.migration_sql import lock, run_script

revision = "0003_write_path"
down_revision = "0002_install"

HERE = Path(__file__).parent
SHA256 = "b47557de4f76b1bcde3d17344027e1fc9043a233c8d1c7389a613836a8e5441f"
DOWNGRADE_SHA256 = "e7b37d362a4fa64692ac47126f07800c692fe65632a97147abd43f8a2b4924cc"
LOCKS = {"public.course_purchases": "SHARE ROW EXCLUSIVE", "public.purchase_sessions": "SHARE ROW EXCLUSIVE",
         "public.session_sync_dropped_keys": "ACCESS EXCLUSIVE"}


def upgrade() -> None:
    lock(LOCKS)
    run_script(HERE / "0003_write_path.sql", SHA256)


def downgrade() -> None:
    lock(LOCKS)
    run_script(HERE / "0003_write_path_downgrade.sql", DOWNGRADE_SHA256)
