CREATE OR REPLACE FUNCTION session_sync.session_sync_location_detail(p_location jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN p_location IS NULL OR jsonb_typeof(p_location) = 'null' THEN 'student_location is null'
    WHEN jsonb_typeof(p_location) <> 'object'
        THEN 'student_location is a JSON ' || jsonb_typeof(p_location) || ', not an object'
    ELSE 'latitude ' || session_sync.session_sync_quote(p_location -> 'latitude', '^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$')
        || ', longitude ' || session_sync.session_sync_quote(p_location -> 'longitude', '^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$')
END;

COMMENT ON FUNCTION session_sync.session_sync_location_detail IS 'session_sync_location_detail(p_location jsonb) -> text
Contract: the coordinates of course_purchases.student_location, for messages and diagnose:
"latitude <value>, longitude <value>", each as given when it is a short decimal number
within [-1000, 1000] (JSON number or string), else only its shape (session_sync_quote), and
"absent" when missing; or the JSON type when it is not an object. Never the address or any
other key, nor text put where a coordinate should be.
Never raises. Pure; its SQL-standard body is bound when created.';
