"""session-sync latency benchmark: what the sync adds to one platform write.

    python bench/latency.py                                  # 200,000 sessions, 150 transactions per variant
    python bench/latency.py --sessions 200000 1000000 --transactions 150
    python bench/latency.py --apply-sql sql/functions/session_sync_write.sql ...   # measure edited sources

--apply-sql re-runs the given SQL source files (CREATE OR REPLACE ..., in the order given) on the
database right after it is migrated to head, before the data is generated and synced, so that the
figures are those of the sources as edited, not of the frozen revisions (the bare clone is
downgraded to 0001 and keeps none of them).

The booking service's auto-assignment writes, in one transaction, a purchase (ASSIGNED,
trainer set) and its 20 purchase sessions, then COMMITs; today it also runs its per-session
sync loop in that transaction. Two shapes of that transaction are timed:

    single   INSERT the purchase, then 20 single-row INSERTs (as many ORMs write)
    multi    INSERT the purchase, then one 20-row INSERT

each in four variants, on clones of one generated data set:

    bare     the platform without the package (a clone downgraded to revision 0001)
    loop     bare, plus the platform's own sync loop (bench/peer.py) inside the transaction
    ours     the package at head, triggers on
    off      the package at head, SET session_sync.enabled = off (the triggers only queue)
    floor    bare plus the package's indexes, and in the same transaction the writes the sync must
             make, written by hand as one statement (FLOOR_ASSIGN): the allocation and the 20
             tutoring sessions, with no checks at all. What PostgreSQL needs to write the rows;
             no sync can add less than floor - bare.

and two single statements in autocommit, bare against floor against ours: rescheduling one synced session,
and assigning a waitlisted purchase of 20 sessions. Every statement is prepared (plans warm,
as on a pooled connection); variants take turns, transaction by transaction, so that drift of
the machine hits them alike. Prints p50 and p95 in milliseconds and the ratios of the issue's
goals (ours / bare <= 2, loop / ours >= 5, single statements + <= 0.3 ms); writes JSON to
bench/results/latency-*.json. Speed is never asserted in tests; it is measured here.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from peer import peer_sync  # noqa: E402
from run import Server  # noqa: E402
from workload import generate  # noqa: E402

from session_sync import embedded, migrate  # noqa: E402
from session_sync.urls import libpq_url  # noqa: E402

INSERT_PURCHASE = """
INSERT INTO course_purchases (id, booking_id, course_id, class_type, total_sessions, delivery_mode, start_date,
    preferred_time_slot, student_location, students, trainer_id, status)
VALUES (%s, %s, %s, 'ONE_ON_ONE', 20, 'WEEKDAY_DAILY', '2026-03-02', '16:00',
        '{"latitude": 19.07, "longitude": 72.87, "address": "1 Sea Road"}', %s, %s, 'ASSIGNED')
"""
INSERT_SESSION = """
INSERT INTO purchase_sessions (id, purchase_id, booking_id, session_number, session_date, session_time, session_type)
VALUES (%s, %s, %s, %s, %s, '16:00', 'offline')
"""
INSERT_SESSIONS = """
INSERT INTO purchase_sessions (id, purchase_id, booking_id, session_number, session_date, session_time, session_type)
SELECT gen_random_uuid(), %s, %s, s, date '2026-03-02' + s, '16:00', 'offline' FROM generate_series(1, 20) AS s
"""
RESCHEDULE = "UPDATE purchase_sessions SET session_time = %s WHERE id = %s"
ASSIGN = "UPDATE course_purchases SET trainer_id = %s, status = 'ASSIGNED' WHERE id = %s"

# The floor: the rows the sync writes for one purchase, by hand, one statement, no checks (a new
# allocation for its new student and trainer, every session inserted).
FLOOR_ROWS = """
, allocation AS (
    INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status, allocated_at, metadata)
    SELECT (p.students->0->>'id')::uuid, p.trainer_id, p.course_id, (p.students->0->>'id')::uuid, 'approved', now(),
           jsonb_build_object('sessionCount', p.total_sessions, 'purchaseId', p.id, 'bookingId', p.booking_id)
    FROM purchase p
    RETURNING id, student_id, trainer_id, course_id
)
INSERT INTO tutoring_sessions (id, allocation_id, student_id, trainer_id, course_id, scheduled_date, scheduled_time,
                               duration, status, student_home_location, metadata)
SELECT ps.id, a.id, a.student_id, a.trainer_id, a.course_id, ps.session_date, ps.session_time, 40, 'scheduled',
       jsonb_build_object('latitude', (p.student_location->>'latitude')::numeric,
                          'longitude', (p.student_location->>'longitude')::numeric,
                          'address', p.student_location->'address'),
       coalesce(ps.metadata, '{}') || jsonb_build_object('purchaseId', p.id, 'bookingId', ps.booking_id,
                                                        'sessionNumber', ps.session_number,
                                                        'sessionType', ps.session_type)
FROM purchase p CROSS JOIN allocation a JOIN purchase_sessions ps ON ps.purchase_id = p.id
ON CONFLICT (id) DO NOTHING
"""
FLOOR_ASSIGN = "WITH purchase AS (SELECT * FROM course_purchases WHERE id = %s)" + FLOOR_ROWS
FLOOR_ASSIGN_WAITLISTED = ("WITH purchase AS (UPDATE course_purchases SET trainer_id = %s, status = 'ASSIGNED' "
                           "WHERE id = %s RETURNING *)" + FLOOR_ROWS)
FLOOR_RESCHEDULE = """
WITH moved AS (UPDATE purchase_sessions SET session_time = %(time)s WHERE id = %(id)s RETURNING id)
UPDATE tutoring_sessions SET scheduled_time = %(time)s, updated_at = now() WHERE id IN (SELECT id FROM moved)
"""


def assignment(conn: psycopg.Connection, shape: str, variant: str) -> float:
    pid, booking = uuid.uuid4(), uuid.uuid4()
    students = json.dumps([{"id": str(uuid.uuid4()), "name": "S"}])
    start = time.perf_counter()
    with conn.transaction():
        conn.execute(INSERT_PURCHASE, (pid, booking, uuid.uuid4(), students, uuid.uuid4()), prepare=True)
        if shape == "single":
            for number in range(1, 21):
                conn.execute(INSERT_SESSION, (uuid.uuid4(), pid, booking, number, f"2026-03-{number + 2:02d}"),
                             prepare=True)
        else:
            conn.execute(INSERT_SESSIONS, (pid, booking), prepare=True)
        if variant == "loop":
            peer_sync(conn, [pid])
        elif variant == "floor":
            conn.execute(FLOOR_ASSIGN, (pid,), prepare=True)
    return (time.perf_counter() - start) * 1000


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": statistics.median(ordered), "p95": ordered[max(int(len(ordered) * 0.95) - 1, 0)],
            "n": len(ordered)}


def apply_sql(url: str, files: list[Path], log: Callable[[str], None]) -> None:
    """Re-run SQL sources (CREATE OR REPLACE) on a migrated database, as the owner that migrated it."""
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            for path in files:
                conn.execute(path.read_text())
    log(f"applied {len(files)} SQL source file(s): {', '.join(str(p) for p in files)}")


def prepare_databases(server: Server, sessions: int, log: Callable[[str], None],
                      sql_files: list[Path] | None = None) -> dict[str, str]:
    template = f"latency_template_{sessions}"
    server.drop(template)
    server.admin(f'CREATE DATABASE "{template}"')
    migrate.upgrade(server.db_url(template))
    if sql_files:
        apply_sql(server.db_url(template), sql_files, log)
    with psycopg.connect(server.db_url(template), autocommit=True) as conn:
        start = time.perf_counter()
        counts = generate(conn, sessions)
        conn.execute("SET client_min_messages = warning")
        conn.execute("SELECT * FROM sync_all_sessions()")
        conn.execute("VACUUM ANALYZE")
        log(f"generated and synced {counts} in {time.perf_counter() - start:.1f}s")
    urls = {"ours": server.clone(template, f"latency_ours_{sessions}"),
            "bare": server.clone(template, f"latency_bare_{sessions}"),
            "floor": server.clone(template, f"latency_floor_{sessions}")}
    migrate.downgrade(urls["bare"], "0001_platform_baseline")
    migrate.downgrade(urls["floor"], "0001_platform_baseline")
    with psycopg.connect(urls["floor"], autocommit=True) as conn:
        for path in sorted((ROOT / "sql" / "indexes").glob("*.sql")):  # the floor reads by the same indexes
            conn.execute(path.read_text())
    for url in urls.values():
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    server.drop(template)
    return urls


def measure(server: Server, sessions: int, transactions: int, log: Callable[[str], None],
            sql_files: list[Path] | None = None) -> dict[str, Any]:
    urls = prepare_databases(server, sessions, log, sql_files)
    conns = {
        "bare": psycopg.connect(urls["bare"], autocommit=True),
        "loop": psycopg.connect(urls["bare"], autocommit=True),
        "ours": psycopg.connect(urls["ours"], autocommit=True),
        "off": psycopg.connect(urls["ours"], autocommit=True, options="-c session_sync.enabled=off"),
        "floor": psycopg.connect(urls["floor"], autocommit=True),
    }
    timings: dict[str, list[float]] = {}
    try:
        for shape in ("single", "multi"):
            for _ in range(10):  # warm-up: plans prepared, caches filled
                for name, conn in conns.items():
                    assignment(conn, shape, name)
            for _ in range(transactions):
                for name, conn in conns.items():
                    timings.setdefault(f"{shape}/{name}", []).append(assignment(conn, shape, name))
        singles = single_statements(urls, transactions)
        timings.update(singles)
    finally:
        for conn in conns.values():
            conn.close()
        for url in urls.values():
            server.drop(url.rsplit("/", 1)[1].split("?")[0])
    result: dict[str, Any] = {"sessions": sessions, "transactions": transactions,
                              "applied_sql": [str(p) for p in sql_files or []],
                              "figures": {k: percentiles(v) for k, v in timings.items()}}
    f = result["figures"]
    result["ratios"] = {
        "single: ours / bare (<= 2)": f["single/ours"]["p50"] / f["single/bare"]["p50"],
        "multi: ours / bare (<= 2)": f["multi/ours"]["p50"] / f["multi/bare"]["p50"],
        "single: loop / ours (>= 5)": f["single/loop"]["p50"] / f["single/ours"]["p50"],
        "multi: loop / ours (>= 5)": f["multi/loop"]["p50"] / f["multi/ours"]["p50"],
        "reschedule: ours - bare, ms (<= 0.3)": f["reschedule/ours"]["p50"] - f["reschedule/bare"]["p50"],
        "assign waitlisted: ours - bare, ms (<= 0.3)": f["assign/ours"]["p50"] - f["assign/bare"]["p50"],
        "single: floor / bare": f["single/floor"]["p50"] / f["single/bare"]["p50"],
        "multi: floor / bare": f["multi/floor"]["p50"] / f["multi/bare"]["p50"],
        "single: ours / floor": f["single/ours"]["p50"] / f["single/floor"]["p50"],
        "multi: ours / floor": f["multi/ours"]["p50"] / f["multi/floor"]["p50"],
        "reschedule: floor - bare, ms": f["reschedule/floor"]["p50"] - f["reschedule/bare"]["p50"],
        "assign waitlisted: floor - bare, ms": f["assign/floor"]["p50"] - f["assign/bare"]["p50"],
    }
    return result


def single_statements(urls: dict[str, str], transactions: int) -> dict[str, list[float]]:
    """One reschedule and one assignment of a waitlisted 20-session purchase, autocommit: bare, floor, ours."""
    timings: dict[str, list[float]] = {}
    conns = {name: psycopg.connect(urls[name], autocommit=True) for name in ("bare", "floor", "ours")}
    try:
        picks = {}
        for name, conn in conns.items():
            synced = [r[0] for r in conn.execute(
                "SELECT ps.id FROM purchase_sessions ps JOIN course_purchases p ON p.id = ps.purchase_id "
                "JOIN tutoring_sessions t ON t.id = ps.id WHERE t.status = 'scheduled' AND p.status = 'ASSIGNED' "
                "ORDER BY ps.id LIMIT %s", (transactions + 20,)).fetchall()]
            waiting = [r[0] for r in conn.execute(
                "SELECT p.id FROM course_purchases p WHERE p.status = 'WAITLISTED' AND p.total_sessions = 20 "
                "AND p.student_location->>'latitude' !~ '[a-z]' AND p.students->0->>'id' ~ '^[0-9a-f-]{36}$' "
                "ORDER BY p.id LIMIT %s",
                (transactions + 20,)).fetchall()]
            picks[name] = (synced, waiting)
        rounds = min(min(len(synced), len(waiting)) for synced, waiting in picks.values())
        for i in range(rounds):
            for name, conn in conns.items():
                synced, waiting = picks[name]
                new_time = random.choice(["07:15", "08:15", "09:15"])
                start = time.perf_counter()
                if name == "floor":
                    conn.execute(FLOOR_RESCHEDULE, {"time": new_time, "id": synced[i]}, prepare=True)
                else:
                    conn.execute(RESCHEDULE, (new_time, synced[i]), prepare=True)
                elapsed = (time.perf_counter() - start) * 1000
                if i >= 20:
                    timings.setdefault(f"reschedule/{name}", []).append(elapsed)
                start = time.perf_counter()
                conn.execute(FLOOR_ASSIGN_WAITLISTED if name == "floor" else ASSIGN, (uuid.uuid4(), waiting[i]),
                             prepare=True)
                elapsed = (time.perf_counter() - start) * 1000
                if i >= 20:
                    timings.setdefault(f"assign/{name}", []).append(elapsed)
    finally:
        for conn in conns.values():
            conn.close()
    return timings


def report(results: list[dict[str, Any]]) -> None:
    for result in results:
        print(f"\n== {result['sessions']:,} sessions, {result['transactions']} transactions per variant ==")
        print(f"{'variant':<22}{'p50 ms':>10}{'p95 ms':>10}")
        for name, figure in result["figures"].items():
            print(f"{name:<22}{figure['p50']:>10.3f}{figure['p95']:>10.3f}")
        for name, ratio in result["ratios"].items():
            print(f"  {name}: {ratio:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[200_000])
    parser.add_argument("--transactions", type=int, default=150)
    parser.add_argument("--database-url", help="a server of your own (creates and drops databases)")
    parser.add_argument("--apply-sql", nargs="+", type=Path, default=[], metavar="FILE",
                        help="SQL source files to re-run (in this order) after migrating to head")
    args = parser.parse_args(argv)
    sql_files = [p if p.is_absolute() else Path.cwd() / p for p in args.apply_sql]
    for path in sql_files:
        if not path.is_file():
            parser.error(f"--apply-sql: no such file: {path}")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    url = libpq_url(args.database_url) if args.database_url else embedded.start_temporary("session-sync-latency-")
    server = Server(url)
    results = [measure(server, sessions, args.transactions, log, sql_files) for sessions in args.sessions]
    report(results)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"latency-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    (out / "latency-latest.json").write_text(json.dumps(results, indent=2))
    log(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
