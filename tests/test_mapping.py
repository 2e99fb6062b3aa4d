"""Every row of the mapping (purchase session -> tutoring session, as session_sync_expected's contract states it),
checked on the tutoring session written."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from factories import purchase, sessions, sync


def tutoring(db, session_id):
    return db.dict("SELECT * FROM tutoring_sessions WHERE id = %s", session_id)


def test_each_mapped_column(db):
    student, course, trainer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    pid = purchase(db, student_id=student, course_id=course, trainer_id=trainer)
    [sid] = sessions(db, pid, 1, metadata={"isBookable": True}, time="17:30")
    result = sync(db, pid)
    row = tutoring(db, sid)
    assert row["id"] == sid
    assert row["allocation_id"] == result["allocation_id"]
    assert row["student_id"] == student
    assert row["trainer_id"] == trainer
    assert row["course_id"] == course
    assert row["scheduled_date"] == date(2026, 1, 5) + timedelta(days=1)
    assert row["scheduled_time"] == "17:30"
    assert row["duration"] == 40
    assert row["status"] == "scheduled"
    assert row["student_home_location"] == {
        "latitude": 12.9716, "longitude": 77.5946, "address": "12 MG Road, Bengaluru"}
    booking = db.value("SELECT booking_id FROM course_purchases WHERE id = %s", pid)
    assert row["metadata"] == {"isBookable": True, "purchaseId": str(pid), "bookingId": str(booking),
                               "sessionNumber": 1, "sessionType": "offline"}


@pytest.mark.parametrize("mode, minutes", [("SUNDAY_ONLY", 80), ("WEEKDAY_DAILY", 40)])
def test_duration_follows_delivery_mode(db, mode, minutes):
    pid = purchase(db, delivery_mode=mode)
    [sid] = sessions(db, pid, 1)
    sync(db, pid)
    assert tutoring(db, sid)["duration"] == minutes


@pytest.mark.parametrize("source, expected", [
    ("scheduled", "scheduled"), ("rescheduled", "scheduled"), ("completed", "completed"), ("cancelled", "cancelled"),
])
def test_status_mapping(db, source, expected):
    pid = purchase(db)
    [sid] = sessions(db, pid, 1, status=source)
    sync(db, pid)
    assert tutoring(db, sid)["status"] == expected


def test_string_coordinates_become_json_numbers(db):
    pid = purchase(db, student_location={"latitude": "12.50", "longitude": "-77.25"})
    [sid] = sessions(db, pid, 1)
    sync(db, pid)
    loc = tutoring(db, sid)["student_home_location"]
    assert loc == {"latitude": 12.50, "longitude": -77.25}
    assert db.value("SELECT jsonb_typeof(student_home_location->'latitude') FROM tutoring_sessions WHERE id = %s",
                    sid) == "number"


@pytest.mark.parametrize("address, kept", [("", False), (None, False), (42, False), ("Flat 3", True)])
def test_address_only_when_non_empty_string(db, address, kept):
    location = {"latitude": 10, "longitude": 20}
    if address is not None:
        location["address"] = address
    pid = purchase(db, student_location=location)
    [sid] = sessions(db, pid, 1)
    sync(db, pid)
    loc = tutoring(db, sid)["student_home_location"]
    assert ("address" in loc) is kept
    if kept:
        assert loc["address"] == address


def test_canonical_metadata_keys_win(db):
    pid = purchase(db)
    [sid] = sessions(db, pid, 1, metadata={"purchaseId": "bogus", "sessionNumber": 99, "isFixedTime": True},
                     session_type="online")
    sync(db, pid)
    meta = tutoring(db, sid)["metadata"]
    assert meta["purchaseId"] == str(pid)
    assert meta["sessionNumber"] == 1
    assert meta["sessionType"] == "online"
    assert meta["isFixedTime"] is True


def test_non_object_session_metadata_is_ignored(db):
    pid = purchase(db)
    [sid] = sessions(db, pid, 1, metadata=["not", "an", "object"])
    sync(db, pid)
    assert set(tutoring(db, sid)["metadata"]) == {"purchaseId", "bookingId", "sessionNumber", "sessionType"}


def test_new_allocation_as_prescribed(db):
    student, course, trainer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    pid = purchase(db, student_id=student, course_id=course, trainer_id=trainer, delivery_mode="SUNDAY_ONLY",
                   total_sessions=20, start_date=date(2026, 2, 1), preferred_time_slot="09:30")
    sessions(db, pid, 2)
    result = sync(db, pid)
    alloc = db.dict("SELECT *, allocated_at IS NOT NULL AS allocated FROM trainer_allocations WHERE id = %s",
                    result["allocation_id"])
    booking = db.value("SELECT booking_id FROM course_purchases WHERE id = %s", pid)
    assert (alloc["student_id"], alloc["trainer_id"], alloc["course_id"]) == (student, trainer, course)
    assert alloc["status"] == "approved"
    assert alloc["requested_by"] == student
    assert alloc["allocated"]
    assert alloc["metadata"] == {
        "sessionCount": 20, "isSundayOnly": True, "schedule": {"timeSlot": "09:30", "date": "2026-02-01"},
        "purchaseId": str(pid), "bookingId": str(booking)}


@pytest.mark.parametrize("session_metadata, tutoring_metadata_edit, state", [
    # The tutoring session's own extra keys are kept: still in sync.
    ({"isBookable": True}, {"verifiedBy": "otp"}, "in_sync"),
    # Containment is not equality for arrays and objects: [1, 2, 3] is not [1, 2].
    ({"slots": [1, 2]}, {"slots": [1, 2, 3]}, "drifted"),
    ({"flags": {"a": 1}}, {"flags": {"a": 1, "b": 2}}, "drifted"),
    ({"slots": [1, 2]}, {}, "in_sync"),
    # A purchase session key that names a canonical key loses to it, and is no drift.
    ({"purchaseId": "not-this-one"}, {}, "in_sync"),
    # Types count: the session number as a string, a JSON null for a missing key.
    ({}, {"sessionNumber": "1"}, "drifted"),
    ({}, {"sessionType": None}, "drifted"),
    ({"note": None}, {}, "in_sync"),
    ({"note": None}, {"note": "x"}, "drifted"),
])
def test_metadata_drift_is_what_merging_would_change(db, session_metadata, tutoring_metadata_edit, state):
    import json
    pid = purchase(db)
    [sid] = sessions(db, pid, 1, metadata=session_metadata)
    sync(db, pid)
    db.execute("UPDATE tutoring_sessions SET metadata = metadata || %s::jsonb WHERE id = %s",
               json.dumps(tutoring_metadata_edit), sid)
    assert db.value("SELECT state FROM session_sync_session_state WHERE session_id = %s", sid) == state
    merged_unchanged = db.value(
        "SELECT merged_metadata = t.metadata FROM session_sync_session_state s"
        " JOIN tutoring_sessions t ON t.id = s.session_id WHERE s.session_id = %s", sid)
    assert merged_unchanged == (state == "in_sync")
