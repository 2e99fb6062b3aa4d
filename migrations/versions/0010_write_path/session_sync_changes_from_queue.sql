-- The queue of 0008 becomes an append-only change log (session_sync_changes) and a view of
-- the same name and columns (plus `changes`); its rows move over in version order.
INSERT INTO public.session_sync_changes (purchase_id, queued_at)
SELECT q.purchase_id, q.queued_at FROM public.session_sync_queue q ORDER BY q.version;
DROP TABLE public.session_sync_queue;
ALTER TABLE public.session_sync_runs
    ADD COLUMN purchases_deferred integer,
    ADD COLUMN purchases_retried integer,
    ADD COLUMN retry_reason text;
COMMENT ON COLUMN public.session_sync_runs.purchases_deferred IS
    'purchases left queued because another transaction held (or had just changed) one of their tutoring sessions';
COMMENT ON COLUMN public.session_sync_runs.purchases_retried IS
    'purchases synced one by one because the set-based write failed (retry_reason says why)';
