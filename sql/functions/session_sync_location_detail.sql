CREATE OR REPLACE FUNCTION session_sync.session_sync_location_detail(p_location jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN p_location IS NULL OR jsonb_typeof(p_location) = 'null' THEN 'student_location is null'
    WHEN jsonb_typeof(p_location) <> 'object'
        THEN 'student_location is a JSON ' || jsonb_typeof(p_location) || ', not an object'
    ELSE (SELECT string_agg(k.name || ' ' || CASE
              WHEN c.value BETWEEN -k.bound AND k.bound AND c.value <> 0 THEN 'valid'
              WHEN c.value <> round(c.value, 2) AND abs(c.value) <= 1000 THEN 'about ' || round(c.value, 2)
              ELSE session_sync.session_sync_quote(p_location -> k.name, '^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$') END,
              ', ' ORDER BY k.bound)
          FROM (VALUES ('latitude', 90), ('longitude', 180)) AS k(name, bound),
               LATERAL (SELECT session_sync.session_sync_coordinate(p_location -> k.name) AS value) c)
END;

COMMENT ON FUNCTION session_sync.session_sync_location_detail IS 'session_sync_location_detail(p_location jsonb) -> text
Contract: what is wrong with a student_location, for messages: "latitude <what>, longitude
<what>", each "valid" for a usable value (never the value: it locates the student''s home),
"about <value to 2 decimals>" for a finer number out of range, else as session_sync_quote
shows it; or the JSON type when it is not an object. Never the address. Never raises.';
