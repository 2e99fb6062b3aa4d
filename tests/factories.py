"""Rows of the platform's tables, as tests need them."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

DEFAULT_LOCATION = {"latitude": 12.9716, "longitude": 77.5946, "address": "12 MG Road, Bengaluru"}
DEFAULT: Any = object()  # "not given": None means JSON null for students and student_location


def purchase(
    db: Any,
    *,
    trainer_id: uuid.UUID | None | str = "new",
    status: str = "ASSIGNED",
    student_id: uuid.UUID | None = None,
    students: Any = DEFAULT,
    student_location: Any = DEFAULT,
    course_id: uuid.UUID | None = None,
    delivery_mode: str = "WEEKDAY_DAILY",
    total_sessions: int = 10,
    start_date: date = date(2026, 1, 5),
    preferred_time_slot: str = "16:00",
) -> uuid.UUID:
    """Insert a course_purchases row and return its id."""
    purchase_id = uuid.uuid4()
    if trainer_id == "new":
        trainer_id = uuid.uuid4()
    if students is DEFAULT:
        students = [{"id": str(student_id or uuid.uuid4()), "name": "Asha", "email": "a@example.com",
                     "phone": "+91 90000 00000"}]
    location = DEFAULT_LOCATION if student_location is DEFAULT else student_location
    db.execute(
        """INSERT INTO course_purchases (id, booking_id, course_id, class_type, total_sessions, delivery_mode,
               start_date, preferred_time_slot, student_location, students, trainer_id, status)
           VALUES (%s, %s, %s, 'ONE_ON_ONE', %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s)""",
        purchase_id, uuid.uuid4(), course_id or uuid.uuid4(), total_sessions, delivery_mode, start_date,
        preferred_time_slot, json.dumps(location), json.dumps(students), trainer_id, status,
    )
    return purchase_id


def sessions(
    db: Any,
    purchase_id: uuid.UUID,
    count: int = 3,
    *,
    status: str = "scheduled",
    session_type: str | None = "offline",
    metadata: Any = None,
    time: str = "16:00",
) -> list[uuid.UUID]:
    """Insert ``count`` purchase_sessions rows for a purchase and return their ids in order."""
    booking_id = db.value("SELECT booking_id FROM course_purchases WHERE id = %s", purchase_id)
    ids = []
    for number in range(1, count + 1):
        session_id = uuid.uuid4()
        db.execute(
            """INSERT INTO purchase_sessions (id, purchase_id, booking_id, session_number, session_date,
                   session_time, session_type, status, metadata)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)""",
            session_id, purchase_id, booking_id, number, date(2026, 1, 5) + timedelta(days=number), time,
            session_type, status, None if metadata is None else json.dumps(metadata),
        )
        ids.append(session_id)
    return ids


def sync(db: Any, purchase_id: Any) -> dict[str, Any]:
    return db.dict("SELECT * FROM sync_purchase_sessions(%s)", purchase_id)


def sync_all(db: Any, dry_run: bool = False) -> dict[str, Any]:
    return db.dict("SELECT * FROM sync_all_sessions(p_dry_run => %s)", dry_run)


def bulk(db: Any, purchases: int, sessions_each: int = 0, *, assigned: bool = True) -> None:
    """Insert many purchases (ASSIGNED with a trainer, or WAITLISTED without) and their sessions, set-based."""
    db.execute(
        """INSERT INTO course_purchases (id, booking_id, course_id, class_type, total_sessions, delivery_mode,
               start_date, preferred_time_slot, student_location, students, trainer_id, status)
           SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'ONE_ON_ONE', 10, 'WEEKDAY_DAILY',
                  '2026-01-05', '16:00', '{"latitude": 12.9, "longitude": 77.6}',
                  jsonb_build_array(jsonb_build_object('id', gen_random_uuid())),
                  CASE WHEN %s THEN gen_random_uuid() END, CASE WHEN %s THEN 'ASSIGNED' ELSE 'WAITLISTED' END
           FROM generate_series(1, %s)""",
        assigned, assigned, purchases,
    )
    if sessions_each:
        db.execute(
            """INSERT INTO purchase_sessions (purchase_id, booking_id, session_number, session_date, session_time)
               SELECT id, booking_id, n, start_date + n, '16:00' FROM course_purchases, generate_series(1, %s) n""",
            sessions_each,
        )
