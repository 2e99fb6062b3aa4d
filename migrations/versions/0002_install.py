"""session-sync 1.0: install the package (its downgrade is the uninstall).

Runs ``0002_install.sql`` (built from ``sql/`` by ``python -m session_sync.build``, frozen, checked
by its SHA256) after locking the four platform tables ``SHARE ROW EXCLUSIVE``, all at once or none
(the lock helper): their writes wait for the install's transaction (a second or two, plus the index
builds on large tables: docs/operations.md builds them first, CONCURRENTLY), reads go on. The
downgrade runs ``0002_uninstall.sql`` after locking them and the package's tables ``ACCESS
EXCLUSIVE``: the platform's tables, columns and rows are untouched; the role ``session_sync_runner``
stays (cluster-wide).

Revision ID: 0002_install
Revises: 0001_platform_baseline
"""

from pathlib import Path

from session_sync.migration_sql import execute, lock, run_script

revision = "0002_install"
down_revision = "0001_platform_baseline"
branch_labels = None
depends_on = None

HERE = Path(__file__).parent
INSTALL_SHA256 = "98c0d36993722e925da536296b1cee313d8c066845775328f779e47f1e6e8343"
UNINSTALL_SHA256 = "c5cc542ed02522fb7d6e109a1fbe418fd7d441976c8c38fd6b25be048a93a75a"
PLATFORM = ["public.course_purchases", "public.purchase_sessions", "public.tutoring_sessions",
            "public.trainer_allocations"]
PACKAGE_TABLES = ["public.session_sync_changes", "public.session_sync_dropped_keys", "public.session_sync_failures",
                  "public.session_sync_runs", "public.session_sync_locks"]


def upgrade() -> None:
    lock({name: "SHARE ROW EXCLUSIVE" for name in PLATFORM})
    run_script(HERE / "0002_install.sql", INSTALL_SHA256)
    # What the platform wrote before is unknown: every eligible purchase starts queued, so the
    # first sync_all_sessions() or backfill examines them all.
    execute("SELECT public.session_sync_enqueue()")


def downgrade() -> None:
    lock({name: "ACCESS EXCLUSIVE" for name in PLATFORM + PACKAGE_TABLES})
    run_script(HERE / "0002_uninstall.sql", UNINSTALL_SHA256)
