CREATE OR REPLACE FUNCTION session_sync.session_sync_setting(p_name text, p_default boolean)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_value text := lower(btrim(coalesce(current_setting('session_sync.' || p_name, true), '')));
BEGIN
    IF v_value = '' THEN
        RETURN p_default;
    ELSIF v_value IN ('on', 'true', 'yes', '1') THEN
        RETURN true;
    ELSIF v_value IN ('off', 'false', 'no', '0') THEN
        RETURN false;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = '22023',
        MESSAGE = format('session_sync.%s is %L, which is not a boolean', p_name, v_value),
        HINT = format('SET session_sync.%s = on (or off).', p_name);
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_setting IS 'session_sync_setting(p_name text, p_default boolean) -> boolean
Contract: the custom setting session_sync.<p_name> as a boolean (on/true/yes/1,
off/false/no/0), p_default when unset or empty; any other value raises 22023, naming it.';
