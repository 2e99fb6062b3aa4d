CREATE OR REPLACE FUNCTION session_sync.session_sync_reasons()
RETURNS TABLE (reason text, sqlstate text, hint text)
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT v.reason, v.sqlstate, v.hint
    FROM (VALUES
        (1, 'PURCHASE_NOT_FOUND', 'SS001',
         'Check the id: SELECT id, trainer_id, status FROM course_purchases WHERE id = ''<purchase id>'';'),
        (2, 'NO_TRAINER', 'SS002',
         'Assign a trainer: set course_purchases.trainer_id and status = ''ASSIGNED''; the trigger then syncs the purchase.'),
        (3, 'NOT_ASSIGNED', 'SS003',
         'Only purchases with status = ''ASSIGNED'' are synced: set the status once the trainer is confirmed.'),
        (4, 'NO_STUDENT', 'SS004',
         'course_purchases.students must be a JSON array whose first element has an "id" that is a UUID (the primary student).'),
        (5, 'MISSING_LOCATION', 'SS005',
         'Set course_purchases.student_location to {"latitude": <number>, "longitude": <number>, "address": "..."} with the student''s GPS coordinates.'),
        (6, 'INVALID_COORDINATES', 'SS006',
         'latitude and longitude must be numbers (or strings holding only a decimal number), latitude within [-90, 90] and longitude within [-180, 180]: fix course_purchases.student_location.'),
        (7, 'ALLOCATION_FAILED', 'SS007',
         'trainer_allocations rejected the new allocation (see DETAIL): check its constraints and triggers, and that the student, trainer and course are valid.'),
        (8, 'SESSION_CONFLICT', 'SS008',
         'A tutoring session with the same id is not this purchase''s (its metadata.purchaseId is absent or names another purchase), so the sync leaves it alone: find out whose it is before re-keying or deleting either session.'),
        (9, 'SESSION_WRITE_FAILED', 'SS009',
         'tutoring_sessions rejected the write (see DETAIL for the constraint): fix the purchase session named there, then sync again.')
    ) AS v(ord, reason, sqlstate, hint)
    ORDER BY v.ord;
END;

COMMENT ON FUNCTION session_sync.session_sync_reasons IS 'session_sync_reasons() -> TABLE(reason, sqlstate, hint)
Contract: the reasons a purchase cannot be synced, each with the SQLSTATE
sync_purchase_sessions() raises for it and its hint. Every error message of the package
begins with one of these codes.';
