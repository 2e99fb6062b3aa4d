CREATE OR REPLACE FUNCTION session_sync.session_sync_students_problem(p_students jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN session_sync.session_sync_primary_student(p_students) IS NOT NULL THEN NULL
    WHEN p_students IS NULL OR jsonb_typeof(p_students) = 'null' THEN 'students is null'
    WHEN jsonb_typeof(p_students) <> 'array'
        THEN 'students is a JSON ' || jsonb_typeof(p_students) || ', not an array'
    WHEN jsonb_array_length(p_students) = 0 THEN 'students is an empty array'
    WHEN jsonb_typeof(p_students -> 0) <> 'object'
        THEN 'the first element of students is a JSON ' || jsonb_typeof(p_students -> 0) || ', not an object'
    WHEN NOT ((p_students -> 0) ? 'id') THEN 'the first student has no "id"'
    ELSE 'the first student''s id is '
         || session_sync.session_sync_quote((p_students -> 0) -> 'id', NULL) || ', not a UUID'
END;

COMMENT ON FUNCTION session_sync.session_sync_students_problem IS 'session_sync_students_problem(p_students jsonb) -> text
Contract: why course_purchases.students names no primary student, quoting only the shape of
the first student''s "id" (session_sync_quote), never a name or contact detail; NULL when
session_sync_primary_student() finds one. Never raises.';
