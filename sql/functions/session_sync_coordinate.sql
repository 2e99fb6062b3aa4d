CREATE OR REPLACE FUNCTION session_sync.session_sync_coordinate(p_value jsonb)
RETURNS numeric
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN jsonb_typeof(p_value) = 'number' THEN p_value::numeric
    WHEN jsonb_typeof(p_value) = 'string'
         AND length(p_value #>> '{}') <= 1000
         AND (p_value #>> '{}') ~ '^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$'
    THEN (p_value #>> '{}')::numeric
END;

COMMENT ON FUNCTION session_sync.session_sync_coordinate IS 'session_sync_coordinate(p_value jsonb) -> numeric
Contract: the number a coordinate holds, or NULL when it holds none.
A JSON number is taken as it is (JSON cannot hold NaN or Infinity). A JSON string is
taken only when it is entirely a finite decimal number ("12.5", "-0.25", "+7", ".5"):
no spaces, no exponent, no "12abc", "NaN" or "Infinity". Anything else is NULL.
Range checks are the caller''s (see session_sync_location_problem). Never raises.';
