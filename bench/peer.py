"""The platform's sync as it runs today, replicated in Python over psycopg (the "peer").

Per purchase: read the purchase, read its sessions, find or create the allocation; per
session: SELECT the tutoring session, then INSERT or UPDATE it; every statement its own
round trip in autocommit, as the HTTP endpoint does. Two of its defects are left out so that
it completes and does comparable work: its allocation insert sets requested_by, and it has
no 200-purchase cap. Its others (parseFloat, overwriting protected sessions) are kept.
"""

from __future__ import annotations

import json
import re
from typing import Any

import psycopg

FLOAT_PREFIX = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def parse_float(value: Any) -> float | None:
    """JavaScript's parseFloat (of a JSON value): "12abc" is 12, null and true are NaN (None)."""
    match = FLOAT_PREFIX.match(str(value))
    return float(match.group(0)) if match else None


def peer_sync(conn: psycopg.Connection, purchase_ids: list) -> None:
    for purchase_id in purchase_ids:
        purchase = conn.execute("SELECT id, booking_id, course_id, trainer_id, status, students, student_location, "
                                "delivery_mode, total_sessions, preferred_time_slot, start_date "
                                "FROM course_purchases WHERE id = %s", (purchase_id,)).fetchone()
        if purchase is None or purchase[3] is None or purchase[4] != "ASSIGNED":
            continue
        _, booking_id, course_id, trainer_id, _, students, location, mode, total, slot, start = purchase
        sessions = conn.execute("SELECT id, session_number, session_date, session_time, session_type, status, "
                                "metadata FROM purchase_sessions WHERE purchase_id = %s ORDER BY session_number",
                                (purchase_id,)).fetchall()
        try:
            student_id = students[0]["id"]
        except (TypeError, KeyError, IndexError):
            continue
        lat, lon = parse_float((location or {}).get("latitude")), parse_float((location or {}).get("longitude"))
        if lat is None or lon is None:
            continue
        home = {"latitude": lat, "longitude": lon}
        if (location or {}).get("address"):
            home["address"] = location["address"]
        row = conn.execute("SELECT id FROM trainer_allocations WHERE student_id = %s AND trainer_id = %s "
                           "AND course_id = %s AND status IN ('approved', 'active') LIMIT 1",
                           (student_id, trainer_id, course_id)).fetchone()
        if row is None:
            row = conn.execute("INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, "
                               "status, allocated_at, metadata) VALUES (%s, %s, %s, %s, 'approved', now(), %s) "
                               "RETURNING id",
                               (student_id, trainer_id, course_id, student_id, json.dumps({
                                   "sessionCount": total, "isSundayOnly": mode == "SUNDAY_ONLY",
                                   "schedule": {"timeSlot": slot, "date": str(start)},
                                   "purchaseId": str(purchase_id), "bookingId": str(booking_id)}))).fetchone()
        allocation_id = row[0]
        duration = 80 if mode == "SUNDAY_ONLY" else 40
        for sid, number, day, at, kind, status, metadata in sessions:
            mapped = status if status in ("completed", "cancelled") else "scheduled"
            meta = json.dumps({**(metadata or {}), "purchaseId": str(purchase_id), "bookingId": str(booking_id),
                               "sessionNumber": number, "sessionType": kind})
            values = (allocation_id, student_id, trainer_id, course_id, day, at, duration, mapped, json.dumps(home),
                      meta)
            if conn.execute("SELECT id FROM tutoring_sessions WHERE id = %s", (sid,)).fetchone():
                conn.execute("UPDATE tutoring_sessions SET allocation_id = %s, student_id = %s, trainer_id = %s, "
                             "course_id = %s, scheduled_date = %s, scheduled_time = %s, duration = %s, status = %s, "
                             "student_home_location = %s, metadata = %s, updated_at = now() WHERE id = %s",
                             (*values, sid))
            else:
                conn.execute("INSERT INTO tutoring_sessions (allocation_id, student_id, trainer_id, course_id, "
                             "scheduled_date, scheduled_time, duration, status, student_home_location, metadata, id) "
                             "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", (*values, sid))
