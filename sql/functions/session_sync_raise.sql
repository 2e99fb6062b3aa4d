CREATE OR REPLACE FUNCTION session_sync.session_sync_raise(
    p_reason text,
    p_purchase_id uuid,
    p_detail text DEFAULT NULL
)
RETURNS void
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_sqlstate text;
    v_hint text;
BEGIN
    SELECT r.sqlstate, replace(r.hint, '<purchase id>', coalesce(p_purchase_id::text, 'NULL'))
    INTO v_sqlstate, v_hint
    FROM session_sync.session_sync_reasons() r
    WHERE r.reason = p_reason;

    RAISE EXCEPTION USING
        ERRCODE = coalesce(v_sqlstate, 'SS000'),
        MESSAGE = session_sync.session_sync_failure_message(p_reason, p_purchase_id, p_detail),
        HINT = coalesce(v_hint, 'See session_sync_reasons() for the reason codes.');
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_raise IS 'session_sync_raise(p_reason text, p_purchase_id uuid, p_detail text DEFAULT NULL)
Contract: raises the package''s error for a purchase that cannot be synced: SQLSTATE and
HINT from session_sync_reasons(), MESSAGE from session_sync_failure_message().';
