-- session_sync_location_detail(p_location jsonb) -> text
-- Contract: the coordinates of course_purchases.student_location as given, for messages and
-- diagnose: "latitude <value>, longitude <value>" (each at most 50 characters, "absent" when
-- missing), or the JSON type when it is not an object. Never the address or any other key.
-- Never raises. Pure; its SQL-standard body is bound when created.
CREATE OR REPLACE FUNCTION public.session_sync_location_detail(p_location jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN p_location IS NULL OR jsonb_typeof(p_location) = 'null' THEN 'student_location is null'
    WHEN jsonb_typeof(p_location) <> 'object'
        THEN 'student_location is a JSON ' || jsonb_typeof(p_location) || ', not an object'
    ELSE 'latitude ' || coalesce(left((p_location -> 'latitude')::text, 50), 'absent')
        || ', longitude ' || coalesce(left((p_location -> 'longitude')::text, 50), 'absent')
END;
