CREATE OR REPLACE FUNCTION session_sync.session_sync_home_location(p_location jsonb)
RETURNS jsonb
LANGUAGE sql
STABLE PARALLEL SAFE
RETURN CASE
    WHEN session_sync.session_sync_location_problem(p_location) IS NULL THEN
        jsonb_build_object(
            'latitude', session_sync.session_sync_coordinate(p_location -> 'latitude'),
            'longitude', session_sync.session_sync_coordinate(p_location -> 'longitude'))
        || CASE
            WHEN jsonb_typeof(p_location -> 'address') = 'string'
             AND (p_location ->> 'address') <> ''
            THEN jsonb_build_object('address', p_location -> 'address')
            ELSE '{}'::jsonb
        END
END;

COMMENT ON FUNCTION session_sync.session_sync_home_location IS 'session_sync_home_location(p_location jsonb) -> jsonb
Contract: a tutoring session''s student_home_location for a purchase''s student_location:
{"latitude": <number>, "longitude": <number>} plus "address" when it is a non-empty string;
NULL when session_sync_location_problem() is not NULL. Never raises. STABLE, as
jsonb_build_object is, so that it is inlined.';
