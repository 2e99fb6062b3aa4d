CREATE INDEX IF NOT EXISTS session_sync_purchase_sessions_purchase_idx
    ON public.purchase_sessions (purchase_id);

COMMENT ON INDEX public.session_sync_purchase_sessions_purchase_idx IS 'session_sync_purchase_sessions_purchase_idx: a purchase''s sessions, which every path of
the sync reads per purchase.';
