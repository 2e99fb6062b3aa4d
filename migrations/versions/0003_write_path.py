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
SHA256 = "59c987bd87c2d05b4cc9fbf891550cb28c729b4ad846756fb45b89539efe6505"
DOWNGRADE_SHA256 = "1b6209f2e8fd479b5df26e6b172d6afe81523573a4c2646de3228dd3e82e452d"
LOCKS = {"public.course_purchases": "SHARE ROW EXCLUSIVE", "public.purchase_sessions": "SHARE ROW EXCLUSIVE"}


def upgrade() -> None:
    lock(LOCKS)
    run_script(HERE / "0003_write_path.sql", SHA256)


def downgrade() -> None:
    lock(LOCKS)
    run_script(HERE / "0003_write_path_downgrade.sql", DOWNGRADE_SHA256)
