"""A realistic data set that reproduces the guide's problem, generated set-based in SQL.

Run on a connection whose search_path is pg_catalog, pg_temp: the package's and the platform's
objects are named public.<name>.

Purchases of 10, 20 or 30 sessions. Some were synced when they were assigned; most are
older purchases whose purchase_sessions never reached tutoring_sessions (the guide's
problem); a few are half synced, a few were rescheduled after syncing (drifted), some have
garbage coordinates or no trainer yet.
"""

from __future__ import annotations

import psycopg

# Parameters: %(purchases)s; "%%" is the modulo operator.
LOAD = """
WITH src AS (
    SELECT n,
           gen_random_uuid() AS id,
           (ARRAY[10, 20, 30])[1 + n %% 3] AS total_sessions,
           CASE WHEN n %% 4 = 0 THEN 'SUNDAY_ONLY' ELSE 'WEEKDAY_DAILY' END AS delivery_mode,
           date '2025-09-01' + (n %% 60) AS start_date,
           (ARRAY['07:00', '16:00', '17:30', '19:00'])[1 + n %% 4] AS slot,
           CASE
               WHEN n %% 50 = 3 THEN '{"latitude": "12abc", "longitude": "77.59", "address": "Indiranagar"}'::jsonb
               WHEN n %% 50 = 18 THEN '{"latitude": "Infinity", "longitude": 72.87}'::jsonb
               WHEN n %% 50 = 33 THEN '{"latitude": 123.4, "longitude": 72.87}'::jsonb
               WHEN n %% 50 = 48 THEN '{"address": "Koramangala"}'::jsonb
               WHEN n %% 7 = 0 THEN jsonb_build_object('latitude', (12.9 + (n %% 50) / 1000.0)::text,
                                                      'longitude', (77.5 + (n %% 30) / 1000.0)::text,
                                                      'address', 'Flat ' || n || ', HSR Layout')
               ELSE jsonb_build_object('latitude', 19.0 + (n %% 90) / 1000.0, 'longitude', 72.8 + (n %% 70) / 1000.0,
                                       'address', n || ' Hill Road, Bandra')
           END AS location,
           n %% 20 = 0 AS unassigned
    FROM generate_series(1, %(purchases)s) AS n
), purchases AS (
    INSERT INTO public.course_purchases (id, booking_id, course_id, class_type, total_sessions, delivery_mode, start_date,
        preferred_time_slot, student_location, students, trainer_id, status, created_at)
    SELECT id, gen_random_uuid(),
           ('00000000-0000-4000-8000-00000000000' || (n %% 5))::uuid,
           (ARRAY['ONE_ON_ONE', 'ONE_ON_TWO', 'ONE_ON_THREE', 'HYBRID'])[1 + n %% 4],
           total_sessions, delivery_mode, start_date, slot, location,
           jsonb_build_array(jsonb_build_object('id', gen_random_uuid(), 'name', 'Student ' || n,
                                                'email', 'student' || n || '@example.com', 'phone', '+91 90000 ' || lpad(n::text, 5, '0'))),
           CASE WHEN unassigned THEN NULL ELSE gen_random_uuid() END,
           CASE WHEN unassigned THEN 'WAITLISTED' ELSE 'ASSIGNED' END,
           now() - (400 - n %% 400) * interval '1 day'
    FROM src
    RETURNING id, booking_id, total_sessions, delivery_mode, start_date, preferred_time_slot
)
INSERT INTO public.purchase_sessions (purchase_id, booking_id, session_number, session_date, session_time, session_type,
                               status, metadata)
SELECT p.id, p.booking_id, s,
       CASE WHEN p.delivery_mode = 'SUNDAY_ONLY' THEN p.start_date + 7 * (s - 1) ELSE p.start_date + (s - 1) END,
       p.preferred_time_slot,
       CASE WHEN s %% 5 = 0 THEN 'online' ELSE 'offline' END,
       CASE WHEN s <= 3 THEN 'completed' ELSE 'scheduled' END,
       jsonb_build_object('isBookable', s > 3, 'isFixedTime', true)
FROM purchases p, generate_series(1, p.total_sessions) AS s
"""

# Purchases synced at assignment time (every 10th, 1st and 2nd), a half-synced one, and reschedules after it.
PRESYNC = """
WITH numbered AS (
    SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM public.course_purchases
    WHERE status = 'ASSIGNED' AND session_sync.session_sync_location_problem(student_location) IS NULL
)
SELECT count(*) FROM numbered, public.sync_purchase_sessions(numbered.id) WHERE n % 10 IN (1, 2, 5)
"""

AFTERMATH = """
WITH numbered AS (
    SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM public.course_purchases
    WHERE status = 'ASSIGNED' AND session_sync.session_sync_location_problem(student_location) IS NULL
), half AS (
    DELETE FROM public.tutoring_sessions t USING numbered
    WHERE numbered.n % 10 = 5 AND t.metadata->>'purchaseId' = numbered.id::text
      AND (t.metadata->>'sessionNumber')::int > 5
)
UPDATE public.purchase_sessions ps SET session_date = session_date + 2, session_time = '18:00', status = 'rescheduled'
FROM numbered WHERE numbered.n % 10 = 2 AND ps.purchase_id = numbered.id AND ps.session_number = 8
"""


def load(conn: psycopg.Connection, purchases: int = 120) -> None:
    """Load the demo data set into a migrated, empty database (one transaction)."""
    with conn.transaction():
        # These purchases predate the sync: load them as the platform had them, triggers off.
        conn.execute("SET LOCAL session_sync.enabled = off")
        conn.execute(LOAD, {"purchases": purchases})
        conn.execute(PRESYNC)
        conn.execute(AFTERMATH)
