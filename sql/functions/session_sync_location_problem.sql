CREATE OR REPLACE FUNCTION session_sync.session_sync_location_problem(p_location jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN p_location IS NULL OR jsonb_typeof(p_location) = 'null'
        THEN 'MISSING_LOCATION'
    WHEN jsonb_typeof(p_location) <> 'object'
        THEN 'INVALID_COORDINATES'
    WHEN coalesce(p_location -> 'latitude' IN ('null', '""'), true)
      OR coalesce(p_location -> 'longitude' IN ('null', '""'), true)
        THEN 'MISSING_LOCATION'
    -- abs(), not BETWEEN, which would compute the coordinate twice
    WHEN NOT coalesce(abs(session_sync.session_sync_coordinate(p_location -> 'latitude')) <= 90, false)
      OR NOT coalesce(abs(session_sync.session_sync_coordinate(p_location -> 'longitude')) <= 180, false)
        THEN 'INVALID_COORDINATES'
    WHEN session_sync.session_sync_coordinate(p_location -> 'latitude') = 0
     AND session_sync.session_sync_coordinate(p_location -> 'longitude') = 0
        THEN 'MISSING_LOCATION'
END;

COMMENT ON FUNCTION session_sync.session_sync_location_problem IS 'session_sync_location_problem(p_location jsonb) -> text
Contract: NULL when student_location holds usable coordinates, else the reason code:
  MISSING_LOCATION     no object, latitude or longitude absent, JSON null or "", or exactly (0, 0)
  INVALID_COORDINATES  not an object, or a coordinate that is not a finite decimal number
                       (session_sync_coordinate) or lies outside [-90, 90] / [-180, 180]
Never raises.';
