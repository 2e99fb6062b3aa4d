CREATE OR REPLACE FUNCTION session_sync.session_sync_keys_dropped(p_old jsonb, p_new jsonb)
RETURNS text[]
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT array_agg(k.key ORDER BY k.key)
    FROM jsonb_object_keys(CASE WHEN jsonb_typeof(p_old) = 'object' THEN p_old ELSE '{}'::jsonb END) AS k(key)
    WHERE NOT (k.key = ANY ('{purchaseId,bookingId,sessionNumber,sessionType}'::text[]))
      AND NOT coalesce(jsonb_typeof(p_new) = 'object' AND p_new ? k.key, false)
$$;

COMMENT ON FUNCTION session_sync.session_sync_keys_dropped IS 'session_sync_keys_dropped(p_old jsonb, p_new jsonb) -> text[]
Contract: the keys of the object p_old that p_new lacks (all when p_new is not an object),
the canonical keys purchaseId, bookingId, sessionNumber and sessionType aside; sorted; NULL
when none.';
