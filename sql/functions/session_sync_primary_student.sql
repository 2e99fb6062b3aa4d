CREATE OR REPLACE FUNCTION session_sync.session_sync_primary_student(p_students jsonb)
RETURNS uuid
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
-- -> 0 of a non-array and -> 'id' of a non-object are NULL: one test covers the shape
RETURN CASE WHEN jsonb_typeof(p_students -> 0 -> 'id') = 'string'
            THEN session_sync.session_sync_uuid(p_students -> 0 ->> 'id') END;

COMMENT ON FUNCTION session_sync.session_sync_primary_student IS 'session_sync_primary_student(p_students jsonb) -> uuid
Contract: the UUID string "id" of the first element of course_purchases.students, else NULL
(the purchase cannot be synced: NO_STUDENT). Never raises.';
