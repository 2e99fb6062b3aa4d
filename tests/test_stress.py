"""A stress run of the platform's own write patterns, without and with the package.

Several connections write at once for a few seconds: assignments (a purchase and its sessions
in one transaction), reschedules and cancellations (a purchase's sessions in id order),
trainer changes, and the apps' status and metadata updates of tutoring sessions. The same
workload runs on the bare platform (revision 0001 only) and with the package at head. The
promise: the package adds no deadlock and no serialization failure (there are none on the bare
platform for these patterns), and afterwards, once the next run has completed what was queued,
nothing is missing or drifted and no key an app wrote is lost.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter

import psycopg
import pytest

from session_sync import migrate

SECONDS = 6.0
WORKERS = 4
PURCHASES = 40


def seed(db) -> None:
    """Assigned purchases with sessions (synced when the package is there)."""
    with db.connect(autocommit=True) as conn:
        for n in range(PURCHASES):
            assign(conn, random.Random(n))


def assign(conn: psycopg.Connection, rng: random.Random) -> None:
    pid, booking = uuid.uuid4(), uuid.uuid4()
    with conn.transaction():
        conn.execute("""INSERT INTO course_purchases (id, booking_id, course_id, class_type, total_sessions,
                            delivery_mode, start_date, preferred_time_slot, student_location, students,
                            trainer_id, status)
                        VALUES (%s, %s, %s, 'ONE_ON_ONE', 10, 'WEEKDAY_DAILY', '2026-03-02', '16:00',
                                '{"latitude": 19.1, "longitude": 72.9}', %s, %s, 'ASSIGNED')""",
                     (pid, booking, uuid.uuid4(), json.dumps([{"id": str(uuid.uuid4())}]),
                      uuid.UUID(int=rng.randrange(1, 4))))
        conn.execute("""INSERT INTO purchase_sessions (purchase_id, booking_id, session_number, session_date,
                            session_time, session_type, metadata)
                        SELECT %s, %s, k, date '2026-03-02' + k, '16:00', 'offline', jsonb_build_object('isBookable', true)
                        FROM generate_series(1, 5) k""", (pid, booking))


def workload(url: str, worker: int, deadline: float, keys: list[tuple[uuid.UUID, str]], outcome: Counter) -> None:
    rng = random.Random(worker)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET deadlock_timeout = '100ms'")
        while time.monotonic() < deadline:
            kind = rng.choice(["assign", "reschedule", "cancel", "cancel_purchase", "trainer", "app_status",
                               "app_meta", "app_meta", "app_two"])
            try:
                if kind == "assign":
                    assign(conn, rng)
                elif kind in ("reschedule", "cancel"):
                    pid = conn.execute("SELECT id FROM course_purchases ORDER BY random() LIMIT 1").fetchone()[0]
                    with conn.transaction():
                        ids = [r[0] for r in conn.execute(
                            "SELECT id FROM purchase_sessions WHERE purchase_id = %s ORDER BY id", (pid,))]
                        for sid in sorted(rng.sample(ids, min(2, len(ids)))):
                            if kind == "reschedule":
                                conn.execute("UPDATE purchase_sessions SET session_time = %s WHERE id = %s",
                                             (rng.choice(["07:00", "08:30", "18:15"]), sid))
                            else:
                                conn.execute("UPDATE purchase_sessions SET status = 'cancelled' WHERE id = %s", (sid,))
                elif kind == "cancel_purchase":  # the booking service cancelling a course: purchase first
                    pid = conn.execute("SELECT id FROM course_purchases ORDER BY random() LIMIT 1").fetchone()[0]
                    with conn.transaction():
                        conn.execute("UPDATE course_purchases SET metadata = jsonb_build_object('note', 'cancelling') "
                                     "WHERE id = %s", (pid,))
                        conn.execute("SELECT 1 FROM purchase_sessions WHERE purchase_id = %s ORDER BY id FOR UPDATE",
                                     (pid,))  # rows in id order, as every pattern here takes them
                        conn.execute("UPDATE purchase_sessions SET status = 'cancelled' WHERE purchase_id = %s", (pid,))
                elif kind == "app_two":  # an app touching two sessions in one transaction, in id order
                    with conn.transaction():
                        ids = [r[0] for r in conn.execute(
                            "SELECT id FROM tutoring_sessions ORDER BY random() LIMIT 2").fetchall()]
                        for sid in sorted(ids):
                            key = f"k{worker}_{uuid.uuid4().hex[:8]}"
                            conn.execute("UPDATE tutoring_sessions SET metadata = coalesce(metadata, '{}') || "
                                         "jsonb_build_object(%s::text, true) WHERE id = %s", (key, sid))
                            keys.append((sid, key))
                elif kind == "trainer":
                    conn.execute("UPDATE course_purchases SET trainer_id = %s WHERE id = "
                                 "(SELECT id FROM course_purchases ORDER BY random() LIMIT 1)",
                                 (uuid.UUID(int=rng.randrange(1, 4)),))
                elif kind == "app_status":
                    conn.execute("UPDATE tutoring_sessions SET status = 'in_progress' WHERE id = "
                                 "(SELECT id FROM tutoring_sessions WHERE status = 'scheduled' ORDER BY random() LIMIT 1)")
                else:
                    key = f"k{worker}_{uuid.uuid4().hex[:8]}"
                    row = conn.execute("UPDATE tutoring_sessions SET metadata = coalesce(metadata, '{}') || "
                                       "jsonb_build_object(%s::text, true) WHERE id = "
                                       "(SELECT id FROM tutoring_sessions ORDER BY random() LIMIT 1) RETURNING id",
                                       (key,)).fetchone()
                    if row:
                        keys.append((row[0], key))
                outcome["ok"] += 1
            except psycopg.errors.DeadlockDetected:
                outcome["deadlock"] += 1
            except psycopg.errors.SerializationFailure:
                outcome["serialization"] += 1


def stress(db) -> tuple[Counter, list[tuple[uuid.UUID, str]]]:
    seed(db)
    keys: list[tuple[uuid.UUID, str]] = []
    outcome: Counter = Counter()
    deadline = time.monotonic() + SECONDS
    threads = [threading.Thread(target=workload, args=(db.url, w, deadline, keys, outcome)) for w in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 60)
    return outcome, keys


@pytest.mark.slow
def test_bare_platform_with_these_patterns_has_no_deadlock(empty_db):
    migrate.upgrade(empty_db.url, "0001_platform_baseline")
    # The bare platform has no tutoring sessions of its own: give the apps some to write.
    empty_db.execute("""INSERT INTO trainer_allocations (id, student_id, requested_by, status)
                        VALUES ('00000000-0000-0000-0000-0000000000aa', gen_random_uuid(), gen_random_uuid(), 'approved')""")
    empty_db.execute("""INSERT INTO tutoring_sessions (allocation_id, student_id, trainer_id, scheduled_date, scheduled_time)
                        SELECT '00000000-0000-0000-0000-0000000000aa', gen_random_uuid(), gen_random_uuid(),
                               '2026-03-03', '16:00' FROM generate_series(1, 200)""")
    outcome, _ = stress(empty_db)
    assert outcome["ok"] > 100
    assert (outcome["deadlock"], outcome["serialization"]) == (0, 0)


@pytest.mark.slow
def test_with_the_package_no_deadlock_nothing_missed_no_key_lost(db):
    outcome, keys = stress(db)
    assert outcome["ok"] > 100
    assert (outcome["deadlock"], outcome["serialization"]) == (0, 0)
    # The next run completes whatever a sync at COMMIT deferred or queued.
    db.rows("SELECT * FROM sync_all_sessions()")
    assert db.one("SELECT missing, drifted, conflicts FROM session_sync_verify") == (0, 0, 0)
    assert db.value("SELECT count(*) FROM session_sync_queue") == 0
    assert db.value("SELECT count(*) FROM session_sync_failures") == 0
    lost = [(sid, key) for sid, key in keys
            if not db.value("SELECT coalesce(metadata ? %s, false) FROM tutoring_sessions WHERE id = %s", key, sid)]
    assert len(keys) > 20 and lost == []
