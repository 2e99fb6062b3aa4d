-- session_sync_purchase_check: one row per course_purchases row.
-- Contract: whether the purchase is eligible (trainer_id set and status = 'ASSIGNED'), its
-- primary student, the student_home_location its tutoring sessions get, and `reason`:
-- NULL when it can be synced, else the first reason code that stops it, in the order
-- NO_TRAINER, NOT_ASSIGNED, NO_STUDENT, MISSING_LOCATION / INVALID_COORDINATES.
CREATE OR REPLACE VIEW public.session_sync_purchase_check AS
SELECT
    p.id AS purchase_id,
    p.booking_id,
    p.trainer_id,
    p.course_id,
    p.status AS purchase_status,
    p.delivery_mode,
    p.total_sessions,
    p.start_date,
    p.preferred_time_slot,
    p.created_at,
    (p.trainer_id IS NOT NULL AND p.status = 'ASSIGNED') AS eligible,
    x.student_id,
    x.home_location,
    CASE
        WHEN p.trainer_id IS NULL THEN 'NO_TRAINER'
        WHEN p.status IS DISTINCT FROM 'ASSIGNED' THEN 'NOT_ASSIGNED'
        WHEN x.student_id IS NULL THEN 'NO_STUDENT'
        ELSE x.location_problem
    END AS reason
FROM public.course_purchases p
-- OFFSET 0 keeps this subquery from being flattened: its values are computed once per
-- purchase, not once per session row after the views join purchase_sessions.
CROSS JOIN LATERAL (
    SELECT session_sync.session_sync_primary_student(p.students) AS student_id,
           session_sync.session_sync_location_problem(p.student_location) AS location_problem,
           session_sync.session_sync_home_location(p.student_location) AS home_location
    OFFSET 0
) x;
