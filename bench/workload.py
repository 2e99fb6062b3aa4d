"""The benchmark's data set, generated set-based in SQL at a given number of sessions.

Purchases of 10/20/30 sessions (20 on average). About half are fully synced already (with
their allocations), a tenth half synced, the rest missing all their sessions; every tenth
synced purchase was rescheduled afterwards (drifted); about 3% have bad coordinates; 20% have
no trainer yet (WAITLISTED: 10,000 at 1M sessions, the trigger variant's bulk assignment).
Students, trainers and courses repeat, so allocations are shared. Each purchase keeps its
ordinal in metadata.bench_n. The platform's tables are PLATFORM.
"""

from __future__ import annotations

import psycopg

PLATFORM = ("course_purchases", "purchase_sessions", "trainer_allocations", "tutoring_sessions")

# What the sync writes into a tutoring session beyond the purchase's columns (the floors write it by hand).
TUTORING_COLUMNS = """tutoring_sessions (id, allocation_id, student_id, trainer_id, course_id, scheduled_date,
    scheduled_time, duration, status, student_home_location, metadata)"""
HOME_AND_METADATA = """
       jsonb_build_object('latitude', (p.student_location->>'latitude')::numeric,
                          'longitude', (p.student_location->>'longitude')::numeric,
                          'address', p.student_location->'address'),
       coalesce(ps.metadata, '{}') || jsonb_build_object('purchaseId', p.id, 'bookingId', ps.booking_id,
                                                        'sessionNumber', ps.session_number,
                                                        'sessionType', ps.session_type)"""
# An approved allocation for each (student, trainer, course) of the purchases c that the sync accepts.
ALLOCATE = """
INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status, allocated_at)
SELECT DISTINCT c.student_id, c.trainer_id, c.course_id, c.student_id, 'approved', now()
FROM session_sync_purchase_check c"""

PURCHASES = """
INSERT INTO course_purchases (id, booking_id, course_id, class_type, total_sessions, delivery_mode, start_date,
    preferred_time_slot, student_location, students, trainer_id, status, metadata)
SELECT gen_random_uuid(), gen_random_uuid(),
       md5('course' || n %% 40)::uuid,
       (ARRAY['ONE_ON_ONE', 'ONE_ON_TWO', 'ONE_ON_THREE', 'HYBRID'])[1 + n %% 4],
       (ARRAY[10, 20, 30])[1 + n %% 3],
       CASE WHEN n %% 4 = 0 THEN 'SUNDAY_ONLY' ELSE 'WEEKDAY_DAILY' END,
       date '2025-06-01' + n %% 180,
       (ARRAY['07:00', '16:00', '17:30', '19:00'])[1 + n %% 4],
       CASE WHEN n %% 33 = 7 THEN '{"latitude": "12abc", "longitude": 77.59}'::jsonb
            WHEN n %% 7 = 0 THEN jsonb_build_object('latitude', (12.9 + (n %% 97) / 1000.0)::text,
                                                   'longitude', (77.5 + (n %% 89) / 1000.0)::text,
                                                   'address', 'Flat ' || n)
            ELSE jsonb_build_object('latitude', 19.0 + (n %% 97) / 1000.0, 'longitude', 72.8 + (n %% 89) / 1000.0,
                                    'address', n || ' Hill Road') END,
       jsonb_build_array(jsonb_build_object('id', md5('student' || n %% %(students)s)::uuid, 'name', 'S' || n)),
       CASE WHEN n %% 5 = 4 THEN NULL ELSE md5('trainer' || n %% 300)::uuid END,
       CASE WHEN n %% 5 = 4 THEN 'WAITLISTED' ELSE 'ASSIGNED' END,
       jsonb_build_object('bench_n', n)
FROM generate_series(1, %(purchases)s) AS n
"""

SESSIONS = """
INSERT INTO purchase_sessions (purchase_id, booking_id, session_number, session_date, session_time, session_type,
                               status, metadata)
SELECT p.id, p.booking_id, s, p.start_date + s, p.preferred_time_slot,
       CASE WHEN s %% 5 = 0 THEN 'online' ELSE 'offline' END,
       CASE WHEN s <= 2 THEN 'completed' ELSE 'scheduled' END,
       jsonb_build_object('isBookable', s > 2)
FROM course_purchases p, generate_series(1, p.total_sessions) AS s
"""

# The synced part is written from the package's own mapping view, so that it is exactly in sync.
ALLOCATIONS = ALLOCATE + """
JOIN course_purchases p ON p.id = c.purchase_id
WHERE c.eligible AND c.reason IS NULL AND (p.metadata->>'bench_n')::int %% 2 = 0
"""

SYNCED = f"""
INSERT INTO {TUTORING_COLUMNS}
SELECT e.session_id, e.allocation_id, e.student_id, e.trainer_id, e.course_id, e.scheduled_date, e.scheduled_time,
       e.duration, e.status, e.student_home_location, e.metadata
FROM session_sync_expected e
JOIN course_purchases p ON p.id = e.purchase_id
WHERE e.reason IS NULL AND e.allocation_id IS NOT NULL
  AND ((p.metadata->>'bench_n')::int %% 2 = 0
       OR ((p.metadata->>'bench_n')::int %% 10 = 1 AND (e.metadata->>'sessionNumber')::int <= 5))
"""

DRIFT = """
UPDATE purchase_sessions ps SET session_time = '18:15', status = 'rescheduled'
FROM course_purchases p
WHERE p.id = ps.purchase_id AND (p.metadata->>'bench_n')::int %% 20 = 0 AND ps.session_number = 3
"""


def generate(conn: psycopg.Connection, sessions: int) -> dict[str, int]:
    """Fill a migrated, empty database with about ``sessions`` purchase sessions; returns counts."""
    purchases = max(sessions // 20, 10)
    conn.execute("SET session_sync.enabled = off")
    for statement in (PURCHASES, SESSIONS, ALLOCATIONS, SYNCED, DRIFT):
        conn.execute(statement, {"purchases": purchases, "students": max(purchases // 2, 1)})
    conn.execute("RESET session_sync.enabled")
    return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in PLATFORM}
