-- The purchases a write may have put out of sync: what sync_all_sessions() and the batched
-- backfill examine. `version` changes each time a purchase is queued again, so a sync that
-- read an older version leaves it queued.
CREATE TABLE public.session_sync_queue (
    purchase_id uuid PRIMARY KEY,
    version bigint NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE public.session_sync_queue_version_seq OWNED BY public.session_sync_queue.version;
ALTER TABLE public.session_sync_queue
    ALTER COLUMN version SET DEFAULT nextval('public.session_sync_queue_version_seq');
COMMENT ON TABLE public.session_sync_queue IS
    'session-sync: purchases to examine on the next sync_all_sessions(); filled by the tracking triggers and session_sync_enqueue()';
