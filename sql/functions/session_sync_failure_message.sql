CREATE OR REPLACE FUNCTION session_sync.session_sync_failure_message(
    p_reason text,
    p_purchase_id uuid,
    p_detail text DEFAULT NULL
)
RETURNS text
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_purchase public.course_purchases%ROWTYPE;
    v_message text;
BEGIN
    SELECT * INTO v_purchase FROM public.course_purchases WHERE id = p_purchase_id;

    v_message := CASE p_reason
        WHEN 'PURCHASE_NOT_FOUND' THEN
            format('purchase %s does not exist in course_purchases', p_purchase_id)
        WHEN 'NO_TRAINER' THEN
            format('purchase %s has no trainer assigned (trainer_id is NULL, status %s)',
                   p_purchase_id, coalesce(v_purchase.status, 'NULL'))
        WHEN 'NOT_ASSIGNED' THEN
            format('purchase %s has status %s, not ASSIGNED (trainer %s)',
                   p_purchase_id, coalesce(v_purchase.status, 'NULL'), v_purchase.trainer_id)
        WHEN 'NO_STUDENT' THEN
            format('purchase %s has no primary student with a UUID id (%s)',
                   p_purchase_id, session_sync.session_sync_students_problem(v_purchase.students))
        WHEN 'MISSING_LOCATION' THEN
            format('purchase %s has no GPS coordinates for the student (%s)',
                   p_purchase_id, session_sync.session_sync_location_detail(v_purchase.student_location))
        WHEN 'INVALID_COORDINATES' THEN
            format('purchase %s has invalid GPS coordinates (%s)',
                   p_purchase_id, session_sync.session_sync_location_detail(v_purchase.student_location))
        WHEN 'SESSION_CONFLICT' THEN
            format('purchase %s: a tutoring session with the id of one of its purchase sessions is not its own (its metadata.purchaseId is absent or names another purchase); it was left untouched',
                   p_purchase_id)
        WHEN 'ALLOCATION_FAILED' THEN
            format('purchase %s: the trainer allocation for student %s, trainer %s, course %s could not be created',
                   p_purchase_id, session_sync.session_sync_primary_student(v_purchase.students),
                   v_purchase.trainer_id, v_purchase.course_id)
        WHEN 'SESSION_WRITE_FAILED' THEN
            format('purchase %s: tutoring_sessions rejected a session of this purchase', p_purchase_id)
        ELSE
            format('purchase %s could not be synced', p_purchase_id)
    END;

    IF p_detail IS NOT NULL THEN
        v_message := v_message || ': ' || p_detail;
    END IF;
    RETURN p_reason || ': ' || v_message;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_failure_message IS 'session_sync_failure_message(p_reason text, p_purchase_id uuid, p_detail text DEFAULT NULL) -> text
Contract: the message for a purchase that cannot be synced: the reason code, then what is
wrong for which purchase, then p_detail (the underlying error) when given. It quotes ids and
the shape of bad values only (session_sync_students_problem, session_sync_location_detail):
never a student''s name, contact details, address or usable coordinates. Changes nothing.';
