-- session_sync_quote(p_value jsonb, p_safe text) -> text
-- Contract: how messages name an offending value without leaking personal data: the value's
-- JSON text when it is a JSON number, or a string of at most 64 characters matching the
-- regular expression p_safe (for an id: hex digits and dashes; for a coordinate: a decimal
-- number); otherwise only its shape, e.g. 'a JSON string of 23 characters', 'a JSON object'.
-- 'absent' for SQL NULL. Never raises. Pure; its SQL-standard body is bound when created.
CREATE OR REPLACE FUNCTION session_sync.session_sync_quote(p_value jsonb, p_safe text)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN p_value IS NULL THEN 'absent'
    WHEN jsonb_typeof(p_value) = 'number' THEN left(p_value::text, 64)
    WHEN jsonb_typeof(p_value) = 'string' AND length(p_value #>> '{}') <= 64 AND (p_value #>> '{}') ~ p_safe
        THEN p_value::text
    WHEN jsonb_typeof(p_value) = 'string' THEN 'a JSON string of ' || length(p_value #>> '{}') || ' characters'
    ELSE 'a JSON ' || jsonb_typeof(p_value)
END;
