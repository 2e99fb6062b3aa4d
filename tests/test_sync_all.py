"""sync_all_sessions(): coverage with no cap, failure isolation, dry run, run and failure records."""

from __future__ import annotations

import uuid

import psycopg

from factories import bulk, purchase, sessions, sync, sync_all


def state(db):
    return db.rows("SELECT to_jsonb(t) - 'updated_at' - 'created_at' FROM tutoring_sessions t ORDER BY id")


def test_returns_one_summary_row_with_documented_columns(db):
    with db.conn.cursor() as cur:
        cur.execute("SELECT * FROM sync_all_sessions()")
        assert [c.name for c in cur.description] == [
            "run_id", "purchases_synced", "purchases_failed", "sessions_created", "sessions_updated",
            "purchases_examined", "purchases_in_sync", "purchases_deferred"]
        assert len(cur.fetchall()) == 1


def test_syncs_more_than_200_purchases(db):
    # The platform's endpoint stops after 200 purchases; there is no cap here.
    bulk(db, 250, 10)
    result = sync_all(db)
    assert (result["purchases_synced"], result["purchases_failed"], result["sessions_created"]) == (250, 0, 2500)
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 2500
    assert sync_all(db)["purchases_synced"] == 0


def test_failing_purchase_is_recorded_and_does_not_stop_others(db):
    good = purchase(db)
    bad = purchase(db, student_location={"latitude": "12abc", "longitude": 77})
    no_trainer = purchase(db, trainer_id=None)
    sessions(db, good, 3)
    sessions(db, bad, 3)
    sessions(db, no_trainer, 3)
    result = sync_all(db)
    assert (result["purchases_synced"], result["purchases_failed"], result["sessions_created"]) == (1, 1, 3)
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE metadata->>'purchaseId' = %s", str(bad)) == 0
    failure = db.dict("SELECT * FROM session_sync_failures")
    assert failure["run_id"] == result["run_id"]
    assert (failure["purchase_id"], failure["reason"], failure["source"]) == (bad, "INVALID_COORDINATES", "manual")
    assert failure["message"].startswith(f"INVALID_COORDINATES: purchase {bad}")
    assert failure["hint"] and failure["failed_at"]


def test_write_failure_isolated_to_its_purchase(db):
    first, second, third = purchase(db), purchase(db), purchase(db)
    for pid in (first, second, third):
        sessions(db, pid, 3)
    db.execute("ALTER TABLE tutoring_sessions ADD CONSTRAINT test_no_late CHECK (scheduled_time <> '23:59')")
    db.execute("UPDATE purchase_sessions SET session_time = '23:59' WHERE purchase_id = %s AND session_number = 3",
               second)
    result = sync_all(db)
    assert (result["purchases_synced"], result["purchases_failed"], result["sessions_created"]) == (2, 1, 6)
    # The failing purchase is untouched: none of its sessions and no allocation of its own.
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE metadata->>'purchaseId' = %s", str(second)) == 0
    assert db.value("SELECT count(*) FROM trainer_allocations WHERE metadata->>'purchaseId' = %s", str(second)) == 0
    assert db.one("SELECT reason, source FROM session_sync_failures") == ("SESSION_WRITE_FAILED", "manual")
    assert "test_no_late" in db.value("SELECT message FROM session_sync_failures")


def test_allocation_failure_isolated(db):
    ok = purchase(db)
    sessions(db, ok, 2)
    sync(db, ok)  # its allocation exists already
    db.execute("UPDATE purchase_sessions SET session_time = '07:00' WHERE purchase_id = %s", ok)
    blocked = purchase(db)
    sessions(db, blocked, 2)
    db.execute("ALTER TABLE trainer_allocations ADD CONSTRAINT test_no_new CHECK (status <> 'approved') NOT VALID")
    result = sync_all(db)
    assert (result["purchases_synced"], result["purchases_failed"], result["sessions_updated"]) == (1, 1, 2)
    assert db.one("SELECT purchase_id, reason FROM session_sync_failures") == (blocked, "ALLOCATION_FAILED")


def test_dry_run_reports_the_real_run_and_writes_nothing(db):
    good = purchase(db)
    sessions(db, good, 4)
    drifted = purchase(db)
    sessions(db, drifted, 2)
    sync(db, drifted)
    db.execute("UPDATE purchase_sessions SET session_time = '08:00' WHERE purchase_id = %s", drifted)
    bad = purchase(db, students=[{"id": "nope"}])
    sessions(db, bad, 1)
    before = (state(db), db.rows("SELECT to_jsonb(a) FROM trainer_allocations a ORDER BY id"))
    dry = sync_all(db, dry_run=True)
    assert (state(db), db.rows("SELECT to_jsonb(a) FROM trainer_allocations a ORDER BY id")) == before
    assert db.value("SELECT count(*) FROM session_sync_failures") == 0
    assert dry["run_id"] is None and db.value("SELECT count(*) FROM session_sync_runs") == 0
    with db.connect() as conn:  # a dry run writes nothing at all: it works in a READ ONLY transaction
        conn.execute("SET TRANSACTION READ ONLY")
        assert conn.execute("SELECT purchases_synced FROM sync_all_sessions(p_dry_run => true)").fetchone() == (2,)
    real = sync_all(db)
    counts = ("purchases_synced", "purchases_failed", "sessions_created", "sessions_updated")
    assert [dry[k] for k in counts] == [real[k] for k in counts] == [2, 1, 4, 2]


def test_every_run_is_recorded(db):
    pid = purchase(db)
    sessions(db, pid, 2)
    result = sync_all(db)
    run = db.dict("SELECT * FROM session_sync_runs WHERE run_id = %s", result["run_id"])
    assert run["source"] == "manual" and run["dry_run"] is False
    assert run["finished_at"] >= run["started_at"]
    assert (run["purchases_synced"], run["purchases_failed"], run["sessions_created"], run["sessions_updated"]) == (
        1, 0, 2, 0)


def test_protected_and_trainer_change_through_sync_all(db):
    pid = purchase(db)
    ids = sessions(db, pid, 3)
    sync_all(db)
    db.execute("UPDATE tutoring_sessions SET status = 'disputed' WHERE id = %s", ids[0])
    new_trainer = uuid.uuid4()
    db.execute("UPDATE course_purchases SET trainer_id = %s WHERE id = %s", new_trainer, pid)
    result = sync_all(db)
    assert result["sessions_updated"] == 2
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE trainer_id = %s", new_trainer) == 2
    assert db.value("SELECT status FROM tutoring_sessions WHERE id = %s", ids[0]) == "disputed"


def test_null_arguments_rejected(db):
    try:
        db.execute("SELECT * FROM sync_all_sessions(p_dry_run => NULL)")
    except psycopg.Error as error:
        assert error.sqlstate == "22004"
    else:
        raise AssertionError("expected an error")
    assert db.value("SELECT count(*) FROM session_sync_runs") == 0


def test_set_based_one_apply_for_the_whole_run(db):
    bulk(db, 300, 5)
    with db.connect(autocommit=True) as conn:
        conn.execute("SET track_functions = 'pl'")
        with conn.transaction():
            created = conn.execute("SELECT sessions_created FROM sync_all_sessions()").fetchone()[0]
            calls = dict(conn.execute("SELECT funcname, calls FROM pg_stat_xact_user_functions").fetchall())
    assert created == 1500
    # One set-based write for 300 purchases and 1,500 sessions; no per-purchase or per-session calls.
    assert calls["session_sync_write"] == 1


def test_notice_reports_the_run_and_can_be_silenced(db):
    sessions(db, purchase(db), 2)
    notices: list[str] = []
    with db.connect(autocommit=True) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary))
        conn.execute("SELECT * FROM sync_all_sessions(p_dry_run => true)")
        conn.execute("SET client_min_messages = warning")
        conn.execute("SELECT * FROM sync_all_sessions()")
    assert len(notices) == 1 and "dry run" in notices[0]
    assert "1 purchases examined: 1 synced, 0 with nothing to write, 0 failed, 0 deferred" in notices[0]


# --- the allocation a run creates --------------------------------------------------------------

def allocations(db, student, trainer, course) -> list[tuple]:
    return db.rows("""SELECT status, metadata ->> 'purchaseId' FROM trainer_allocations
                      WHERE student_id = %s AND trainer_id = %s AND course_id = %s""", student, trainer, course)


def test_allocation_is_the_oldest_syncable_purchases_in_one_batch(db):
    """Four purchases of one (student, trainer, course), oldest first: A has a SESSION_CONFLICT,
    B invalid coordinates, C no sessions, D syncable. One batch (sync_all_sessions): one
    approved allocation, with D's metadata (the allocation is created only for purchases that
    lack it and can be synced); A and B failed, nothing written for them."""
    student, trainer, course = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ids = []
    for n, location in enumerate([None, {"latitude": 91, "longitude": 1}, None, None]):
        kwargs = {"student_location": location} if location else {}
        pid = purchase(db, student_id=student, trainer_id=trainer, course_id=course, **kwargs)
        db.execute("UPDATE course_purchases SET created_at = now() - make_interval(days => 10 - %s) WHERE id = %s",
                   n, pid)
        ids.append(pid)
    a, b, c, d = ids
    (a1, _) = sessions(db, a, 2)
    sessions(db, b, 2)
    sessions(db, d, 2)
    # An app's allocation (not the sync's) and an app's tutoring session with a1's id, no purchaseId.
    other = db.value("""INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status)
                        VALUES (%s, %s, %s, %s, 'pending') RETURNING id""", student, trainer, uuid.uuid4(), student)
    db.execute("""INSERT INTO tutoring_sessions (id, allocation_id, student_id, trainer_id, scheduled_date,
                      scheduled_time, metadata) VALUES (%s, %s, %s, %s, '2026-01-06', '16:00', '{"app": 1}')""",
               a1, other, student, trainer)
    db.execute("SELECT session_sync_enqueue(%s::uuid[])", [a, b, c, d])
    result = db.dict("SELECT * FROM sync_all_sessions()")
    assert allocations(db, student, trainer, course) == [("approved", str(d))]
    assert result["purchases_failed"] == 2
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE metadata ->> 'purchaseId' IN (%s, %s)",
                    str(a), str(b)) == 0
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE metadata ->> 'purchaseId' = %s", str(d)) == 2


def test_conflicting_purchase_alone_creates_no_allocation(db):
    """A purchase whose only conflict is a session whose purchaseId names another purchase:
    no allocation, SESSION_CONFLICT."""
    student, trainer, course = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    a = purchase(db, student_id=student, trainer_id=trainer, course_id=course)
    (a1, a2) = sessions(db, a, 2)
    other = db.value("""INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status)
                        VALUES (%s, %s, %s, %s, 'pending') RETURNING id""", student, trainer, uuid.uuid4(), student)
    db.execute("""INSERT INTO tutoring_sessions (id, allocation_id, student_id, trainer_id, scheduled_date,
                      scheduled_time, metadata) VALUES (%s, %s, %s, %s, '2026-01-07', '16:00', %s::jsonb)""",
               a2, other, student, trainer, '{"purchaseId": "%s"}' % str(uuid.uuid4()).upper())
    db.execute("SELECT session_sync_enqueue(%s::uuid[])", [a])
    result = db.dict("SELECT * FROM sync_all_sessions()")
    assert allocations(db, student, trainer, course) == []
    assert db.value("SELECT reason FROM session_sync_failures WHERE purchase_id = %s", a) == "SESSION_CONFLICT"
    assert result["sessions_created"] == 0
