CREATE TABLE public.session_sync_changes (
    change_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purchase_id uuid NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now(),
    xact xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX session_sync_changes_purchase_idx ON public.session_sync_changes (purchase_id, change_id);

COMMENT ON TABLE public.session_sync_changes IS 'session_sync_changes: the change log, one row per purchase that a write may have put out
of sync and that no sync has examined since (seen deduplicated through session_sync_queue).
Appended by the tracking triggers, session_sync_enqueue() and a failing sync; insert-only
for the platform''s transactions, nothing unique but the identity key, so writers never wait
for each other here. A run deletes only the rows its snapshot saw (`xact`), so a row
appended meanwhile keeps the purchase queued.';
COMMENT ON COLUMN public.session_sync_changes.change_id IS 'the order rows were appended in';
COMMENT ON COLUMN public.session_sync_changes.purchase_id IS 'the purchase to examine';
COMMENT ON COLUMN public.session_sync_changes.queued_at IS 'when the write that queued it began (its transaction''s start)';
COMMENT ON COLUMN public.session_sync_changes.xact IS 'the transaction that appended it (a run deletes only rows its snapshot saw)';
