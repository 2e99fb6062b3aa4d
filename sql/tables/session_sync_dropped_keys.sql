CREATE TABLE public.session_sync_dropped_keys (
    session_id uuid NOT NULL,
    key text NOT NULL,
    dropped_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_sync_dropped_keys_session_idx ON public.session_sync_dropped_keys (session_id);

COMMENT ON TABLE public.session_sync_dropped_keys IS 'session_sync_dropped_keys: keys a purchase session''s metadata lost, until the sync has removed
them from the tutoring session it maps to.
Contract: the trigger session_sync_dropped_keys_note appends one row per key an UPDATE of
purchase_sessions.metadata drops (the canonical keys purchaseId, bookingId, sessionNumber and
sessionType aside, which the sync always writes). The sync copied those keys onto the tutoring
session, so they are the sync''s to remove: the next write of that tutoring session removes
them (unless the purchase session has the key again) and deletes its rows here; until then
session_sync_session_state calls the session drifted. A row with nothing left to do (the key
is back on the purchase session, gone from the tutoring session, or that session is
protected and keeps it) is deleted by the next sync that examines the purchase. Keys the apps added to a tutoring
session never appear here and are kept. Append-only for the platform''s transactions
(nothing unique), so two writers never wait for each other here.';
COMMENT ON COLUMN public.session_sync_dropped_keys.session_id IS 'the purchase session (and tutoring session) id';
COMMENT ON COLUMN public.session_sync_dropped_keys.key IS 'the metadata key its purchase session dropped';
COMMENT ON COLUMN public.session_sync_dropped_keys.dropped_at IS 'when the UPDATE that dropped it ran';
