"""session-sync benchmark: every variant on identical copies of one generated data set.

    python bench/run.py                       # 100,000 sessions, embedded PostgreSQL
    python bench/run.py --sessions 100000 1000000 --peer-purchases 2000 --repeat 3   # docs/performance.md
    python bench/run.py --database-url postgresql://...   # a server of your own (creates databases)

Prints seconds and ratios (each against its floor, measured in the same run) and writes the
figures as JSON to bench/results/latest.json.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import psycopg
from common import SYNC_ALL, Server, log, medians, parser, report, timed, write
from peer import peer_sync
from workload import ALLOCATE, HOME_AND_METADATA, TUTORING_COLUMNS

VALID = "c.eligible AND c.reason IS NULL"
ELIGIBLE = """purchase_sessions ps JOIN course_purchases p ON p.id = ps.purchase_id
WHERE p.trainer_id IS NOT NULL AND p.status = 'ASSIGNED'"""

FLOOR_PREPARE = ALLOCATE + f"""
WHERE {VALID} AND NOT EXISTS (SELECT 1 FROM trainer_allocations a WHERE a.student_id = c.student_id
      AND a.trainer_id = c.trainer_id AND a.course_id = c.course_id AND a.status IN ('approved', 'active'));
CREATE TABLE bench_valid AS SELECT c.purchase_id AS id FROM session_sync_purchase_check c WHERE {VALID};
ALTER TABLE bench_valid ADD PRIMARY KEY (id);
ANALYZE bench_valid, trainer_allocations;
-- the floor writes as the sync does, without the package's tracking trigger; the foreign key is checked
ALTER TABLE tutoring_sessions DISABLE TRIGGER USER;
"""

# The least PostgreSQL can do for the job: exactly the missing rows, their final values, one statement.
FLOOR = f"""
INSERT INTO {TUTORING_COLUMNS}
SELECT ps.id, a.id, (p.students->0->>'id')::uuid, p.trainer_id, p.course_id, ps.session_date, ps.session_time,
       CASE WHEN p.delivery_mode = 'SUNDAY_ONLY' THEN 80 ELSE 40 END,
       CASE ps.status WHEN 'completed' THEN 'completed' WHEN 'cancelled' THEN 'cancelled' ELSE 'scheduled' END,
       {HOME_AND_METADATA}
FROM bench_valid v
JOIN course_purchases p ON p.id = v.id
JOIN purchase_sessions ps ON ps.purchase_id = p.id
JOIN trainer_allocations a ON a.student_id = (p.students->0->>'id')::uuid AND a.trainer_id = p.trainer_id
                          AND a.course_id = p.course_id AND a.status = 'approved'
WHERE NOT EXISTS (SELECT 1 FROM tutoring_sessions t WHERE t.id = ps.id)
"""

ANTI_JOIN_COUNT = f"""SELECT count(*) FROM {ELIGIBLE}
AND NOT EXISTS (SELECT 1 FROM tutoring_sessions t WHERE t.id = ps.id)"""

ASSIGN = """
UPDATE course_purchases SET trainer_id = md5('late trainer' || id)::uuid, status = 'ASSIGNED'
WHERE id IN (SELECT id FROM course_purchases WHERE status = 'WAITLISTED' ORDER BY id LIMIT 10000)
"""


def measure(server: Server, sessions: int, peer_purchases: int | None, repeat: int) -> dict[str, Any]:
    template = f"bench_template_{sessions}"
    template_url, counts = server.workload(template, sessions)
    samples: dict[str, list[float]] = defaultdict(list)
    result: dict[str, Any] = {"sessions": sessions, "counts": counts, "samples": samples}

    def record(name: str, value: float) -> None:
        samples[name].append(value)
        log(f"{name}: {value:.3f}s")

    def floor(url: str) -> float:
        timed(url, FLOOR_PREPARE)
        server.admin("CHECKPOINT")
        return timed(url, FLOOR)

    def ours_twice(url: str) -> float:
        first = timed(url, SYNC_ALL)
        # a full re-examination of the sessions now in sync: every eligible purchase queued, then a run
        record("ours_nothing_to_do", timed(url, "SELECT session_sync_enqueue()", SYNC_ALL))
        record("anti_join_count", timed(url, ANTI_JOIN_COUNT))
        return first

    def peer(url: str) -> float:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET session_sync.enabled = off")  # its autocommit writes fire the tracking trigger
            ids = [r[0] for r in conn.execute("SELECT id FROM course_purchases ORDER BY id LIMIT %s",
                                              (peer_purchases,))]
            covered = conn.execute(f"SELECT count(*) FROM {ELIGIBLE} AND p.id = ANY(%s)", (ids,)).fetchone()[0]
            start = time.perf_counter()
            peer_sync(conn, ids)
            elapsed = time.perf_counter() - start
        result["peer_sample"] = {"purchases": len(ids), "sessions": covered, "seconds": elapsed}
        return elapsed

    def after_a_sync(url: str, *statements: str) -> float:
        timed(url, SYNC_ALL)  # untimed, on its own connection
        return timed(url, *statements)

    variants = {
        "floor": floor,
        "ours": ours_twice,
        "trigger_on": lambda url: after_a_sync(url, ASSIGN),
        "trigger_off_then_sync_all": lambda url: after_a_sync(url, "SET session_sync.enabled = off", ASSIGN,
                                                              "RESET session_sync.enabled", SYNC_ALL),
        "batched": lambda url: timed(url, "CALL sync_all_sessions_batched(p_batch_size => 1000, p_quiet => true)"),
        "peer": peer,
    }
    for name, run in variants.items():
        for _ in range(1 if name == "peer" else repeat):  # each on a fresh clone
            url = server.create(f"bench_{name}", template)
            try:
                record(name, run(url))
            finally:
                server.drop(f"bench_{name}")
    # Each figure is the median of its samples (--repeat): one run swings by 10-20% on this machine.
    s = result["seconds"] = medians(samples)
    with psycopg.connect(template_url) as conn:
        result["eligible_sessions"] = conn.execute(f"SELECT count(*) FROM {ELIGIBLE}").fetchone()[0]
    server.drop(template)

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


def main(argv: list[str] | None = None) -> None:
    options = parser(__doc__, "latest.json")
    options.add_argument("--sessions", type=int, nargs="+", default=[100_000],
                         help="data set size(s), in purchase sessions (default 100000)")
    options.add_argument("--peer-purchases", type=int, default=None,
                         help="run the peer on only the first N purchases (it is reported per session)")
    options.add_argument("--repeat", type=int, default=1,
                         help="run each variant (but the peer) this many times on fresh clones; figures are medians")
    args = options.parse_args(argv)
    server = Server(args.database_url)
    results = [measure(server, size, args.peer_purchases, args.repeat) for size in args.sessions]
    if len(results) > 1:
        results[-1]["ratios"]["growth: ours largest / ours smallest"] = (
            results[-1]["seconds"]["ours"] / results[0]["seconds"]["ours"])
    for r in results:
        sample = r["peer_sample"]
        report(f"{r['sessions']:,} sessions ({r['eligible_sessions']:,} of eligible purchases)",
               {**{name: f"{value:9.3f} s" for name, value in r["seconds"].items()},
                "peer sample": f"{sample['purchases']:,} purchases, {sample['sessions']:,} sessions"}, r["ratios"])
    write(args.output, {"results": results})


if __name__ == "__main__":
    main()
