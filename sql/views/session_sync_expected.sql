CREATE OR REPLACE VIEW public.session_sync_expected AS
SELECT
    ps.id AS session_id,
    c.purchase_id,
    c.reason,
    c.allocation_id,
    c.student_id,
    c.trainer_id,
    c.course_id,
    ps.session_date AS scheduled_date,
    ps.session_time AS scheduled_time,
    CASE WHEN c.delivery_mode = 'SUNDAY_ONLY' THEN 80 ELSE 40 END AS duration,
    CASE ps.status
        WHEN 'completed' THEN 'completed'
        WHEN 'cancelled' THEN 'cancelled'
        ELSE 'scheduled'
    END AS status,
    c.home_location AS student_home_location,
    CASE WHEN jsonb_typeof(ps.metadata) = 'object' THEN ps.metadata ELSE '{}'::jsonb END
        || jsonb_build_object(
            'purchaseId', c.purchase_id,
            'bookingId', ps.booking_id,
            'sessionNumber', ps.session_number,
            'sessionType', ps.session_type) AS metadata,
    ps.booking_id,
    ps.session_number,
    ps.session_type,
    ps.metadata AS session_metadata
FROM public.session_sync_purchase_check c
JOIN public.purchase_sessions ps ON ps.purchase_id = c.purchase_id
WHERE c.eligible;

COMMENT ON VIEW public.session_sync_expected IS 'session_sync_expected: one row per purchase session of an eligible purchase.
Contract: the tutoring session the mapping prescribes for it (see the columns); `reason` is
the purchase''s (NULL when it can be synced); the purchase session''s own booking_id,
session_number, session_type and metadata follow, for the drift test.
The mapped columns (allocation_id to student_home_location, each the tutoring_sessions column
of that name) are listed again by the drift test, the write and the triggers'' WHEN clauses:
tests/test_mapping.py checks every list against this view.';
COMMENT ON COLUMN public.session_sync_expected.session_id IS 'the purchase session''s id: the tutoring session''s id';
COMMENT ON COLUMN public.session_sync_expected.purchase_id IS 'its purchase';
COMMENT ON COLUMN public.session_sync_expected.reason IS 'the purchase''s reason code (NULL when it can be synced)';
COMMENT ON COLUMN public.session_sync_expected.allocation_id IS 'the approved (else active) allocation of (student, trainer, course); NULL while none exists';
COMMENT ON COLUMN public.session_sync_expected.student_id IS 'the primary student';
COMMENT ON COLUMN public.session_sync_expected.trainer_id IS 'the purchase''s trainer';
COMMENT ON COLUMN public.session_sync_expected.course_id IS 'the purchase''s course';
COMMENT ON COLUMN public.session_sync_expected.scheduled_date IS 'the purchase session''s session_date';
COMMENT ON COLUMN public.session_sync_expected.scheduled_time IS 'the purchase session''s session_time';
COMMENT ON COLUMN public.session_sync_expected.duration IS '80 for SUNDAY_ONLY purchases, else 40';
COMMENT ON COLUMN public.session_sync_expected.status IS 'completed and cancelled kept, anything else scheduled';
COMMENT ON COLUMN public.session_sync_expected.student_home_location IS 'the student''s location as JSON numbers (plus a non-empty address)';
COMMENT ON COLUMN public.session_sync_expected.metadata IS 'the purchase session''s metadata with purchaseId, bookingId, sessionNumber and sessionType on top';
COMMENT ON COLUMN public.session_sync_expected.booking_id IS 'the purchase session''s booking_id';
COMMENT ON COLUMN public.session_sync_expected.session_number IS 'the purchase session''s number';
COMMENT ON COLUMN public.session_sync_expected.session_type IS 'the purchase session''s type';
COMMENT ON COLUMN public.session_sync_expected.session_metadata IS 'the purchase session''s own metadata, as stored';
