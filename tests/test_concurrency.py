"""Several real connections syncing overlapping purchases at once, and runs cut off mid-way."""

from __future__ import annotations

import random
import threading
import time
import uuid

import psycopg
import pytest

from factories import purchase, sessions

ROUNDS = 6
WORKERS = 4


def final_state(db) -> list[tuple]:
    """Everything the sync decides, without the random ids and timestamps it cannot control."""
    return db.rows("""
        SELECT t.id, t.student_id, t.trainer_id, t.course_id, t.scheduled_date, t.scheduled_time, t.duration,
               t.status, t.student_home_location, t.metadata, a.student_id, a.trainer_id, a.course_id, a.status
        FROM tutoring_sessions t JOIN trainer_allocations a ON a.id = t.allocation_id
        ORDER BY t.id""")


def arrange(db, seed: int) -> dict:
    """Purchases that share students, trainers and courses, half waitlisted, some with bad data."""
    rng = random.Random(seed)
    students = [uuid.uuid4() for _ in range(3)]
    trainers = [uuid.uuid4() for _ in range(2)]
    courses = [uuid.uuid4() for _ in range(2)]
    plan = {"assign": [], "reschedule": [], "purchases": []}
    for i in range(16):
        waitlisted = i % 2 == 0
        bad = i % 7 == 3
        pid = purchase(db, student_id=rng.choice(students), course_id=rng.choice(courses),
                       trainer_id=None if waitlisted else rng.choice(trainers),
                       status="WAITLISTED" if waitlisted else "ASSIGNED",
                       **({"student_location": {"latitude": "x", "longitude": 1}} if bad else {}))
        ids = sessions(db, pid, rng.randint(1, 4))
        plan["purchases"].append(pid)
        if waitlisted:
            plan["assign"].append((pid, rng.choice(trainers)))
        plan["reschedule"].append(rng.choice(ids))
    return plan


def run_mixed(db, plan: dict, seed: int) -> list[BaseException]:
    """WORKERS connections at once: sync_all, sync_purchase, trigger-firing assignments and reschedules."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(WORKERS)

    def worker(kind: int) -> None:
        rng = random.Random(seed * 100 + kind)
        try:
            with db.connect(autocommit=True) as conn:
                barrier.wait(timeout=30)
                if kind == 0:
                    for _ in range(3):
                        conn.execute("SELECT * FROM sync_all_sessions()")
                elif kind == 1:
                    for pid in rng.sample(plan["purchases"], len(plan["purchases"])):
                        try:
                            conn.execute("SELECT * FROM sync_purchase_sessions(%s)", (pid,))
                        except psycopg.Error as error:  # reason codes for bad or unassigned purchases
                            if not (error.sqlstate or "").startswith("SS"):
                                raise
                elif kind == 2:
                    for pid, trainer in plan["assign"]:
                        conn.execute("UPDATE course_purchases SET trainer_id = %s, status = 'ASSIGNED' WHERE id = %s",
                                     (trainer, pid))
                else:
                    for sid in plan["reschedule"]:
                        conn.execute("UPDATE purchase_sessions SET session_time = '18:45', status = 'rescheduled' "
                                     "WHERE id = %s", (sid,))
        except BaseException as error:  # noqa: BLE001 - collected and asserted empty
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


@pytest.mark.parametrize("seed", range(ROUNDS))
def test_concurrent_mixed_syncs_end_in_the_serial_state(db, server_url, seed):
    plan = arrange(db, seed)
    errors = run_mixed(db, plan, seed)
    assert errors == []
    db.execute("SELECT * FROM sync_all_sessions()")  # settle: whatever ran last, a final run changes nothing more
    concurrent = final_state(db)
    # No duplicate approved allocation, no session without its purchase's allocation.
    assert db.value("SELECT count(*) FROM (SELECT 1 FROM trainer_allocations WHERE status = 'approved' "
                    "GROUP BY student_id, trainer_id, course_id HAVING count(*) > 1) d") == 0
    assert db.dict("SELECT missing, drifted FROM session_sync_verify") == {"missing": 0, "drifted": 0} or \
        db.value("SELECT bool_and(reason IS NOT NULL) FROM session_sync_pending")
    # The same writes applied serially, on a copy of the starting state, give the same result.
    db.execute("SET session_sync.enabled = off")
    db.execute("TRUNCATE tutoring_sessions, trainer_allocations, session_sync_failures, session_sync_runs CASCADE")
    db.execute("SET session_sync.enabled = on")
    db.execute("SELECT * FROM sync_all_sessions()")
    assert final_state(db) == concurrent


def test_deadlock_free_overlapping_bulk_writers(db):
    """Two transactions syncing the same 400 purchases in opposite orders neither deadlock nor fail."""
    ids = []
    shared_student, shared_trainer, shared_course = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for i in range(400):
        pid = purchase(db, student_id=shared_student if i % 2 else None, trainer_id=shared_trainer,
                       course_id=shared_course if i % 2 else None)
        sessions(db, pid, 2)
        ids.append(pid)
    errors: list[BaseException] = []

    def writer(order: list) -> None:
        try:
            with db.connect(autocommit=True) as conn:
                for pid in order:
                    conn.execute("SELECT * FROM sync_purchase_sessions(%s)", (pid,))
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    def bulk() -> None:
        try:
            with db.connect(autocommit=True) as conn:
                conn.execute("SELECT * FROM sync_all_sessions()")
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(ids,)), threading.Thread(target=writer, args=(ids[::-1],)),
               threading.Thread(target=bulk)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 800
    assert db.value("SELECT count(*) FROM session_sync_failures") == 0


# --- faults -------------------------------------------------------------------------------------

def slow_down_inserts(db, seconds: float) -> None:
    db.execute(f"""CREATE FUNCTION test_slow() RETURNS trigger LANGUAGE plpgsql AS
                   $$ BEGIN PERFORM pg_sleep({seconds}); RETURN NULL; END $$""")
    db.execute("CREATE TRIGGER test_slow AFTER INSERT ON tutoring_sessions FOR EACH STATEMENT "
               "EXECUTE FUNCTION test_slow()")


def no_half_synced_purchase(db) -> bool:
    return db.value("""SELECT count(*) FROM (
        SELECT ps.purchase_id FROM purchase_sessions ps LEFT JOIN tutoring_sessions t ON t.id = ps.id
        GROUP BY ps.purchase_id HAVING count(t.id) NOT IN (0, count(*))) x""") == 0


def arrange_many(db, count: int = 12) -> None:
    for _ in range(count):
        sessions(db, purchase(db), 3)


def test_statement_timeout_leaves_nothing_half_done_and_next_run_completes(db):
    arrange_many(db)
    slow_down_inserts(db, 1.0)
    with db.connect(autocommit=True) as conn:
        conn.execute("SET statement_timeout = '300ms'")
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT * FROM sync_all_sessions()")
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 0
    assert db.value("SELECT count(*) FROM session_sync_runs") == 0
    db.execute("DROP TRIGGER test_slow ON tutoring_sessions")
    assert db.dict("SELECT * FROM sync_all_sessions()")["sessions_created"] == 36


def test_rows_other_transactions_hold_are_deferred_never_waited_for(db):
    arrange_many(db, 3)
    db.rows("SELECT * FROM sync_all_sessions()")
    victim, other = db.rows("SELECT id FROM course_purchases ORDER BY id LIMIT 2")
    db.execute("UPDATE purchase_sessions SET session_time = '06:30'")  # every session drifts (triggers off)
    held = db.value("SELECT id FROM purchase_sessions WHERE purchase_id = %s ORDER BY id LIMIT 1", victim[0])
    with db.connect() as holder, db.connect(autocommit=True) as conn:
        # A platform transaction holds one purchase row and one tutoring session of the victim.
        holder.execute("SELECT 1 FROM course_purchases WHERE id = %s FOR UPDATE", (other[0],))
        holder.execute("UPDATE tutoring_sessions SET notes = 'in use' WHERE id = %s", (held,))
        conn.execute("SET lock_timeout = '200ms'")  # it would raise, were the sync to wait
        run = conn.execute("SELECT run_id, purchases_synced, sessions_updated FROM sync_all_sessions()").fetchone()
        assert run[1:] == (2, 6)
        assert db.one("SELECT purchases_deferred FROM session_sync_runs WHERE run_id = %s", run[0]) == (1,)
        # Nothing of the deferred purchase was written: not half synced.
        assert db.value("SELECT count(*) FROM tutoring_sessions t JOIN purchase_sessions ps ON ps.id = t.id"
                        " WHERE ps.purchase_id = %s AND t.scheduled_time = '06:30'", victim[0]) == 0
        holder.rollback()
    # The deferred purchase is queued. The one whose purchase row the holder had locked is written
    # and not queued: a change the holder makes to it is synced at the holder's own COMMIT, which
    # sees this run's committed rows (or meets their row locks and defers).
    assert {r[0] for r in db.rows("SELECT purchase_id FROM session_sync_queue")} == {victim[0]}
    assert db.dict("SELECT * FROM sync_all_sessions()")["sessions_updated"] == 3
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


def test_terminated_backend_mid_run(db):
    arrange_many(db)
    slow_down_inserts(db, 2.0)
    conn = db.connect(autocommit=True)
    pid = conn.info.backend_pid
    errors: list[BaseException] = []

    def run() -> None:
        try:
            conn.execute("SELECT * FROM sync_all_sessions()")
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not db.value(
            "SELECT wait_event = 'PgSleep' FROM pg_stat_activity WHERE pid = %s", pid):
        time.sleep(0.05)
    assert db.value("SELECT pg_terminate_backend(%s)", pid)
    thread.join(timeout=30)
    assert errors and isinstance(errors[0], psycopg.OperationalError)
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 0 and no_half_synced_purchase(db)
    db.execute("DROP TRIGGER test_slow ON tutoring_sessions")
    assert db.dict("SELECT * FROM sync_all_sessions()")["sessions_created"] == 36


def test_batched_backfill_keeps_committed_batches_after_termination(db):
    arrange_many(db)
    slow_down_inserts(db, 0.5)
    conn = db.connect(autocommit=True)
    pid = conn.info.backend_pid

    def run() -> None:
        try:
            conn.execute("CALL sync_all_sessions_batched(p_batch_size => 2, p_quiet => true)")
        except psycopg.Error:
            pass

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and db.value("SELECT count(*) FROM tutoring_sessions") < 6:
        time.sleep(0.05)
    db.value("SELECT pg_terminate_backend(%s)", pid)
    thread.join(timeout=30)
    kept = db.value("SELECT count(*) FROM tutoring_sessions")
    assert 6 <= kept < 36 and no_half_synced_purchase(db)
    db.execute("DROP TRIGGER test_slow ON tutoring_sessions")
    with db.connect(autocommit=True) as again:  # a new session: the dead one's lock went with it
        again.execute("CALL sync_all_sessions_batched(p_quiet => true)")
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 36


def test_repeatable_read_writer_meeting_a_concurrent_change_commits_and_defers(db):
    """A REPEATABLE READ transaction whose sync at COMMIT meets a tutoring session changed after its
    snapshot would get a serialization failure; the sync catches it, writes nothing of that purchase
    and queues it, and the transaction commits."""
    pid = purchase(db)
    [sid, *_] = sessions(db, pid, 2)
    db.rows("SELECT * FROM sync_all_sessions()")
    with db.connect() as writer, db.connect(autocommit=True) as app:
        writer.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        writer.execute("SELECT count(*) FROM tutoring_sessions")  # the snapshot is taken here
        app.execute("UPDATE tutoring_sessions SET metadata = metadata || '{\"otpSentAt\": \"x\"}' WHERE id = %s",
                    (sid,))
        writer.execute("UPDATE purchase_sessions SET session_time = '07:10' WHERE id = %s", (sid,))
        writer.commit()  # no 40001
    assert db.one("SELECT scheduled_time, metadata ? 'otpSentAt' FROM tutoring_sessions WHERE id = %s", sid) == (
        "16:00", True)
    assert db.value("SELECT purchase_id FROM session_sync_queue") == pid
    db.rows("SELECT * FROM sync_all_sessions()")
    assert db.one("SELECT scheduled_time, metadata ? 'otpSentAt' FROM tutoring_sessions WHERE id = %s", sid) == (
        "07:10", True)


@pytest.mark.parametrize("isolation", ["repeatable read", "read committed"])
def test_a_session_inserted_by_another_transaction_first_defers_the_purchase(db, isolation):
    """A session another transaction inserted (and committed) after the write's snapshot: the
    purchase is deferred (queued, no failure recorded), the others of the run are synced, and the
    next run finds the session in sync. REPEATABLE READ makes the interleaving deterministic (its
    snapshot predates the other insert; the insert's ON CONFLICT meets a row it cannot see and
    raises 40001, which defers the purchase); in READ COMMITTED the other insert comes before the
    run's statement, which then sees it."""
    pid, other = purchase(db), purchase(db)
    s1, s2 = sessions(db, pid, 2)
    sessions(db, other, 1)
    db.execute("SELECT * FROM sync_purchase_sessions(%s)", pid)  # its allocation exists from now on
    db.execute("DELETE FROM tutoring_sessions WHERE id IN (%s, %s)", s1, s2)
    sync_all = db.connect()
    writer = db.connect(autocommit=True)
    try:
        sync_all.execute(f"SET TRANSACTION ISOLATION LEVEL {isolation.upper()}")
        sync_all.execute("SELECT count(*) FROM tutoring_sessions").fetchone()  # the snapshot (RR)
        # another writer (an operator's sync, say) inserts s1 as the sync would, and commits
        writer.execute("SELECT * FROM sync_purchase_sessions(%s)", (pid,))
        writer.execute("DELETE FROM tutoring_sessions WHERE id = %s", (s2,))
        cursor = sync_all.cursor(row_factory=psycopg.rows.dict_row)
        outcome = cursor.execute("SELECT * FROM sync_all_sessions()").fetchone()
        sync_all.commit()
    finally:
        sync_all.close()
        writer.close()
    if isolation == "repeatable read":
        assert (outcome["purchases_synced"], outcome["purchases_failed"], outcome["purchases_deferred"]) == (1, 0, 1)
        assert db.value("SELECT retry_reason FROM session_sync_runs WHERE run_id = %s", outcome["run_id"]) is not None
        assert db.value("SELECT count(*) FROM session_sync_queue WHERE purchase_id = %s", pid) == 1
    else:
        assert (outcome["purchases_failed"], outcome["purchases_deferred"]) == (0, 0)
    assert db.value("SELECT count(*) FROM session_sync_failures") == 0
    db.execute("SELECT * FROM sync_all_sessions()")
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)
