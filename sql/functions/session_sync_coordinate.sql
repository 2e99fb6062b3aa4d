CREATE OR REPLACE FUNCTION session_sync.session_sync_coordinate(p_value jsonb)
RETURNS numeric
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE jsonb_typeof(p_value)
    WHEN 'number' THEN p_value::numeric
    WHEN 'string' THEN CASE
        WHEN length(p_value #>> '{}') <= 1000 AND (p_value #>> '{}') ~ '^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$'
        THEN (p_value #>> '{}')::numeric END
END;

COMMENT ON FUNCTION session_sync.session_sync_coordinate IS 'session_sync_coordinate(p_value jsonb) -> numeric
Contract: the number a coordinate holds: a JSON number, or a JSON string that is entirely a
finite decimal number ("12.5", "-0.25", "+7", ".5": no spaces, exponent, "NaN" or
"Infinity"); else NULL. Range checks are the caller''s. Never raises.';
