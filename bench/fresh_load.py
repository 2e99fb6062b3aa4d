"""session-sync fresh-load benchmark: bulk writes on statistics that do not count the rows yet.

    python bench/fresh_load.py                      # 10,000 purchases x 20 sessions
    python bench/fresh_load.py --purchases 10000 --repeat 3

As a platform's first import (tables created, then filled) or a bulk statement whose own rows the
statement-level trigger syncs does: on a database at head holding only the ASSIGNED purchases
(autovacuum off, so that no ANALYZE comes between), each of VARIANTS runs in a transaction rolled
back. Prints medians of --repeat runs and the ratios insert synced / (insert bare + sync analyzed)
and sync stale / sync analyzed.
"""

from __future__ import annotations

from collections import defaultdict

import psycopg
from common import SYNC_ALL, Server, log, medians, parser, report, timed, write
from workload import PLATFORM

from session_sync import migrate

PURCHASES = """
INSERT INTO course_purchases (id, booking_id, course_id, class_type, total_sessions, delivery_mode, start_date,
    preferred_time_slot, student_location, students, trainer_id, status)
SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'ONE_ON_ONE', 20, 'WEEKDAY_DAILY', '2026-01-05',
       '16:00', '{"latitude": 12.9, "longitude": 77.6}', jsonb_build_array(jsonb_build_object('id', gen_random_uuid())),
       gen_random_uuid(), 'ASSIGNED'
FROM generate_series(1, %s)
"""
SESSIONS = """
INSERT INTO purchase_sessions (purchase_id, booking_id, session_number, session_date, session_time)
SELECT id, booking_id, n, start_date + n, '16:00' FROM course_purchases, generate_series(1, 20) n
"""
REPLICA = "SET LOCAL session_replication_role = replica"
LOADED = (REPLICA, SESSIONS, "SET LOCAL session_replication_role = origin")
# Each variant: the statements run untimed first, then the one timed; in one transaction, rolled back.
VARIANTS = {
    "insert bare": ((REPLICA,), SESSIONS),  # triggers off
    "insert noted": (("SET LOCAL session_sync.enabled = off",), SESSIONS),  # noted by WHEN clauses, queued
    "insert synced": ((), SESSIONS),  # synced set-based inside the statement
    "sync stale": ((*LOADED, "SELECT session_sync_enqueue()"), SYNC_ALL),  # the first sync after a fresh load
    "sync analyzed": ((*LOADED, "ANALYZE " + ", ".join(PLATFORM), "SELECT session_sync_enqueue()"), SYNC_ALL),
}


def measure(server: Server, purchases: int, repeat: int) -> dict[str, float]:
    # A fresh database per run: ANALYZE writes pg_class's row counts in place, which its
    # transaction's rollback does not undo, so "sync analyzed" runs last, once per database.
    name = "session_sync_fresh_load"
    samples: dict[str, list[float]] = defaultdict(list)
    for run in range(repeat):
        url = server.create(name)
        migrate.upgrade(url)
        with psycopg.connect(url, autocommit=True) as conn:
            for table in PLATFORM:
                conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
            conn.execute("SET session_replication_role = replica")
            conn.execute(PURCHASES, (purchases,))
        for variant, (setup, statement) in VARIANTS.items():
            samples[variant].append(timed(url, statement, setup=setup, rollback=True))
            log(f"run {run + 1}: {variant}: {samples[variant][-1]:.2f} s")
    server.drop(name)
    return medians(samples)


def main(argv: list[str] | None = None) -> None:
    options = parser(__doc__, "fresh_load.json")
    options.add_argument("--purchases", type=int, default=10_000)
    options.add_argument("--repeat", type=int, default=1)
    args = options.parse_args(argv)
    figures = measure(Server(args.database_url), args.purchases, args.repeat)
    ratios = {"insert synced / (insert bare + sync analyzed)":
              figures["insert synced"] / (figures["insert bare"] + figures["sync analyzed"]),
              "sync stale / sync analyzed": figures["sync stale"] / figures["sync analyzed"]}
    report(f"{args.purchases:,} purchases x 20 sessions, median of {args.repeat}",
           {variant: f"{seconds:>10.2f} s" for variant, seconds in figures.items()}, ratios)
    write(args.output, {"purchases": args.purchases, "repeat": args.repeat, "seconds": figures, "ratios": ratios})


if __name__ == "__main__":
    main()
