"""session-sync benchmark: every variant on identical copies of one generated data set.

    python bench/run.py                       # 100,000 sessions, embedded PostgreSQL
    python bench/run.py --sessions 100000 1000000 --peer-purchases 2000 --repeat 3   # docs/performance.md
    python bench/run.py --database-url postgresql://...   # a server of your own (creates databases)

Prints seconds and ratios (each against its floor, measured in the same run) and writes the
figures as JSON to bench/results/. Speed is never asserted in tests; it is measured here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from peer import peer_sync  # noqa: E402
from workload import generate  # noqa: E402

from session_sync import embedded, migrate  # noqa: E402
from session_sync.urls import libpq_url  # noqa: E402

VALID = "c.eligible AND c.reason IS NULL"

FLOOR_PREPARE = f"""
INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status, allocated_at)
SELECT DISTINCT c.student_id, c.trainer_id, c.course_id, c.student_id, 'approved', now()
FROM session_sync_purchase_check c
WHERE {VALID} AND NOT EXISTS (SELECT 1 FROM trainer_allocations a WHERE a.student_id = c.student_id
      AND a.trainer_id = c.trainer_id AND a.course_id = c.course_id AND a.status IN ('approved', 'active'));
CREATE TABLE bench_valid AS SELECT c.purchase_id AS id FROM session_sync_purchase_check c WHERE {VALID};
ALTER TABLE bench_valid ADD PRIMARY KEY (id);
ANALYZE bench_valid, trainer_allocations;
-- the floor writes as the sync does, without the package's tracking trigger (whose test of
-- session_sync.applying differs between revisions); the foreign key is checked
ALTER TABLE tutoring_sessions DISABLE TRIGGER USER;
"""

# The least PostgreSQL can do for the job: exactly the missing rows, their final values, one statement.
FLOOR = """
INSERT INTO tutoring_sessions (id, allocation_id, student_id, trainer_id, course_id, scheduled_date, scheduled_time,
                               duration, status, student_home_location, metadata)
SELECT ps.id, a.id, (p.students->0->>'id')::uuid, p.trainer_id, p.course_id, ps.session_date, ps.session_time,
       CASE WHEN p.delivery_mode = 'SUNDAY_ONLY' THEN 80 ELSE 40 END,
       CASE ps.status WHEN 'completed' THEN 'completed' WHEN 'cancelled' THEN 'cancelled' ELSE 'scheduled' END,
       jsonb_build_object('latitude', (p.student_location->>'latitude')::numeric,
                          'longitude', (p.student_location->>'longitude')::numeric,
                          'address', p.student_location->'address'),
       coalesce(ps.metadata, '{}') || jsonb_build_object('purchaseId', p.id, 'bookingId', ps.booking_id,
                                                        'sessionNumber', ps.session_number,
                                                        'sessionType', ps.session_type)
FROM bench_valid v
JOIN course_purchases p ON p.id = v.id
JOIN purchase_sessions ps ON ps.purchase_id = p.id
JOIN trainer_allocations a ON a.student_id = (p.students->0->>'id')::uuid AND a.trainer_id = p.trainer_id
                          AND a.course_id = p.course_id AND a.status = 'approved'
WHERE NOT EXISTS (SELECT 1 FROM tutoring_sessions t WHERE t.id = ps.id)
"""

ANTI_JOIN_COUNT = """
SELECT count(*) FROM purchase_sessions ps JOIN course_purchases p ON p.id = ps.purchase_id
WHERE p.trainer_id IS NOT NULL AND p.status = 'ASSIGNED'
  AND NOT EXISTS (SELECT 1 FROM tutoring_sessions t WHERE t.id = ps.id)
"""


ASSIGN = """
UPDATE course_purchases SET trainer_id = md5('late trainer' || id)::uuid, status = 'ASSIGNED'
WHERE id IN (SELECT id FROM course_purchases WHERE status = 'WAITLISTED' ORDER BY id LIMIT 10000)
"""


class Server:
    def __init__(self, url: str) -> None:
        self.url = libpq_url(url)

    def db_url(self, name: str) -> str:
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def admin(self, sql: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql)

    def clone(self, template: str, name: str) -> str:
        self.admin(f'DROP DATABASE IF EXISTS "{name}"')
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        # The copy is written through the WAL; without a checkpoint here, the one it triggers
        # lands in whichever variant runs next and its figure swings by a third.
        self.admin("CHECKPOINT")
        return self.db_url(name)

    def drop(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}"')


def timed(url: str, statement: str, before: Callable[[psycopg.Connection], None] | None = None) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET client_min_messages = warning")
        if before:
            before(conn)
        start = time.perf_counter()
        conn.execute(statement)
        return time.perf_counter() - start


def eligible_sessions(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM purchase_sessions ps JOIN course_purchases p ON p.id = ps.purchase_id"
                            " WHERE p.trainer_id IS NOT NULL AND p.status = 'ASSIGNED'").fetchone()[0]


def measure(server: Server, sessions: int, peer_purchases: int | None, repeat: int,
            log: Callable[[str], None]) -> dict[str, Any]:
    template = f"bench_template_{sessions}"
    server.drop(template)
    server.admin(f'CREATE DATABASE "{template}"')
    migrate.upgrade(server.db_url(template))
    with psycopg.connect(server.db_url(template), autocommit=True) as conn:
        start = time.perf_counter()
        counts = generate(conn, sessions)
        conn.execute("VACUUM ANALYZE")
        log(f"generated {counts} in {time.perf_counter() - start:.1f}s")
    result: dict[str, Any] = {"sessions": sessions, "counts": counts, "seconds": {}}
    seconds = result["seconds"]

    samples: dict[str, list[float]] = {}
    result["samples"] = samples

    def record(name: str, value: float) -> None:
        samples.setdefault(name, []).append(value)
        log(f"{name}: {value:.3f}s")

    def variant(name: str, run: Callable[[str], float], times: int | None = None) -> None:
        for _ in range(repeat if times is None else times):
            one_variant(name, run)

    def one_variant(name: str, run: Callable[[str], float]) -> None:
        url = server.clone(template, f"bench_{name}")
        try:
            record(name, run(url))
        finally:
            server.drop(f"bench_{name}")

    def floor(url: str) -> float:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(FLOOR_PREPARE)
        server.admin("CHECKPOINT")
        return timed(url, FLOOR)

    def ours_twice(url: str) -> float:
        first = timed(url, "SELECT * FROM sync_all_sessions()")
        # a full re-examination of the sessions now in sync: every eligible purchase queued, then a run
        record("ours_nothing_to_do", timed(url, "SELECT session_sync_enqueue(); SELECT * FROM sync_all_sessions()"))
        record("anti_join_count", timed(url, ANTI_JOIN_COUNT))
        return first

    def trigger_on(url: str) -> float:
        timed(url, "SELECT * FROM sync_all_sessions()")
        return timed(url, ASSIGN)

    def trigger_off_then_sync(url: str) -> float:
        timed(url, "SELECT * FROM sync_all_sessions()")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET client_min_messages = warning")
            start = time.perf_counter()
            conn.execute("SET session_sync.enabled = off")
            conn.execute(ASSIGN)
            conn.execute("RESET session_sync.enabled")
            conn.execute("SELECT * FROM sync_all_sessions()")
            return time.perf_counter() - start

    def peer(url: str) -> float:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET session_sync.enabled = off")  # its autocommit writes fire the tracking trigger
            ids = [r[0] for r in conn.execute("SELECT id FROM course_purchases ORDER BY id").fetchall()]
            sample = ids if peer_purchases is None else ids[:peer_purchases]
            covered = conn.execute("SELECT count(*) FROM purchase_sessions ps JOIN course_purchases p ON "
                                   "p.id = ps.purchase_id WHERE p.id = ANY(%s) AND p.trainer_id IS NOT NULL "
                                   "AND p.status = 'ASSIGNED'", (sample,)).fetchone()[0]
            start = time.perf_counter()
            peer_sync(conn, sample)
            elapsed = time.perf_counter() - start
        result["peer_sample"] = {"purchases": len(sample), "sessions": covered, "seconds": elapsed}
        return elapsed

    variant("floor", floor)
    variant("ours", ours_twice)
    variant("trigger_on", trigger_on)
    variant("trigger_off_then_sync_all", trigger_off_then_sync)
    variant("batched", lambda url: timed(url, "CALL sync_all_sessions_batched(p_batch_size => 1000, p_quiet => true)"))
    variant("peer", peer, times=1)
    # Each figure is the median of its samples (--repeat): one run swings by 10-20% on this machine.
    for name, values in samples.items():
        seconds[name] = statistics.median(values)
    result["eligible_sessions"] = eligible_sessions(server.db_url(template))
    server.drop(template)

    s = seconds
    per_session_ours = s["ours"] / result["eligible_sessions"]
    per_session_peer = result["peer_sample"]["seconds"] / max(result["peer_sample"]["sessions"], 1)
    result["ratios"] = {
        "ours / floor": s["ours"] / s["floor"],
        "peer / ours (per session)": per_session_peer / per_session_ours,
        "re-examination (enqueue + run) / anti-join count": s["ours_nothing_to_do"] / s["anti_join_count"],
        "trigger on / (trigger off + sync_all)": s["trigger_on"] / s["trigger_off_then_sync_all"],
        "batched / ours": s["batched"] / s["ours"],
    }
    return result


def report(results: list[dict[str, Any]]) -> None:
    for result in results:
        print(f"\n== {result['sessions']:,} sessions ({result['eligible_sessions']:,} of eligible purchases) ==")
        for name, value in result["seconds"].items():
            print(f"  {name:32s} {value:9.3f} s")
        sample = result["peer_sample"]
        print(f"  peer sample: {sample['purchases']:,} purchases, {sample['sessions']:,} sessions")
        for name, value in result["ratios"].items():
            print(f"  {name:42s} {value:7.2f}")
    if len(results) > 1:
        small, large = results[0], results[-1]
        print(f"\n  growth: ours at {large['sessions']:,} / ours at {small['sessions']:,} = "
              f"{large['seconds']['ours'] / small['seconds']['ours']:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[100_000],
                        help="data set size(s), in purchase sessions (default 100000)")
    parser.add_argument("--peer-purchases", type=int, default=None,
                        help="run the peer on only the first N purchases (it is reported per session)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each variant (but the peer) this many times on fresh clones; figures are medians")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)
    url = args.database_url or embedded.start_temporary("session-sync-bench-")
    server = Server(url)

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    results = [measure(server, size, args.peer_purchases, args.repeat, log) for size in args.sessions]
    if len(results) > 1:
        results[-1]["ratios"]["growth: ours largest / ours smallest"] = (
            results[-1]["seconds"]["ours"] / results[0]["seconds"]["ours"])
    report(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"results": results}, indent=2))
    print(f"\nfigures written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
