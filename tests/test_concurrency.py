"""Several real connections syncing overlapping purchases at once, and runs cut off mid-way."""

from __future__ import annotations

import random
import threading
import time
import uuid

import psycopg
import pytest

from factories import purchase, sessions
from helpers import commit_error, describe, in_thread, wait_blocked

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


# --- the platform's COMMIT never waits for, nor deadlocks with, an open run -------------------

def test_platform_commit_is_not_killed_by_a_deadlock_on_the_change_log(db):
    """An operator's run left open (psql: BEGIN; SELECT * FROM sync_all_sessions(); ...) deleted
    the change-log rows of a queued purchase, then waits for a row a platform transaction holds;
    the platform transaction's COMMIT (whose sync deletes the same change-log rows) must neither
    wait for the run nor be killed as a deadlock victim (40P01): the change-log DELETE is the one
    statement of the sync that could wait without bound, and it skips what others hold."""
    pid = purchase(db)
    s1, s2 = sessions(db, pid, 2)
    db.execute("SELECT * FROM sync_all_sessions()")
    with db.connect(autocommit=True) as app:  # an app records an OTP: the purchase is queued
        app.execute("UPDATE tutoring_sessions SET metadata = metadata || '{\"otpSentAt\": \"x\"}' WHERE id = %s",
                    (s1,))
    op = db.connect()  # cron / operator: a run inside a transaction (psql BEGIN; SELECT ...)
    plat = db.connect()
    try:
        op.execute("SELECT * FROM sync_all_sessions()")
        plat.execute("UPDATE purchase_sessions SET session_time = '10:00' WHERE id = %s", (s2,))
        thread, out = in_thread(lambda: op.execute(
            "UPDATE purchase_sessions SET status = 'cancelled' WHERE id = %s", (s2,)))
        wait_blocked(db, op.info.backend_pid)
        time.sleep(1.5)  # past deadlock_timeout: the operator's check found no cycle yet
        try:
            plat.commit()
            committed = None
        except psycopg.Error as error:
            committed = error
            plat.rollback()
        thread.join(30)
        op.rollback()
    finally:
        op.close()
        plat.close()
    assert committed is None, f"the platform's COMMIT failed: {committed.sqlstate} {committed}"


def test_bulk_platform_commit_does_not_wait_for_an_open_run(db):
    """An operator runs BEGIN; SELECT * FROM sync_all_sessions(); and leaves the transaction open
    (it inserted the tutoring sessions of N queued purchases). A platform transaction touching
    the same N purchases (one UPDATE) commits without waiting for it: its sync's set-based
    INSERT meets the uncommitted rows once (lock_timeout 50 ms) and defers the whole set, rather
    than retrying purchase by purchase (N x 50 ms)."""
    n = 100
    for _ in range(n):
        sessions(db, purchase(db), 1)
    db.execute("SELECT session_sync_enqueue()")
    op = db.connect()
    try:
        op.execute("SELECT * FROM sync_all_sessions()").fetchone()
        with db.connect() as plat:
            plat.execute("UPDATE purchase_sessions SET session_time = '10:00'")
            started = time.monotonic()
            error = commit_error(plat)
            waited = time.monotonic() - started
    finally:
        op.rollback()
        op.close()
    assert error is None, describe(error)
    assert waited < 1.0, f"the platform's COMMIT waited {waited:.1f}s for the operator's open run"


# --- a set-based write another transaction holds up defers the whole set ----------------------

def test_run_summary_adds_up_when_an_apps_open_insert_defers_the_set(db):
    """An app's open transaction inserted (uncommitted) a tutoring session with the id of a queued
    purchase's session: the run's set-based INSERT waits lock_timeout 50 ms and fails (55P03).
    Every purchase of the set is deferred at once (queued), none retried one by one, and the
    summary adds up; the next run syncs them."""
    pids = [purchase(db) for _ in range(3)]
    ids = [sessions(db, p, 2) for p in pids]
    db.execute("SELECT session_sync_enqueue()")
    info = db.one("SELECT student_id FROM course_purchases, LATERAL (SELECT (students->0->>'id')::uuid) s(student_id)"
                  " WHERE id = %s", pids[0])
    with db.connect() as app:
        alloc = app.execute("INSERT INTO trainer_allocations (student_id, requested_by, status) VALUES (%s, %s,"
                            " 'pending') RETURNING id", (info[0], info[0])).fetchone()[0]
        app.execute("INSERT INTO tutoring_sessions (id, allocation_id, student_id, trainer_id, scheduled_date,"
                    " scheduled_time, metadata) VALUES (%s, %s, %s, gen_random_uuid(), '2026-01-06', '16:00',"
                    " jsonb_build_object('purchaseId', %s::text))", (ids[0][0], alloc, info[0], str(pids[0])))
        row = db.dict("SELECT * FROM sync_all_sessions()")
        run = db.dict("SELECT * FROM session_sync_runs WHERE run_id = %s", row["run_id"])
        app.rollback()
    assert run["purchases_retried"] == 0 and run["retry_reason"].startswith("55P03"), run
    assert row["purchases_examined"] == 3
    assert (row["purchases_synced"], row["purchases_deferred"], row["purchases_failed"],
            row["purchases_in_sync"]) == (0, 3, 0, 0), row
    assert db.value("SELECT count(*) FROM session_sync_queue") == 3
    assert db.dict("SELECT * FROM sync_all_sessions()")["purchases_synced"] == 3
    assert run["purchases_examined"] == (run["purchases_synced"] + run["purchases_in_sync"]
                                         + run["purchases_failed"] + run["purchases_deferred"])


def test_a_write_held_by_an_operators_open_run_defers_all_and_counts_add_up(db):
    """An operator's open run inserted P1's sessions; cron's run examines P1 and P2 (both
    queued), its set-based write waits 50 ms on P1's uncommitted insert (55P03) and defers both.
    Both stay queued, and the run's counts add up."""
    p1 = purchase(db)
    sessions(db, p1, 1)
    p2 = purchase(db)
    sessions(db, p2, 1)
    with db.connect() as op:
        op.execute("SET session_sync.enabled = off")
        op.execute("SELECT * FROM sync_purchase_sessions(%s)", (p1,)).fetchall()  # uncommitted insert
        run = db.dict("SELECT * FROM sync_all_sessions()")
        op.rollback()
    queued = {r[0] for r in db.rows("SELECT DISTINCT purchase_id FROM session_sync_changes")}
    row = db.dict("SELECT * FROM session_sync_runs ORDER BY run_id DESC LIMIT 1")
    assert (row["retry_reason"] or "").startswith("55P03"), row  # the path under test was taken
    assert {p1, p2} <= queued, (queued, run)
    assert row["purchases_examined"] == (row["purchases_synced"] + row["purchases_failed"]
                                         + row["purchases_deferred"] + row["purchases_in_sync"]), row


def test_a_conflict_committed_during_the_write_costs_one_wait_not_one_per_purchase(db):
    """READ COMMITTED run. U1 (an open transaction) inserted the session with the lowest id, U2
    (another open transaction, an operator's run) inserted the sessions of K other purchases.
    The run's set-based insert waits on U1; U1 commits during that wait. The insert (ON CONFLICT
    DO NOTHING) skips U1's row, then waits 50 ms on U2 and defers everything at once (55P03):
    no purchase-by-purchase retry, each waiting 50 ms again, and nothing recorded as failed."""
    k = 12
    pids = [purchase(db) for _ in range(k + 1)]
    ids = {p: sessions(db, p, 1)[0] for p in pids}
    for p in pids:
        db.execute("SELECT * FROM sync_purchase_sessions(%s)", p)  # the allocations exist from now on
    db.execute("DELETE FROM tutoring_sessions")
    db.execute("SELECT session_sync_enqueue()")
    first = min(pids, key=lambda p: ids[p])
    held = [p for p in pids if p != first]
    u1 = db.connect(options="-c session_sync.enabled=off")
    u2 = db.connect(options="-c session_sync.enabled=off")
    runner = db.connect(autocommit=True)
    watcher = db.connect(autocommit=True)
    outcome: dict = {}
    try:
        u1.execute("SELECT * FROM sync_purchase_sessions(%s)", (first,)).fetchall()
        for p in held:
            u2.execute("SELECT * FROM sync_purchase_sessions(%s)", (p,)).fetchall()
        run_pid = runner.info.backend_pid

        def run() -> None:
            started = time.monotonic()
            cur = runner.cursor(row_factory=psycopg.rows.dict_row)
            outcome["row"] = cur.execute("SELECT * FROM sync_all_sessions()").fetchone()
            outcome["elapsed"] = time.monotonic() - started

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if watcher.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                               (run_pid,)).fetchone()[0]:
                break
        u1.commit()  # U1 commits while the run's insert waits on it
        thread.join(30)
        u2.rollback()
    finally:
        for conn in (u1, u2, runner, watcher):
            conn.close()
    row = outcome["row"]
    run = db.dict("SELECT * FROM session_sync_runs WHERE run_id = %s", row["run_id"])
    assert db.value("SELECT count(*) FROM session_sync_failures") == 0
    # one 50 ms wait, all deferred at once
    assert run["purchases_retried"] == 0, (run["retry_reason"], run["purchases_retried"], outcome["elapsed"])
    assert outcome["elapsed"] < 0.3, outcome["elapsed"]


# --- failure retention under concurrent failures ----------------------------------------------

def test_concurrent_failures_of_one_purchase_keep_one_row(db):
    """Three platform transactions rescheduling sessions of one bad purchase at once (each with
    SET CONSTRAINTS ALL IMMEDIATE) and a cron run. Only one sync at COMMIT of a purchase runs at a
    time: the first records its failure, the two others find the purchase held and queue it
    (never waiting), and so does the run while that transaction is open. No count is lost,
    session_sync_open_failures adds them up (and shows the first failure's time), and the next
    failure leaves one row."""
    pid = purchase(db, student_location={"latitude": "abc", "longitude": 1})
    ids = sessions(db, pid, 3)
    db.execute("SELECT * FROM sync_all_sessions()")
    open_transactions = []
    try:
        for number, sid in enumerate(ids):
            conn = db.connect()
            conn.execute("UPDATE purchase_sessions SET session_time = %s WHERE id = %s", (f"1{number}:00", sid))
            conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
            open_transactions.append(conn)
        db.execute("SELECT * FROM sync_all_sessions()")
        for conn in open_transactions:
            conn.commit()
    finally:
        for conn in open_transactions:
            conn.close()
    rows = db.rows("SELECT occurrences FROM session_sync_failures WHERE purchase_id = %s ORDER BY failure_id", pid)
    assert sum(r[0] for r in rows) == 2  # the first run, the first COMMIT
    assert db.value("SELECT count(*) FROM session_sync_queue WHERE purchase_id = %s", pid) == 1
    first = db.value("SELECT min(first_failed_at) FROM session_sync_failures WHERE purchase_id = %s", pid)
    assert db.one("SELECT occurrences, first_failed_at FROM session_sync_open_failures WHERE purchase_id = %s",
                  pid) == (2, first)
    db.execute("SELECT * FROM sync_all_sessions()")
    assert db.rows("SELECT occurrences FROM session_sync_failures WHERE purchase_id = %s", pid) == [(3,)]
