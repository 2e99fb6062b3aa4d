"""session-sync 1.1: the write path at the floor (issue 23).

Replaces the routines and views that ``0003_write_path.sql`` holds (CREATE OR REPLACE, views only
gaining columns), after locking ``course_purchases`` and ``purchase_sessions`` SHARE ROW EXCLUSIVE
(their COMMIT triggers call the write): their writes wait for this transaction (well under a
second), reads go on. The downgrade puts the 1.0 definitions back (``0003_write_path_downgrade.sql``).

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
SHA256 = "e6cdc5c50f414444ab8e068f7cec0389cfeadc3c08b85e8bbdd7cc467503387e"
DOWNGRADE_SHA256 = "e7b37d362a4fa64692ac47126f07800c692fe65632a97147abd43f8a2b4924cc"
LOCKS = {"public.course_purchases": "SHARE ROW EXCLUSIVE", "public.purchase_sessions": "SHARE ROW EXCLUSIVE"}


def upgrade() -> None:
    lock(LOCKS)
    run_script(HERE / "0003_write_path.sql", SHA256)


def downgrade() -> None:
    lock(LOCKS)
    run_script(HERE / "0003_write_path_downgrade.sql", DOWNGRADE_SHA256)
