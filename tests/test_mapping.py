"""The mapping (session_sync_expected), row by row, checked on the tutoring session written; and
every place that lists the mapped columns again, checked against it."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest

from factories import purchase, sessions, sync
from helpers import ROOT


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


# --- the mapped columns, listed again elsewhere ---------------------------------------------------
#
# The mapped columns are session_sync_expected's columns that tutoring_sessions also has, but
# metadata (merged, not mapped). The drift test, the write and the tracking trigger list them
# again, written out; the note trigger lists the purchase_sessions columns the mapping reads. A
# mapped column missing from one of those lists would be written by no one, or its drift or an
# app's edit of it never noticed; a column read but not in the note trigger's list would change
# without being synced. The files are read as text (comments dropped); each failure names the
# file to change.

SQL = ROOT / "sql"
STATE = "views/session_sync_session_state.sql"
EXPECTED = "views/session_sync_expected.sql"
WRITE = "functions/session_sync_write.sql"
TRACKING = "triggers/session_sync_tracking_triggers.sql"
NOTE = "triggers/session_sync_note_triggers.sql"


def code(name: str) -> str:
    """sql/NAME without its -- comments and its COMMENT ON statements (contracts are prose)."""
    text = "\n".join(line.split("--")[0] for line in (SQL / name).read_text().splitlines())
    return re.split(r"^COMMENT ON ", text, flags=re.MULTILINE)[0]


def prefixed_lists(text: str, prefix: str) -> list[list[str]]:
    """Every parenthesised list of two or more ``prefix.column`` items, as column names."""
    item = rf"{re.escape(prefix)}\.\w+"
    found = re.findall(rf"\(\s*({item}(?:\s*,\s*{item})+)\s*\)", text)
    return [[part.strip().split(".", 1)[1] for part in match.split(",")] for match in found]


def one_list(text: str, prefix: str, name: str, what: str) -> list[str]:
    lists = prefixed_lists(text, prefix)
    assert len(lists) == 1, (f"sql/{name}: expected one list ({prefix}.a, {prefix}.b, ...) — {what} — found "
                             f"{len(lists)}; if it moved to another file, point this test there")
    return lists[0]


def trigger_block(name: str, trigger: str) -> str:
    blocks = re.split(r"(?=CREATE (?:OR REPLACE )?TRIGGER )", code(name))
    mine = [b for b in blocks if re.match(rf"CREATE (?:OR REPLACE )?TRIGGER {trigger}\b", b)]
    assert len(mine) == 1, f"sql/{name}: trigger {trigger} not found; if it moved to another file, point this test there"
    return mine[0]


@pytest.fixture
def catalog(db):
    def columns(relation: str) -> dict[str, str]:
        return dict(db.rows("SELECT attname, atttypid::regtype::text FROM pg_attribute WHERE attrelid = %s::regclass"
                            " AND attnum > 0 AND NOT attisdropped ORDER BY attnum", relation))
    return columns


def mapped(catalog) -> list[str]:
    tutoring = catalog("public.tutoring_sessions")
    return [c for c in catalog("public.session_sync_expected") if c in tutoring and c != "metadata"]


def test_the_mapped_columns_have_the_tutoring_sessions_types(catalog):
    """A mapped column of another type than the tutoring session's would never compare equal."""
    view, tutoring = catalog("public.session_sync_expected"), catalog("public.tutoring_sessions")
    columns = mapped(catalog)
    assert len(columns) >= 9, columns
    assert {c: view[c] for c in columns} == {c: tutoring[c] for c in columns}, f"sql/{EXPECTED}: cast each column"


def test_the_drift_test_lists_every_mapped_column(catalog):
    columns = mapped(catalog)
    text = code(STATE)
    tutoring = one_list(text, "t", STATE, "the tutoring session's side of the drift test")
    expected = one_list(text, "e", STATE, "the expected side of the drift test")
    assert set(tutoring) == set(columns), f"sql/{STATE}: the drift test's (t.allocation_id, ...) list"
    assert expected == tutoring, f"sql/{STATE}: the (e.allocation_id, ...) list, in the order of the (t. ...) one"
    # the state view's mapped columns come last: an update revision adding one appends it
    state = list(catalog("public.session_sync_session_state"))
    assert state[-len(columns):] == columns, f"sql/{STATE}: the mapped columns last, in session_sync_expected's order"


def test_the_write_sets_and_inserts_every_mapped_column(catalog):
    columns = set(mapped(catalog))
    text = code(WRITE)
    update = re.search(r"UPDATE public\.tutoring_sessions\s+\w+\s+SET(.*?)\bFROM\b", text, re.DOTALL)
    assert update, f"sql/{WRITE}: no UPDATE public.tutoring_sessions ... SET ... FROM; if it moved, point this test there"
    assigned = set(re.findall(r"\b(\w+)\s*=\s*s\.(\w+)", update.group(1)))
    assert {c for c, source in assigned if c == source} == columns, f"sql/{WRITE}: the UPDATE's SET list (x = s.x)"
    insert = re.search(r"INSERT INTO public\.tutoring_sessions\s*\(([^)]*)\)\s*SELECT(.*?)\bFROM\b", text, re.DOTALL)
    assert insert, f"sql/{WRITE}: no INSERT INTO public.tutoring_sessions (...) SELECT ... FROM; if it moved, point " \
                   "this test there"
    targets = [c.strip() for c in insert.group(1).split(",")]
    values = [v.strip() for v in insert.group(2).split(",")]
    assert set(targets) - {"id", "metadata"} == columns, f"sql/{WRITE}: the INSERT's column list"
    assert len(values) == len(targets), f"sql/{WRITE}: the INSERT's SELECT list, one value per column"
    for target, value in zip(targets, values):
        assert value == ("s.session_id" if target == "id" else f"s.{target}"), \
            f"sql/{WRITE}: the INSERT's SELECT list gives {value} for {target}"


def test_the_tracking_trigger_notices_an_edit_of_every_mapped_column(catalog):
    columns = set(mapped(catalog))
    block = trigger_block(TRACKING, "session_sync_tutoring_update")
    old = one_list(block, "OLD", TRACKING, "session_sync_tutoring_update's WHEN clause")
    new = one_list(block, "NEW", TRACKING, "session_sync_tutoring_update's WHEN clause")
    assert set(old) - {"id", "metadata"} == columns, f"sql/{TRACKING}: session_sync_tutoring_update's (OLD. ...) list"
    assert new == old, f"sql/{TRACKING}: session_sync_tutoring_update's (NEW. ...) list, in the (OLD. ...) one's order"


def test_the_note_trigger_notes_a_change_of_every_purchase_session_column_the_mapping_reads(catalog):
    reads = set(re.findall(r"\bps\.(\w+)", code(EXPECTED)))
    assert reads and reads <= set(catalog("public.purchase_sessions")), f"sql/{EXPECTED}: ps. names no column"
    block = trigger_block(NOTE, "session_sync_note_sessions_update")
    old = one_list(block, "OLD", NOTE, "session_sync_note_sessions_update's WHEN clause")
    new = one_list(block, "NEW", NOTE, "session_sync_note_sessions_update's WHEN clause")
    assert set(old) == reads, (f"sql/{NOTE}: session_sync_note_sessions_update's (OLD. ...) list is not the "
                               f"purchase_sessions columns sql/{EXPECTED} reads: {sorted(set(old) ^ reads)}")
    assert new == old, f"sql/{NOTE}: session_sync_note_sessions_update's (NEW. ...) list, in the (OLD. ...) one's order"
