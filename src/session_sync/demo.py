"""`session-sync demo`: the guide's problem and its fix, on a throwaway embedded PostgreSQL."""

from __future__ import annotations

from rich.console import Console

from session_sync import demo_data, embedded, migrate
from session_sync.connection import UsageError, connect
from session_sync.output import heading, show_rows

# The guide's "Testing the Sync" query, verbatim but for the schema: like every statement of the
# command line, the demo's statements name the package's and the platform's tables as public.<name> (its
# connection's search_path is pg_catalog, pg_temp).
GUIDE_VERIFY = """
SELECT 'purchase_sessions' as table_name, COUNT(*) as count
FROM public.purchase_sessions ps JOIN public.course_purchases cp ON ps.purchase_id = cp.id
WHERE cp.trainer_id IS NOT NULL
UNION ALL
SELECT 'tutoring_sessions' as table_name, COUNT(*) as count
FROM public.tutoring_sessions ts WHERE ts.metadata->>'purchaseId' IS NOT NULL
"""

# The guide's Option 3 query, summarised.
GUIDE_PENDING = """
SELECT count(*) AS purchases_needing_sync, coalesce(sum(ps - ts), 0) AS sessions_missing FROM (
    SELECT cp.id, COUNT(ps.id) AS ps, COUNT(ts.id) AS ts
    FROM public.course_purchases cp
    LEFT JOIN public.purchase_sessions ps ON ps.purchase_id = cp.id
    LEFT JOIN public.tutoring_sessions ts ON ts.id = ps.id
    WHERE cp.trainer_id IS NOT NULL AND cp.status = 'ASSIGNED'
    GROUP BY cp.id HAVING COUNT(ps.id) > COUNT(ts.id)) pending
"""


def run(console: Console, url: str | None, purchases: int) -> int:
    if url is None:
        console.print("Starting a throwaway embedded PostgreSQL...")
        try:
            url = embedded.start_temporary("session-sync-demo-")
        except Exception as error:  # the embedded server's failures are varied; say it in one line
            raise UsageError(f"could not start a throwaway embedded PostgreSQL: {error}") from error
    conn = connect(url)
    with conn:
        console.print("Migrating it to head (alembic upgrade head)...")
        migrate.upgrade(url)
        if conn.execute("SELECT EXISTS (SELECT 1 FROM public.course_purchases)").fetchone()[0]:
            raise UsageError("the demo loads its own data and needs an empty database; this one has purchases")
        demo_data.load(conn, purchases)
        heading(console, "Before: the guide's problem")
        show_rows(console, conn, GUIDE_PENDING, "Guide, Option 3: purchases needing sync")
        show_rows(console, conn, GUIDE_VERIFY, "Guide, Testing the Sync: counts (they should match)")
        show_rows(console, conn, "SELECT * FROM public.session_sync_verify", "SELECT * FROM session_sync_verify")
        heading(console, "SELECT * FROM sync_all_sessions()")
        show_rows(console, conn, "SELECT * FROM public.sync_all_sessions(p_source => 'demo')", "Run summary")
        heading(console, "After")
        show_rows(console, conn, GUIDE_PENDING, "Guide, Option 3: purchases needing sync")
        show_rows(console, conn, GUIDE_VERIFY, "Guide, Testing the Sync: counts")
        show_rows(console, conn, "SELECT * FROM public.session_sync_verify", "SELECT * FROM session_sync_verify "
                  "(missing and drifted left: the failed purchases below)")
        show_rows(console, conn, """
            SELECT f.reason, count(*) AS purchases, min(f.message) AS example
            FROM public.session_sync_failures f
            WHERE f.run_id = (SELECT max(run_id) FROM public.session_sync_runs)
            GROUP BY f.reason ORDER BY f.reason""", "Purchases that could not be synced (left untouched), by reason")
        show_rows(console, conn, """
            SELECT p.status, count(*) AS purchases FROM public.course_purchases p
            WHERE p.trainer_id IS NULL GROUP BY 1""", "Not synced by design: no trainer assigned yet")
        failed = conn.execute("SELECT purchases_failed FROM public.session_sync_runs ORDER BY run_id DESC LIMIT 1").fetchone()[0]
        console.print(f"The purchase_sessions count above includes the {failed} failed purchases' sessions; "
                      "fix their data and run sync again.")
    return 0


