"""session-sync fresh-load benchmark: bulk writes on statistics that do not count the rows yet.

    python bench/fresh_load.py                      # 10,000 purchases x 20 sessions
    python bench/fresh_load.py --purchases 10000 --repeat 3

A platform's first import (its tables created, then filled) meets planner statistics that count
no rows, and so does a bulk statement whose own rows the statement-level trigger syncs inside
its transaction. On a fresh database migrated to head, with 10,000 ASSIGNED purchases loaded
(autovacuum off on the platform's tables, so that no ANALYZE comes between), each variant runs in
a transaction that is rolled back, so every variant meets the same statistics (a new database
per run; the analyzed variant last):

    insert bare      one INSERT of the 200,000 purchase sessions, triggers off (replica)
    insert noted     the same INSERT, session_sync.enabled off: the WHEN clauses note, the
                     statement-level trigger queues
    insert synced    the same INSERT, triggers on: synced set-based inside the statement
    sync stale       the sessions loaded with triggers off, then sync_all_sessions(): the first
                     sync after a fresh load
    sync analyzed    the same after ANALYZE of the four tables: the figure with statistics

Prints the median seconds of --repeat runs and the ratios insert synced / (insert bare + sync
analyzed) and sync stale / sync analyzed. Speed is never asserted in tests; it is measured here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from run import Server  # noqa: E402

from session_sync import embedded, migrate  # noqa: E402
from session_sync.urls import libpq_url  # noqa: E402

PLATFORM = ("course_purchases", "purchase_sessions", "trainer_allocations", "tutoring_sessions")
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


def rolled_back(url: str, steps: list[str], timed_step: int) -> float:
    """Runs ``steps`` in one transaction, rolled back; returns the seconds of step ``timed_step``."""
    with psycopg.connect(url) as conn:
        conn.execute("SET client_min_messages = warning")
        took = 0.0
        for index, step in enumerate(steps):
            start = time.perf_counter()
            conn.execute(step)
            if index == timed_step:
                took = time.perf_counter() - start
        conn.rollback()
    return took


def variants() -> dict[str, tuple[list[str], int]]:
    replica = "SET LOCAL session_replication_role = replica"
    normal = "SET LOCAL session_replication_role = origin"
    return {
        "insert bare": ([replica, SESSIONS], 1),
        "insert noted": (["SET LOCAL session_sync.enabled = off", SESSIONS], 1),
        "insert synced": ([SESSIONS], 0),
        "sync stale": ([replica, SESSIONS, normal, "SELECT session_sync_enqueue()",
                        "SELECT * FROM sync_all_sessions()"], 4),
        "sync analyzed": ([replica, SESSIONS, normal, "ANALYZE " + ", ".join(PLATFORM),
                           "SELECT session_sync_enqueue()", "SELECT * FROM sync_all_sessions()"], 5),
    }


def fresh_database(server: Server, name: str, purchases: int) -> str:
    """A new database at head with ``purchases`` ASSIGNED purchases, autovacuum off on the platform's tables."""
    server.admin(f'DROP DATABASE IF EXISTS "{name}"')
    server.admin(f'CREATE DATABASE "{name}"')
    url = server.db_url(name)
    migrate.upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn:
        for table in PLATFORM:
            conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
        conn.execute("SET session_replication_role = replica")
        conn.execute(PURCHASES, (purchases,))
    return url


def measure(server: Server, purchases: int, repeat: int, log: Callable[[str], None]) -> dict[str, float]:
    # A fresh database per run: ANALYZE writes pg_class's row counts in place, which its
    # transaction's rollback does not undo, so "sync analyzed" runs last, once per database.
    name = "session_sync_fresh_load"
    samples: dict[str, list[float]] = {}
    for run in range(repeat):
        url = fresh_database(server, name, purchases)
        for variant, (steps, timed_step) in variants().items():
            seconds = rolled_back(url, steps, timed_step)
            samples.setdefault(variant, []).append(seconds)
            log(f"run {run + 1}: {variant}: {seconds:.2f} s")
    server.drop(name)
    return {variant: statistics.median(values) for variant, values in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--purchases", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--database-url", help="a server of your own (creates and drops a database)")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    url = libpq_url(args.database_url) if args.database_url else embedded.start_temporary("session-sync-fresh-")
    figures = measure(Server(url), args.purchases, args.repeat, log)
    print(f"\n== {args.purchases:,} purchases x 20 sessions, median of {args.repeat} ==")
    for variant, seconds in figures.items():
        print(f"{variant:<16}{seconds:>10.2f} s")
    print(f"  insert synced / (insert bare + sync analyzed): "
          f"{figures['insert synced'] / (figures['insert bare'] + figures['sync analyzed']):.2f}")
    print(f"  sync stale / sync analyzed: {figures['sync stale'] / figures['sync analyzed']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
