"""session-sync latency benchmark: what the sync adds to one platform write.

    python bench/latency.py                                  # 200,000 sessions, 150 transactions per variant
    python bench/latency.py --sessions 200000 1000000 --transactions 150

Timed: the booking service's auto-assignment, one transaction writing a purchase (ASSIGNED) and its
20 sessions as 20 single-row INSERTs ("single", as ORMs write) or one 20-row INSERT ("multi"); and,
in autocommit, the reschedule of one synced session and the assignment of a waitlisted purchase.
Variants, on clones of one generated and synced data set, taking turns so that drift of the
machine hits them alike, every statement prepared (as on a pooled connection):

    bare     the platform without the package (a clone downgraded to revision 0001)
    loop     bare, plus the platform's own sync loop (bench/peer.py) inside the transaction
    ours     the package at head, triggers on
    off      the package at head, SET session_sync.enabled = off (the triggers only queue)
    floor    bare plus the package's indexes, and the rows the sync writes (the allocation and the
             sessions) written by hand in one statement without checks (FLOOR_*): no sync can add
             less than floor - bare

Prints p50 and p95 in ms and their ratios. The databases are migrated to head: to measure edited
sql/ files, freeze them first (`python -m session_sync.build --freeze`).
"""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from collections import defaultdict
from typing import Any

import psycopg
from common import ROOT, SYNC_ALL, Server, parser, report, timed, write
from peer import peer_sync
from workload import HOME_AND_METADATA, TUTORING_COLUMNS

from session_sync import migrate

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
RESCHEDULE = "UPDATE purchase_sessions SET session_time = %(time)s WHERE id = %(id)s"
ASSIGN = "UPDATE course_purchases SET trainer_id = %s, status = 'ASSIGNED' WHERE id = %s"

# The floor: the rows the sync writes for one purchase, by hand, one statement, no checks (a new
# allocation for its new student and trainer, every session inserted).
FLOOR_ROWS = f"""
, allocation AS (
    INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status, allocated_at, metadata)
    SELECT (p.students->0->>'id')::uuid, p.trainer_id, p.course_id, (p.students->0->>'id')::uuid, 'approved', now(),
           jsonb_build_object('sessionCount', p.total_sessions, 'purchaseId', p.id, 'bookingId', p.booking_id)
    FROM purchase p
    RETURNING id, student_id, trainer_id, course_id
)
INSERT INTO {TUTORING_COLUMNS}
SELECT ps.id, a.id, a.student_id, a.trainer_id, a.course_id, ps.session_date, ps.session_time, 40, 'scheduled',
       {HOME_AND_METADATA}
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
# Synced sessions to reschedule, and waitlisted 20-session purchases with valid coordinates to assign.
SYNCED = "SELECT id FROM tutoring_sessions WHERE status = 'scheduled' ORDER BY id LIMIT %s"
WAITING = """SELECT id FROM course_purchases WHERE status = 'WAITLISTED' AND total_sessions = 20
    AND student_location->>'latitude' !~ '[a-z]' ORDER BY id LIMIT %s"""


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


def single_statements(conns: dict[str, psycopg.Connection], synced: list, waiting: list,
                      timings: dict[str, list[float]]) -> None:
    """One reschedule and one assignment of a waitlisted 20-session purchase, autocommit, taking turns."""
    warm_up = min(20, len(waiting) // 2)
    for i, (session, purchase) in enumerate(zip(synced, waiting)):
        for name, conn in conns.items():
            new_time = {"time": random.choice(["07:15", "08:15", "09:15"]), "id": session}
            start = time.perf_counter()
            conn.execute(FLOOR_RESCHEDULE if name == "floor" else RESCHEDULE, new_time, prepare=True)
            reschedule = (time.perf_counter() - start) * 1000
            start = time.perf_counter()
            conn.execute(FLOOR_ASSIGN_WAITLISTED if name == "floor" else ASSIGN, (uuid.uuid4(), purchase),
                         prepare=True)
            if i >= warm_up:
                timings[f"reschedule/{name}"].append(reschedule)
                timings[f"assign/{name}"].append((time.perf_counter() - start) * 1000)


def measure(server: Server, sessions: int, transactions: int) -> dict[str, Any]:
    template = f"latency_template_{sessions}"
    template_url, _ = server.workload(template, sessions)
    timed(template_url, SYNC_ALL)
    with psycopg.connect(template_url) as conn:
        synced = [r[0] for r in conn.execute(SYNCED, (transactions + 20,))]
        waiting = [r[0] for r in conn.execute(WAITING, (transactions + 20,))]
    urls = {name: server.create(f"latency_{name}_{sessions}", template) for name in ("ours", "bare", "floor")}
    server.drop(template)
    for name, url in urls.items():
        if name != "ours":
            migrate.downgrade(url, "0001_platform_baseline")
        with psycopg.connect(url, autocommit=True) as conn:
            if name == "floor":  # the floor reads by the same indexes
                for path in sorted((ROOT / "sql" / "indexes").glob("*.sql")):
                    conn.execute(path.read_text())
            conn.execute("VACUUM ANALYZE")
    conns = {
        "bare": psycopg.connect(urls["bare"], autocommit=True),
        "loop": psycopg.connect(urls["bare"], autocommit=True),
        "ours": psycopg.connect(urls["ours"], autocommit=True),
        "off": psycopg.connect(urls["ours"], autocommit=True, options="-c session_sync.enabled=off"),
        "floor": psycopg.connect(urls["floor"], autocommit=True),
    }
    timings: dict[str, list[float]] = defaultdict(list)
    try:
        for shape in ("single", "multi"):
            for _ in range(10):  # warm-up: plans prepared, caches filled
                for name, conn in conns.items():
                    assignment(conn, shape, name)
            for _ in range(transactions):
                for name, conn in conns.items():
                    timings[f"{shape}/{name}"].append(assignment(conn, shape, name))
        single_statements({name: conns[name] for name in ("bare", "floor", "ours")}, synced, waiting, timings)
    finally:
        for conn in conns.values():
            conn.close()
        for name in urls:
            server.drop(f"latency_{name}_{sessions}")
    figures = {name: {"p50": statistics.median(values), "n": len(values),
                      "p95": statistics.quantiles(values, n=20, method="inclusive")[-1]}
               for name, values in timings.items()}
    p50 = {name: figure["p50"] for name, figure in figures.items()}
    ratios = {}
    for shape in ("single", "multi"):
        for a, b in (("ours", "bare"), ("loop", "ours"), ("floor", "bare"), ("ours", "floor")):
            ratios[f"{shape}: {a} / {b}"] = p50[f"{shape}/{a}"] / p50[f"{shape}/{b}"]
    for statement in ("reschedule", "assign"):
        for a, b in (("ours", "bare"), ("floor", "bare"), ("ours", "floor")):
            ratios[f"{statement}: {a} - {b}, ms"] = p50[f"{statement}/{a}"] - p50[f"{statement}/{b}"]
    return {"sessions": sessions, "transactions": transactions, "figures": figures, "ratios": ratios}


def main(argv: list[str] | None = None) -> None:
    options = parser(__doc__, "latency.json")
    options.add_argument("--sessions", type=int, nargs="+", default=[200_000])
    options.add_argument("--transactions", type=int, default=150)
    args = options.parse_args(argv)
    server = Server(args.database_url)
    results = [measure(server, sessions, args.transactions) for sessions in args.sessions]
    for r in results:
        report(f"{r['sessions']:,} sessions, {r['transactions']} transactions per variant",
               {"variant": f"{'p50 ms':>10}{'p95 ms':>10}",
                **{name: f"{f['p50']:>10.3f}{f['p95']:>10.3f}" for name, f in r["figures"].items()}}, r["ratios"])
    write(args.output, results)


if __name__ == "__main__":
    main()
