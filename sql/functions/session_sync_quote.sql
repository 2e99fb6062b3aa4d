CREATE OR REPLACE FUNCTION session_sync.session_sync_quote(p_value jsonb, p_safe text)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN p_value IS NULL THEN 'absent'
    WHEN jsonb_typeof(p_value) = 'number' AND length(p_value::text) <= 12
         AND abs(p_value::numeric) <= 1000 THEN p_value::text
    WHEN jsonb_typeof(p_value) = 'number' THEN 'a JSON number out of range'
    WHEN jsonb_typeof(p_value) = 'string' AND p_safe IS NOT NULL AND length(p_value #>> '{}') <= 12
         AND (p_value #>> '{}') ~ p_safe AND abs((p_value #>> '{}')::numeric) <= 1000
        THEN p_value::text
    WHEN jsonb_typeof(p_value) = 'string' THEN 'a JSON string of ' || length(p_value #>> '{}') || ' characters'
    ELSE 'a JSON ' || jsonb_typeof(p_value)
END;

COMMENT ON FUNCTION session_sync.session_sync_quote IS 'session_sync_quote(p_value jsonb, p_safe text) -> text
Contract: how messages name an offending value without leaking personal data: its JSON
text only when it is a number, or a string matching the regular expression p_safe (NULL:
never), of at most 12 characters and within [-1000, 1000]; else only its shape (''a JSON
string of 23 characters'', ''a JSON number out of range'', ''a JSON object''); ''absent''
for SQL NULL. Never raises.';
