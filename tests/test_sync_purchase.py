"""sync_purchase_sessions(uuid): counts, idempotency, allocations, protected sessions, trainer change."""

from __future__ import annotations

import uuid

import pytest

from factories import purchase, sessions, sync

PROTECTED = ["pending_verification", "in_progress", "pending_confirmation", "completed", "disputed"]


def test_creates_missing_then_is_idempotent(db):
    pid = purchase(db)
    sessions(db, pid, 10)
    first = sync(db, pid)
    assert (first["purchase_id"], first["sessions_created"], first["sessions_updated"]) == (pid, 10, 0)
    second = sync(db, pid)
    assert (second["sessions_created"], second["sessions_updated"], second["sessions_unchanged"]) == (0, 0, 10)
    assert second["allocation_id"] == first["allocation_id"]
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 10
    assert db.value("SELECT count(*) FROM trainer_allocations") == 1


def test_returns_exactly_one_row_with_the_documented_columns(db):
    pid = purchase(db)
    sessions(db, pid, 1)
    with db.conn.cursor() as cur:
        cur.execute("SELECT * FROM sync_purchase_sessions(%s)", (pid,))
        assert [c.name for c in cur.description] == [
            "purchase_id", "allocation_id", "sessions_created", "sessions_updated", "sessions_unchanged",
            "sessions_protected"]
        assert len(cur.fetchall()) == 1


def test_updates_drifted_session(db):
    pid = purchase(db)
    ids = sessions(db, pid, 3)
    sync(db, pid)
    db.execute("UPDATE purchase_sessions SET session_date = session_date + 7, session_time = '18:00', "
               "status = 'rescheduled' WHERE id = %s", ids[0])
    result = sync(db, pid)
    assert (result["sessions_created"], result["sessions_updated"], result["sessions_unchanged"]) == (0, 1, 2)
    row = db.dict("SELECT t.scheduled_date = p.session_date AS same_date, t.scheduled_time FROM tutoring_sessions t "
                  "JOIN purchase_sessions p ON p.id = t.id WHERE t.id = %s", ids[0])
    assert row == {"same_date": True, "scheduled_time": "18:00"}


def test_update_keeps_the_apps_own_metadata_keys(db):
    pid = purchase(db)
    [sid] = sessions(db, pid, 1)
    sync(db, pid)
    db.execute("UPDATE tutoring_sessions SET metadata = metadata || '{\"trainerNote\": \"bring book\"}', "
               "scheduled_time = '07:00' WHERE id = %s", sid)
    assert sync(db, pid)["sessions_updated"] == 1
    meta = db.value("SELECT metadata FROM tutoring_sessions WHERE id = %s", sid)
    assert meta["trainerNote"] == "bring book"
    assert meta["purchaseId"] == str(pid)


@pytest.mark.parametrize("status", PROTECTED)
def test_protected_sessions_are_counted_and_never_changed(db, status):
    pid = purchase(db)
    ids = sessions(db, pid, 2)
    sync(db, pid)
    db.execute("UPDATE tutoring_sessions SET status = %s, scheduled_time = '06:00' WHERE id = %s", status, ids[0])
    before = db.value("SELECT to_jsonb(t) FROM tutoring_sessions t WHERE id = %s", ids[0])
    db.execute("UPDATE purchase_sessions SET session_time = '20:00' WHERE purchase_id = %s", pid)
    result = sync(db, pid)
    assert (result["sessions_updated"], result["sessions_protected"]) == (1, 1)
    assert db.value("SELECT to_jsonb(t) FROM tutoring_sessions t WHERE id = %s", ids[0]) == before


def test_cancelled_tutoring_session_is_not_protected(db):
    pid = purchase(db)
    [sid] = sessions(db, pid, 1)
    sync(db, pid)
    db.execute("UPDATE tutoring_sessions SET status = 'cancelled' WHERE id = %s", sid)
    assert sync(db, pid)["sessions_updated"] == 1
    assert db.value("SELECT status FROM tutoring_sessions WHERE id = %s", sid) == "scheduled"


def test_reuses_existing_approved_allocation(db):
    student, course, trainer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    existing = db.value(
        "INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status) "
        "VALUES (%s, %s, %s, %s, 'approved') RETURNING id", student, trainer, course, student)
    pid = purchase(db, student_id=student, course_id=course, trainer_id=trainer)
    sessions(db, pid, 2)
    assert sync(db, pid)["allocation_id"] == existing
    assert db.value("SELECT count(*) FROM trainer_allocations") == 1


def test_reuses_active_allocation_when_no_approved_one(db):
    student, course, trainer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    existing = db.value(
        "INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status) "
        "VALUES (%s, %s, %s, %s, 'active') RETURNING id", student, trainer, course, student)
    db.execute("INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status) "
               "VALUES (%s, %s, %s, %s, 'rejected')", student, trainer, course, student)
    pid = purchase(db, student_id=student, course_id=course, trainer_id=trainer)
    sessions(db, pid, 1)
    assert sync(db, pid)["allocation_id"] == existing
    assert db.value("SELECT count(*) FROM trainer_allocations") == 2


def test_two_purchases_of_same_student_trainer_course_share_one_allocation(db):
    student, course, trainer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    first = purchase(db, student_id=student, course_id=course, trainer_id=trainer)
    second = purchase(db, student_id=student, course_id=course, trainer_id=trainer)
    sessions(db, first, 1)
    sessions(db, second, 1)
    assert sync(db, first)["allocation_id"] == sync(db, second)["allocation_id"]
    assert db.value("SELECT count(*) FROM trainer_allocations WHERE status = 'approved'") == 1


def test_trainer_change_moves_unprotected_sessions(db):
    old_trainer, new_trainer = uuid.uuid4(), uuid.uuid4()
    pid = purchase(db, trainer_id=old_trainer)
    ids = sessions(db, pid, 3)
    old_alloc = sync(db, pid)["allocation_id"]
    db.execute("UPDATE tutoring_sessions SET status = 'completed' WHERE id = %s", ids[0])
    db.execute("UPDATE course_purchases SET trainer_id = %s WHERE id = %s", new_trainer, pid)
    result = sync(db, pid)
    assert result["allocation_id"] != old_alloc
    assert (result["sessions_updated"], result["sessions_protected"]) == (2, 1)
    rows = dict(db.rows("SELECT id, (trainer_id, allocation_id)::text FROM tutoring_sessions"))
    assert rows[ids[0]] == f"({old_trainer},{old_alloc})"
    for sid in ids[1:]:
        assert rows[sid] == f"({new_trainer},{result['allocation_id']})"
    assert db.value("SELECT trainer_id FROM trainer_allocations WHERE id = %s", result["allocation_id"]) == new_trainer


def test_purchase_with_no_sessions_is_not_an_error(db):
    pid = purchase(db)
    result = sync(db, pid)
    assert (result["sessions_created"], result["sessions_updated"], result["sessions_unchanged"],
            result["sessions_protected"]) == (0, 0, 0, 0)


def test_all_or_nothing_when_a_session_write_fails(db):
    pid = purchase(db)
    ids = sessions(db, pid, 3)
    # A platform constraint that rejects one of the three sessions.
    db.execute("ALTER TABLE tutoring_sessions ADD CONSTRAINT test_no_late CHECK (scheduled_time <> '23:59')")
    db.execute("UPDATE purchase_sessions SET session_time = '23:59' WHERE id = %s", ids[2])
    with pytest.raises(Exception) as caught:
        sync(db, pid)
    assert caught.value.sqlstate == "SS009"
    assert caught.value.diag.message_primary.startswith("SESSION_WRITE_FAILED: purchase " + str(pid))
    assert "test_no_late" in str(caught.value)
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 0
    assert db.value("SELECT count(*) FROM trainer_allocations") == 0
