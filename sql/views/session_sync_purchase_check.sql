-- session_sync_purchase_check: one row per course_purchases row.
-- Contract: whether the purchase is eligible (trainer_id set and status = 'ASSIGNED'), its
-- primary student, the student_home_location its tutoring sessions get, and `reason`:
-- NULL when it can be synced, else the first reason code that stops it, in the order
-- NO_TRAINER, NOT_ASSIGNED, NO_STUDENT, MISSING_LOCATION / INVALID_COORDINATES.
CREATE OR REPLACE VIEW public.session_sync_purchase_check AS
SELECT
    p.id AS purchase_id,  -- the purchase (course_purchases.id)
    p.booking_id,  -- its booking
    p.trainer_id,  -- its trainer (NULL while none is assigned)
    p.course_id,  -- its course
    p.status AS purchase_status,  -- its status (ASSIGNED, WAITLISTED, ...)
    p.delivery_mode,  -- its delivery mode (SUNDAY_ONLY sessions last 80 minutes)
    p.total_sessions,  -- its number of sessions (the new allocation's sessionCount)
    p.start_date,  -- its start date (the new allocation's schedule.date)
    p.preferred_time_slot,  -- its preferred time slot (the new allocation's schedule.timeSlot)
    p.created_at,  -- when it was created (the older purchase's allocation wins a tie)
    session_sync.session_sync_eligible(p.trainer_id, p.status) AS eligible,  -- trainer_id set and status ASSIGNED: the sync writes its sessions
    x.student_id,  -- the primary student's id (students->0->>'id'), NULL when absent or not a uuid
    x.home_location,  -- the student's home location as the sync writes it (JSON numbers, plus a non-empty address); NULL when invalid
    CASE
        WHEN p.trainer_id IS NULL THEN 'NO_TRAINER'
        WHEN p.status IS DISTINCT FROM 'ASSIGNED' THEN 'NOT_ASSIGNED'
        WHEN x.student_id IS NULL THEN 'NO_STUDENT'
        ELSE x.location_problem
    END AS reason  -- the reason code that stops its sync (NO_TRAINER, NOT_ASSIGNED, NO_STUDENT, MISSING_LOCATION, INVALID_COORDINATES); NULL when it can be synced
FROM public.course_purchases p
-- OFFSET 0 keeps this subquery from being flattened: its values are computed once per
-- purchase, not once per session row after the views join purchase_sessions.
CROSS JOIN LATERAL (
    SELECT session_sync.session_sync_primary_student(p.students) AS student_id,
           session_sync.session_sync_location_problem(p.student_location) AS location_problem,
           session_sync.session_sync_home_location(p.student_location) AS home_location
    OFFSET 0
) x;
