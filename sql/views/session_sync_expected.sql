-- session_sync_expected: one row per purchase session of an eligible purchase.
-- Contract: the tutoring session the mapping (shared/domain.md) prescribes for it:
--   id = the purchase session's id; allocation_id = the purchase's approved (else active)
--   allocation for (primary student, trainer, course), NULL while none exists; duration 80
--   for SUNDAY_ONLY else 40; status completed/cancelled kept, anything else scheduled;
--   metadata = the purchase session's metadata with purchaseId, bookingId, sessionNumber and
--   sessionType on top. `reason` is the purchase's (NULL when it can be synced).
--   The purchase session's own booking_id, session_number, session_type and metadata follow
--   (session_sync_session_state tests drift against them without building the JSON).
-- The mapped columns (each the tutoring_sessions column of that name; metadata is merged, not
-- mapped) and the purchase_sessions columns this view reads are listed once, here: the drift
-- test, the write and the triggers' WHEN clauses are rendered from these two lines.
-- mapped: allocation_id student_id trainer_id course_id scheduled_date scheduled_time duration status student_home_location
-- reads purchase_sessions: id purchase_id booking_id session_number session_date session_time session_type status metadata
CREATE OR REPLACE VIEW public.session_sync_expected AS
SELECT
    ps.id AS session_id,  -- the purchase session's id: the tutoring session's id
    c.purchase_id,  -- its purchase
    c.reason,  -- the purchase's reason code (NULL when it can be synced)
    a.allocation_id,  -- the approved (else active) allocation of (student, trainer, course); NULL while none exists
    c.student_id,  -- the primary student
    c.trainer_id,  -- the purchase's trainer
    c.course_id,  -- the purchase's course
    ps.session_date AS scheduled_date,  -- the purchase session's session_date
    ps.session_time AS scheduled_time,  -- the purchase session's session_time
    CASE WHEN c.delivery_mode = 'SUNDAY_ONLY' THEN 80 ELSE 40 END AS duration,  -- 80 for SUNDAY_ONLY purchases, else 40
    CASE ps.status
        WHEN 'completed' THEN 'completed'
        WHEN 'cancelled' THEN 'cancelled'
        ELSE 'scheduled'
    END AS status,  -- completed and cancelled kept, anything else scheduled
    c.home_location AS student_home_location,  -- the student's location as JSON numbers (plus a non-empty address)
    CASE WHEN jsonb_typeof(ps.metadata) = 'object' THEN ps.metadata ELSE '{}'::jsonb END
        || jsonb_build_object(
            'purchaseId', c.purchase_id,
            'bookingId', ps.booking_id,
            'sessionNumber', ps.session_number,
            'sessionType', ps.session_type) AS metadata,  -- the purchase session's metadata with purchaseId, bookingId, sessionNumber and sessionType on top
    ps.booking_id,  -- the purchase session's booking_id
    ps.session_number,  -- the purchase session's number
    ps.session_type,  -- the purchase session's type
    ps.metadata AS session_metadata  -- the purchase session's own metadata, as stored
FROM public.session_sync_purchase_check c
JOIN public.purchase_sessions ps ON ps.purchase_id = c.purchase_id
LEFT JOIN LATERAL (
    SELECT al.id AS allocation_id
    FROM public.trainer_allocations al
    WHERE al.student_id = c.student_id
      AND al.trainer_id = c.trainer_id
      AND al.course_id = c.course_id
      AND session_sync.session_sync_allocation_usable(al.status)
    ORDER BY al.status = 'approved' DESC, al.requested_at, al.id
    LIMIT 1
) a ON true
WHERE c.eligible;
