CREATE TABLE public.session_sync_changes (
    change_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purchase_id uuid NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now(),
    xact xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX session_sync_changes_purchase_idx ON public.session_sync_changes (purchase_id, change_id);

COMMENT ON TABLE public.session_sync_changes IS 'session_sync_changes: the change log. One row per purchase that a write may have put out
of sync and that no sync has examined since: appended by the triggers (writes made with
session_sync.enabled off, the apps'' edits of tutoring sessions, allocation changes, a
sync at COMMIT that met a row another transaction holds), by session_sync_enqueue() and by
a failing sync. The platform''s transactions only ever INSERT into it, and nothing in it is
unique but an identity key, so two writers never wait for each other here. A run reads the purchases (deduplicated by the view session_sync_queue) and
deletes the rows it has dealt with: only rows its snapshot saw (`xact`, the inserting
transaction, is visible in it), so a row appended meanwhile keeps the purchase queued.';
COMMENT ON COLUMN public.session_sync_changes.change_id IS 'the order rows were appended in';
COMMENT ON COLUMN public.session_sync_changes.purchase_id IS 'the purchase to examine';
COMMENT ON COLUMN public.session_sync_changes.queued_at IS 'when the write that queued it began (its transaction''s start)';
COMMENT ON COLUMN public.session_sync_changes.xact IS 'the transaction that appended it (a run deletes only rows its snapshot saw)';
