"""Every reason code: the error's SQLSTATE, message and hint, and that nothing changed."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from factories import purchase, sessions, sync

REASONS = {
    "PURCHASE_NOT_FOUND": "SS001", "NO_TRAINER": "SS002", "NOT_ASSIGNED": "SS003", "NO_STUDENT": "SS004",
    "MISSING_LOCATION": "SS005", "INVALID_COORDINATES": "SS006", "ALLOCATION_FAILED": "SS007",
    "SESSION_CONFLICT": "SS008", "SESSION_WRITE_FAILED": "SS009",
}


def snapshot(db):
    return db.rows("SELECT 'ts', to_jsonb(t)::text FROM tutoring_sessions t UNION ALL "
                   "SELECT 'ta', to_jsonb(a)::text FROM trainer_allocations a ORDER BY 1, 2")


def expect_failure(db, pid, reason):
    before = snapshot(db)
    with pytest.raises(psycopg.Error) as caught:
        sync(db, pid)
    error = caught.value
    assert error.sqlstate == REASONS[reason]
    assert error.diag.message_primary.startswith(f"{reason}: purchase {pid}")
    assert error.diag.message_hint
    assert snapshot(db) == before
    return error


def test_reasons_function_lists_codes_and_sqlstates(db):
    assert dict(db.rows("SELECT reason, sqlstate FROM session_sync_reasons()")) == REASONS
    assert db.value("SELECT bool_and(length(hint) > 20) FROM session_sync_reasons()")


def test_null_argument(db):
    with pytest.raises(psycopg.Error) as caught:
        sync(db, None)
    assert caught.value.sqlstate == "22004"
    assert "must not be NULL" in caught.value.diag.message_primary


def test_purchase_not_found(db):
    pid = uuid.uuid4()
    error = expect_failure(db, pid, "PURCHASE_NOT_FOUND")
    assert str(pid) in error.diag.message_hint


def test_no_trainer(db):
    pid = purchase(db, trainer_id=None)
    sessions(db, pid, 2)
    error = expect_failure(db, pid, "NO_TRAINER")
    assert "trainer_id" in error.diag.message_hint


def test_not_assigned(db):
    pid = purchase(db, status="WAITLISTED")
    sessions(db, pid, 2)
    assert "WAITLISTED" in expect_failure(db, pid, "NOT_ASSIGNED").diag.message_primary


@pytest.mark.parametrize("students", [
    [], [{"name": "no id"}], [{"id": "not-a-uuid"}], [{"id": 12345}], {"id": str(uuid.uuid4())}, "x", [None],
    [["nested"]],
])
def test_no_student(db, students):
    pid = purchase(db, students=students)
    sessions(db, pid, 1)
    expect_failure(db, pid, "NO_STUDENT")


@pytest.mark.parametrize("location", [
    None, {}, {"latitude": 12.9}, {"longitude": 77.5}, {"latitude": None, "longitude": 77.5},
    {"latitude": "", "longitude": ""}, {"latitude": 0, "longitude": 0}, {"latitude": "0", "longitude": "0.0"},
])
def test_missing_location(db, location):
    pid = purchase(db, student_location=location)
    sessions(db, pid, 1)
    expect_failure(db, pid, "MISSING_LOCATION")


@pytest.mark.parametrize("location", [
    {"latitude": "12abc", "longitude": 77.5}, {"latitude": "NaN", "longitude": 77.5},
    {"latitude": "Infinity", "longitude": 77.5}, {"latitude": 12.9, "longitude": "-Infinity"},
    {"latitude": 91, "longitude": 77.5}, {"latitude": 12.9, "longitude": -180.5},
    {"latitude": "1e2", "longitude": 7}, {"latitude": " 12", "longitude": 7}, {"latitude": True, "longitude": 7},
    {"latitude": [12], "longitude": 7}, {"latitude": {"v": 1}, "longitude": 7}, [12.9, 77.5], "12.9,77.5",
])
def test_invalid_coordinates(db, location):
    pid = purchase(db, student_location=location)
    sessions(db, pid, 1)
    expect_failure(db, pid, "INVALID_COORDINATES")


@pytest.mark.parametrize("location", [
    {"latitude": 90, "longitude": 180}, {"latitude": "-90", "longitude": "-180"}, {"latitude": ".5", "longitude": "+7"},
    {"latitude": 0, "longitude": 1}, {"latitude": "12.", "longitude": 1},
])
def test_valid_edge_coordinates(db, location):
    pid = purchase(db, student_location=location)
    sessions(db, pid, 1)
    assert sync(db, pid)["sessions_created"] == 1


def test_allocation_failed(db):
    pid = purchase(db)
    sessions(db, pid, 2)
    db.execute("ALTER TABLE trainer_allocations ADD CONSTRAINT test_no_new CHECK (status <> 'approved') NOT VALID")
    error = expect_failure(db, pid, "ALLOCATION_FAILED")
    assert "test_no_new" in error.diag.message_primary


def test_session_conflict(db):
    other, pid = purchase(db), purchase(db)
    [sid] = sessions(db, other, 1)
    sync(db, other)
    db.execute("UPDATE purchase_sessions SET purchase_id = %s WHERE id = %s", pid, sid)
    error = expect_failure(db, pid, "SESSION_CONFLICT")
    assert "another purchase" in error.diag.message_primary
