CREATE OR REPLACE FUNCTION session_sync.session_sync_owned_by(p_metadata jsonb, p_purchase_id uuid)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN coalesce(p_metadata ->> 'purchaseId' = p_purchase_id::text, false)
    OR coalesce(session_sync.session_sync_owner(p_metadata) = p_purchase_id, false);

COMMENT ON FUNCTION session_sync.session_sync_owned_by IS 'session_sync_owned_by(p_metadata jsonb, p_purchase_id uuid) -> boolean
Contract: session_sync_owner(p_metadata) = p_purchase_id, never NULL. The canonical text of
the id (as the sync writes it) is compared first, which spares the UUID check per row.';
