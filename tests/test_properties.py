"""Property-based: whatever a purchase holds, it ends fully synced with exactly the mapped values,
or untouched and recorded with its reason code. sync_all_sessions() never raises for bad data.

The oracle below restates the mapping's rules (session_sync_expected's contract) in Python, independently of the SQL.
"""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from factories import purchase

UUID_RE = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
DECIMAL_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
PROTECTED_STATUS = {"completed": "completed", "cancelled": "cancelled"}

text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
numbers = st.one_of(
    st.integers(min_value=-10**40, max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -0.0, 90, -90, 180, -180, 90.0000001, 1e-300, 1e300, 12.5]),
)
number_strings = st.one_of(
    numbers.map(str),
    st.sampled_from(["12abc", "NaN", "Infinity", "-Infinity", "1e2", " 12", "12 ", "+7", ".5", "5.", "", "0x1A",
                     "١٢", "12,5", "--1", "0.0", "-0"]),
)
json_leaf = st.one_of(st.none(), st.booleans(), numbers, text)
json_any = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                           st.dictionaries(text, inner, max_size=3)), max_leaves=6)
coordinate = st.one_of(numbers, number_strings, json_any)
location = st.one_of(
    st.fixed_dictionaries({"latitude": coordinate, "longitude": coordinate},
                          optional={"address": st.one_of(text, json_any)}),
    st.fixed_dictionaries({}, optional={"latitude": coordinate, "longitude": coordinate}),
    json_any,
)
student_id = st.one_of(st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()), text, json_any)
students = st.one_of(
    st.lists(st.fixed_dictionaries({"id": student_id}, optional={"name": text}), min_size=1, max_size=3),
    st.lists(json_any, max_size=2),
    json_any,
)
session_rows = st.lists(
    st.fixed_dictionaries({
        "status": st.sampled_from(["scheduled", "completed", "cancelled", "rescheduled"]),
        "session_type": st.sampled_from(["offline", "online", None]),
        "time": st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1,
                        max_size=10),
        "metadata": st.one_of(st.none(), json_any, st.dictionaries(text, json_any, max_size=3)),
    }),
    min_size=0, max_size=4,
)


def coordinate_value(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Decimal(json.dumps(value))
    if isinstance(value, str) and len(value) <= 1000 and DECIMAL_RE.fullmatch(value):
        return Decimal(value)
    return None


def expected_location(loc: Any) -> tuple[str | None, dict | None]:
    """(reason, home_location) as the domain prescribes."""
    if loc is None:
        return "MISSING_LOCATION", None
    if not isinstance(loc, dict):
        return "INVALID_COORDINATES", None
    lat, lon = loc.get("latitude"), loc.get("longitude")
    if lat is None or lon is None or lat == "" or lon == "":
        return "MISSING_LOCATION", None
    vlat, vlon = coordinate_value(lat), coordinate_value(lon)
    if vlat is None or vlon is None or not (-90 <= vlat <= 90) or not (-180 <= vlon <= 180):
        return "INVALID_COORDINATES", None
    if vlat == 0 and vlon == 0:
        return "MISSING_LOCATION", None
    home = {"latitude": vlat, "longitude": vlon}
    if isinstance(loc.get("address"), str) and loc["address"] != "":
        home["address"] = loc["address"]
    return None, home


def expected_student(value: Any) -> uuid.UUID | None:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        sid = value[0].get("id")
        if isinstance(sid, str) and UUID_RE.fullmatch(sid):
            return uuid.UUID(sid)
    return None


def decimal_json(value: str) -> Any:
    return json.loads(value, parse_float=Decimal, parse_int=Decimal)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(loc=location, people=students, rows=session_rows, sunday=st.booleans())
@example(loc={}, people=None, rows=[{"status": "scheduled", "session_type": None, "time": "0", "metadata": None}],
         sunday=False)
@example(loc=None, people=[{"id": "00000000-0000-0000-0000-00000000000A"}],
         rows=[{"status": "completed", "session_type": "online", "time": "x", "metadata": [1]}], sunday=True)
def test_every_purchase_is_synced_exactly_or_untouched_with_its_reason(db, loc, people, rows, sunday):
    trainer, course = uuid.uuid4(), uuid.uuid4()
    pid = purchase(db, student_location=loc, students=people, trainer_id=trainer, course_id=course,
                   delivery_mode="SUNDAY_ONLY" if sunday else "WEEKDAY_DAILY")
    booking = db.value("SELECT booking_id FROM course_purchases WHERE id = %s", pid)
    ids = []
    for number, row in enumerate(rows, start=1):
        sid = uuid.uuid4()
        db.execute("""INSERT INTO purchase_sessions (id, purchase_id, booking_id, session_number, session_date,
                          session_time, session_type, status, metadata)
                      VALUES (%s, %s, %s, %s, date '2026-02-01' + %s, %s, %s, %s, %s::jsonb)""",
                   sid, pid, booking, number, number, row["time"], row["session_type"], row["status"],
                   None if row["metadata"] is None else json.dumps(row["metadata"]))
        ids.append(sid)

    run = db.dict("SELECT * FROM sync_all_sessions()")  # never raises

    student = expected_student(people)
    reason, home = expected_location(loc)
    reason = "NO_STUDENT" if student is None else reason
    synced = {r[0]: r for r in db.rows(
        "SELECT id, allocation_id, student_id, trainer_id, course_id, scheduled_time, duration, status, "
        "student_home_location::text, metadata::text FROM tutoring_sessions WHERE id = ANY(%s)", ids)}
    failures = [r[0] for r in db.rows("SELECT reason FROM session_sync_failures WHERE purchase_id = %s "
                                      "AND run_id = %s", pid, run["run_id"])]
    if not rows:
        assert synced == {} and failures == []
        return
    if reason is not None:
        assert synced == {}, "a purchase that cannot be synced is left untouched"
        assert failures == [reason]
        return
    assert failures == []
    assert set(synced) == set(ids)
    allocation = db.one("SELECT id FROM trainer_allocations WHERE student_id = %s AND trainer_id = %s "
                        "AND course_id = %s AND status = 'approved'", student, trainer, course)[0]
    for sid, row in zip(ids, rows):
        got = synced[sid]
        assert got[1:6] == (allocation, student, trainer, course, row["time"])
        assert got[6] == (80 if sunday else 40)
        assert got[7] == PROTECTED_STATUS.get(row["status"], "scheduled")
        assert decimal_json(got[8]) == home
        metadata = row["metadata"] if isinstance(row["metadata"], dict) else {}
        expected_meta = {**metadata, "purchaseId": str(pid), "bookingId": str(booking),
                         "sessionNumber": ids.index(sid) + 1, "sessionType": row["session_type"]}
        assert decimal_json(got[9]) == decimal_json(json.dumps(expected_meta))


def test_no_sql_is_built_from_data():
    """The package's SQL runs no dynamic statement: nothing a row holds can become SQL."""
    root = Path(__file__).resolve().parents[1] / "sql"
    for path in root.rglob("*.sql"):
        body = "\n".join(line.split("--")[0] for line in path.read_text().splitlines())
        body = re.sub(r"COMMENT ON .*? IS '(?:[^']|'')*';", "", body, flags=re.DOTALL)  # contracts are prose
        assert not re.search(r"(?<!GRANT )\bEXECUTE\s+(?!FUNCTION)", body, re.IGNORECASE), path.name
        assert "quote_literal" not in body and "quote_ident" not in body, path.name
