"""session-sync 1.1: the write path's plan kept, its classification cheaper (CHANGELOG.md).

Replaces the routines and views of ``0003_write_path.sql`` after locking ``course_purchases`` and
``purchase_sessions`` SHARE ROW EXCLUSIVE (their COMMIT triggers call the write): their writes wait
for this transaction (well under a second), reads go on. The downgrade puts 1.0's back.

Revision ID: 0003_write_path
Revises: 0002_install
"""

from pathlib import Path

from session_sync.migration_sql import lock, run_script

revision = "0003_write_path"
down_revision = "0002_install"
branch_labels = None
depends_on = None

HERE = Path(__file__).parent
SHA256 = "7985ef9dbc9104602deea9cc78d60fb7f1f5fa0bf97d9de0ed3d29df45fa640b"
DOWNGRADE_SHA256 = "e7b37d362a4fa64692ac47126f07800c692fe65632a97147abd43f8a2b4924cc"
LOCKS = {"public.course_purchases": "SHARE ROW EXCLUSIVE", "public.purchase_sessions": "SHARE ROW EXCLUSIVE"}


def upgrade() -> None:
    lock(LOCKS)
    run_script(HERE / "0003_write_path.sql", SHA256)


def downgrade() -> None:
    lock(LOCKS)
    run_script(HERE / "0003_write_path_downgrade.sql", DOWNGRADE_SHA256)
