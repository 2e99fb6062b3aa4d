"""`session-sync demo`: the guide's problem and its fix, on a throwaway embedded PostgreSQL."""

from __future__ import annotations

import psycopg
from rich.console import Console

from session_sync import embedded, migrate
from session_sync.connection import UsageError, connect
from session_sync.output import heading, show_rows

# The demo's data set, generated set-based in SQL: purchases of 10, 20 or 30 sessions. Some were synced
# when they were assigned; most are older purchases whose purchase_sessions never reached
# tutoring_sessions (the guide's problem); a few are half synced, a few were rescheduled after syncing
# (drifted), some have garbage coordinates or no trainer yet. "%%" is the modulo operator.
LOAD = """
WITH src AS (
    SELECT n,
           gen_random_uuid() AS id,
           (ARRAY[10, 20, 30])[1 + n %% 3] AS total_sessions,
           CASE WHEN n %% 4 = 0 THEN 'SUNDAY_ONLY' ELSE 'WEEKDAY_DAILY' END AS delivery_mode,
           date '2025-09-01' + (n %% 60) AS start_date,
           (ARRAY['07:00', '16:00', '17:30', '19:00'])[1 + n %% 4] AS slot,
           CASE
               WHEN n %% 50 = 3 THEN '{"latitude": "12abc", "longitude": "77.59", "address": "Indiranagar"}'::jsonb
               WHEN n %% 50 = 18 THEN '{"latitude": "Infinity", "longitude": 72.87}'::jsonb
               WHEN n %% 50 = 33 THEN '{"latitude": 123.4, "longitude": 72.87}'::jsonb
               WHEN n %% 50 = 48 THEN '{"address": "Koramangala"}'::jsonb
               WHEN n %% 7 = 0 THEN jsonb_build_object('latitude', (12.9 + (n %% 50) / 1000.0)::text,
                                                      'longitude', (77.5 + (n %% 30) / 1000.0)::text,
                                                      'address', 'Flat ' || n || ', HSR Layout')
               ELSE jsonb_build_object('latitude', 19.0 + (n %% 90) / 1000.0, 'longitude', 72.8 + (n %% 70) / 1000.0,
                                       'address', n || ' Hill Road, Bandra')
           END AS location,
           n %% 20 = 0 AS unassigned
    FROM generate_series(1, %(purchases)s) AS n
), purchases AS (
    INSERT INTO public.course_purchases (id, booking_id, course_id, class_type, total_sessions, delivery_mode, start_date,
        preferred_time_slot, student_location, students, trainer_id, status, created_at)
    SELECT id, gen_random_uuid(),
           ('00000000-0000-4000-8000-00000000000' || (n %% 5))::uuid,
           (ARRAY['ONE_ON_ONE', 'ONE_ON_TWO', 'ONE_ON_THREE', 'HYBRID'])[1 + n %% 4],
           total_sessions, delivery_mode, start_date, slot, location,
           jsonb_build_array(jsonb_build_object('id', gen_random_uuid(), 'name', 'Student ' || n,
                                                'email', 'student' || n || '@example.com', 'phone', '+91 90000 ' || lpad(n::text, 5, '0'))),
           CASE WHEN unassigned THEN NULL ELSE gen_random_uuid() END,
           CASE WHEN unassigned THEN 'WAITLISTED' ELSE 'ASSIGNED' END,
           now() - (400 - n %% 400) * interval '1 day'
    FROM src
    RETURNING id, booking_id, total_sessions, delivery_mode, start_date, preferred_time_slot
)
INSERT INTO public.purchase_sessions (purchase_id, booking_id, session_number, session_date, session_time, session_type,
                               status, metadata)
SELECT p.id, p.booking_id, s,
       CASE WHEN p.delivery_mode = 'SUNDAY_ONLY' THEN p.start_date + 7 * (s - 1) ELSE p.start_date + (s - 1) END,
       p.preferred_time_slot,
       CASE WHEN s %% 5 = 0 THEN 'online' ELSE 'offline' END,
       CASE WHEN s <= 3 THEN 'completed' ELSE 'scheduled' END,
       jsonb_build_object('isBookable', s > 3, 'isFixedTime', true)
FROM purchases p, generate_series(1, p.total_sessions) AS s
"""

# The assigned purchases with usable coordinates, numbered. Of every ten, the 1st, 2nd and 5th were synced
# when assigned; then the 5th lost its sessions past the 5th (half synced), the 2nd's 8th was rescheduled.
NUMBERED = """
WITH numbered AS (
    SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM public.course_purchases
    WHERE status = 'ASSIGNED' AND session_sync.session_sync_location_problem(student_location) IS NULL
)
"""
PRESYNC = NUMBERED + "SELECT count(*) FROM numbered, public.sync_purchase_sessions(numbered.id) WHERE n % 10 IN (1, 2, 5)"
AFTERMATH = NUMBERED.rstrip() + """, half AS (
    DELETE FROM public.tutoring_sessions t USING numbered
    WHERE numbered.n % 10 = 5 AND t.metadata->>'purchaseId' = numbered.id::text
      AND (t.metadata->>'sessionNumber')::int > 5
)
UPDATE public.purchase_sessions ps SET session_date = session_date + 2, session_time = '18:00', status = 'rescheduled'
FROM numbered WHERE numbered.n % 10 = 2 AND ps.purchase_id = numbered.id AND ps.session_number = 8
"""


# The guide's "Testing the Sync" query, verbatim but for the tables' schema (public.<name>, as in every
# statement of the command line).
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


# One pass over the sessions' states, per purchase; eligibility as the package defines it
# (session_sync_purchase_check.eligible).
COUNTS = """
SELECT count(*) FILTER (WHERE p.missing) AS with_missing,
       count(*) FILTER (WHERE p.missing AND p.failing) AS failing_missing,
       count(*) FILTER (WHERE p.drifted AND NOT p.missing) AS drifted_only,
       count(*) FILTER (WHERE p.failing) AS failing,
       (SELECT count(*) FROM public.session_sync_purchase_check c WHERE c.eligible) AS eligible,
       (SELECT count(*) FROM public.session_sync_queue q
        JOIN public.session_sync_purchase_check c ON c.purchase_id = q.purchase_id
        WHERE NOT c.eligible) AS queued_not_assigned,
       (SELECT v.protected FROM public.session_sync_verify v) AS protected
FROM (SELECT s.purchase_id, bool_or(s.state = 'missing') AS missing, bool_or(s.state = 'drifted') AS drifted,
             bool_or(s.reason IS NOT NULL) AS failing
      FROM public.session_sync_session_state s
      GROUP BY s.purchase_id) p
"""


def _counts(conn: psycopg.Connection) -> dict[str, int]:
    """The numbers the demo explains, from the package's views."""
    cur = conn.execute(COUNTS)
    return dict(zip([c.name for c in cur.description], cur.fetchone()))


def _has_purchases(conn: psycopg.Connection) -> bool:
    if conn.execute("SELECT pg_catalog.to_regclass('public.course_purchases') IS NULL").fetchone()[0]:
        return False
    return conn.execute("SELECT EXISTS (SELECT FROM public.course_purchases)").fetchone()[0]


def run(console: Console, url: str | None, purchases: int) -> int:
    if url is None:
        console.print("Starting a throwaway embedded PostgreSQL...")
        try:
            url = embedded.start_temporary("session-sync-demo-")
        except Exception as error:  # the embedded server's failures are varied; say it in one line
            raise UsageError(f"could not start a throwaway embedded PostgreSQL: {error}") from error
    conn = connect(url)
    with conn:
        if _has_purchases(conn):  # checked before anything is installed in it
            raise UsageError("the demo loads its own data and needs an empty database; this one has purchases "
                             "(nothing was changed)")
        console.print("Migrating it to head (alembic upgrade head)...")
        migrate.upgrade(url)
        with conn.transaction():  # these purchases predate the sync: loaded as the platform had them, triggers off
            conn.execute("SET LOCAL session_sync.enabled = off")
            conn.execute(LOAD, {"purchases": purchases})
            conn.execute(PRESYNC)
            conn.execute(AFTERMATH)
        before = _counts(conn)
        heading(console, "Before: the guide's problem")
        show_rows(console, conn, GUIDE_PENDING, "Guide, Option 3: purchases needing sync")
        console.print(
            f"Option 3 counts the {before['with_missing']} purchases that have fewer tutoring sessions than "
            f"purchase sessions. It misses {before['drifted_only']} more whose sessions all exist but differ "
            f"from their purchase sessions (drifted), and it cannot tell that {before['failing']} assigned "
            "purchases cannot be synced at all (bad data, below).")
        show_rows(console, conn, GUIDE_VERIFY, "Guide, Testing the Sync: counts (they should match)")
        show_rows(console, conn, "SELECT * FROM public.session_sync_verify", "SELECT * FROM session_sync_verify")
        console.print(
            f"missing and drifted are purchase sessions of the {before['eligible']} assigned purchases; protected "
            f"counts the {before['protected']} tutoring sessions that already happened (completed, disputed, ...), "
            "which no sync ever changes.")
        heading(console, "SELECT * FROM sync_all_sessions()")
        show_rows(console, conn, "SELECT * FROM public.sync_all_sessions(p_source => 'demo')", "Run summary")
        run = conn.execute("SELECT purchases_examined, purchases_synced, purchases_in_sync, purchases_failed, "
                           "purchases_deferred, sessions_created, sessions_updated FROM public.session_sync_runs "
                           "ORDER BY run_id DESC LIMIT 1").fetchone()
        examined, synced, in_sync, failed, deferred, created, updated = run
        console.print(
            f"The run examined the {examined} purchases the load queued (every purchase it wrote): {synced} synced "
            f"(the {before['with_missing'] - before['failing_missing']} of Option 3 that could be, plus "
            f"{synced - (before['with_missing'] - before['failing_missing'])} with drifted sessions only), "
            f"{in_sync} with nothing to write ({in_sync - before['queued_not_assigned']} already in sync, "
            f"{before['queued_not_assigned']} not assigned yet), {failed} failed, {deferred} deferred: "
            f"{synced} + {in_sync} + {failed} + {deferred} = {examined}. It created {created} tutoring sessions "
            f"and updated {updated}.")
        after = _counts(conn)
        heading(console, "After")
        show_rows(console, conn, GUIDE_PENDING, "Guide, Option 3: purchases needing sync")
        show_rows(console, conn, GUIDE_VERIFY, "Guide, Testing the Sync: counts")
        show_rows(console, conn, "SELECT * FROM public.session_sync_verify", "SELECT * FROM session_sync_verify "
                  "(missing and drifted left: the failed purchases below)")
        console.print(
            f"Left for Option 3: the {after['with_missing']} failed purchases that have missing sessions. "
            f"protected grew from {before['protected']} to {after['protected']}: "
            f"{after['protected'] - before['protected']} of the {created} sessions created are past sessions, "
            "copied as completed (the mapping keeps completed and cancelled), and protected from now on.")
        show_rows(console, conn, """
            SELECT f.reason, count(*) AS purchases, min(f.message) AS example
            FROM public.session_sync_failures f
            WHERE f.run_id = (SELECT max(run_id) FROM public.session_sync_runs)
            GROUP BY f.reason ORDER BY f.reason""", "Purchases that could not be synced (left untouched), by reason")
        show_rows(console, conn, """
            SELECT p.status, count(*) AS purchases FROM public.course_purchases p
            WHERE p.trainer_id IS NULL GROUP BY 1""", "Not synced by design: no trainer assigned yet")
        console.print(f"The purchase_sessions count above includes the {failed} failed purchases' sessions; "
                      "fix their data and run sync again.")
    return 0


