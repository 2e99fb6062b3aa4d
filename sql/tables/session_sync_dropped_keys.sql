CREATE TABLE public.session_sync_dropped_keys (
    session_id uuid NOT NULL,
    key text NOT NULL,
    dropped_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_sync_dropped_keys_session_idx ON public.session_sync_dropped_keys (session_id);

COMMENT ON TABLE public.session_sync_dropped_keys IS 'session_sync_dropped_keys: metadata keys a purchase session lost (the canonical keys
aside), appended by the trigger session_sync_dropped_keys_note. The sync copied them onto
the tutoring session, so they are its to remove: the next write of that tutoring session
removes them (unless the purchase session has the key again) and deletes their rows; until
then session_sync_session_state calls the session drifted. Rows with nothing left to do are
deleted by the next sync of the purchase. Keys the apps added to a tutoring session are
never listed and are kept. Insert-only for the platform''s transactions.';
COMMENT ON COLUMN public.session_sync_dropped_keys.session_id IS 'the purchase session (and tutoring session) id';
COMMENT ON COLUMN public.session_sync_dropped_keys.key IS 'the metadata key its purchase session dropped';
COMMENT ON COLUMN public.session_sync_dropped_keys.dropped_at IS 'when the UPDATE that dropped it ran';
