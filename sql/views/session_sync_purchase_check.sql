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
    session_sync.session_sync_eligible(p.trainer_id, p.status) AS eligible,
    x.student_id,
    x.home_location,
    CASE
        WHEN p.trainer_id IS NULL THEN 'NO_TRAINER'
        WHEN p.status IS DISTINCT FROM 'ASSIGNED' THEN 'NOT_ASSIGNED'
        WHEN x.student_id IS NULL THEN 'NO_STUDENT'
        ELSE x.location_problem
    END AS reason,
    x.allocation_id
FROM public.course_purchases p
-- OFFSET 0 keeps these subqueries from being flattened: each value is computed once per
-- purchase, not once per session row after the views join purchase_sessions, nor once per use.
-- The home location is NULL exactly when there is a location problem, which is looked up then only.
CROSS JOIN LATERAL (
    SELECT session_sync.session_sync_primary_student(p.students) AS student_id,
           session_sync.session_sync_home_location(p.student_location) AS home_location
    OFFSET 0
) s
CROSS JOIN LATERAL (
    SELECT s.student_id,
           s.home_location,
           CASE WHEN s.home_location IS NULL
                THEN session_sync.session_sync_location_problem(p.student_location) END AS location_problem,
           (SELECT al.id FROM public.trainer_allocations al
            WHERE al.student_id = s.student_id
              AND al.trainer_id = p.trainer_id AND al.course_id = p.course_id
              AND session_sync.session_sync_allocation_usable(al.status)
            ORDER BY al.status = 'approved' DESC, al.requested_at, al.id
            LIMIT 1) AS allocation_id
    OFFSET 0
) x;

COMMENT ON VIEW public.session_sync_purchase_check IS 'session_sync_purchase_check: one row per course_purchases row.
Contract: whether the purchase is eligible (trainer_id set and status = ''ASSIGNED''), its
primary student, the student_home_location its tutoring sessions get, and `reason`:
NULL when it can be synced, else the first reason code that stops it, in the order
NO_TRAINER, NOT_ASSIGNED, NO_STUDENT, MISSING_LOCATION / INVALID_COORDINATES.';
COMMENT ON COLUMN public.session_sync_purchase_check.purchase_id IS 'the purchase (course_purchases.id)';
COMMENT ON COLUMN public.session_sync_purchase_check.booking_id IS 'its booking';
COMMENT ON COLUMN public.session_sync_purchase_check.trainer_id IS 'its trainer (NULL while none is assigned)';
COMMENT ON COLUMN public.session_sync_purchase_check.course_id IS 'its course';
COMMENT ON COLUMN public.session_sync_purchase_check.purchase_status IS 'its status (ASSIGNED, WAITLISTED, ...)';
COMMENT ON COLUMN public.session_sync_purchase_check.delivery_mode IS 'its delivery mode (SUNDAY_ONLY sessions last 80 minutes)';
COMMENT ON COLUMN public.session_sync_purchase_check.total_sessions IS 'its number of sessions (the new allocation''s sessionCount)';
COMMENT ON COLUMN public.session_sync_purchase_check.start_date IS 'its start date (the new allocation''s schedule.date)';
COMMENT ON COLUMN public.session_sync_purchase_check.preferred_time_slot IS 'its preferred time slot (the new allocation''s schedule.timeSlot)';
COMMENT ON COLUMN public.session_sync_purchase_check.created_at IS 'when it was created (the older purchase''s allocation wins a tie)';
COMMENT ON COLUMN public.session_sync_purchase_check.eligible IS 'trainer_id set and status ASSIGNED: the sync writes its sessions';
COMMENT ON COLUMN public.session_sync_purchase_check.student_id IS 'the primary student''s id (students->0->>''id''), NULL when absent or not a uuid';
COMMENT ON COLUMN public.session_sync_purchase_check.home_location IS 'the student''s home location as the sync writes it (JSON numbers, plus a non-empty address); NULL when invalid';
COMMENT ON COLUMN public.session_sync_purchase_check.allocation_id IS 'the approved (else active) allocation of (student, trainer, course) its sessions use; NULL while none exists';
COMMENT ON COLUMN public.session_sync_purchase_check.reason IS 'the reason code that stops its sync (NO_TRAINER, NOT_ASSIGNED, NO_STUDENT, MISSING_LOCATION, INVALID_COORDINATES); NULL when it can be synced';
