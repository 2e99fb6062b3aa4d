CREATE OR REPLACE VIEW public.session_sync_queue AS
SELECT c.purchase_id,
       max(c.change_id) AS version,
       min(c.queued_at) AS queued_at,
       count(*) AS changes
FROM public.session_sync_changes c
GROUP BY c.purchase_id;

COMMENT ON VIEW public.session_sync_queue IS 'session_sync_queue: the purchases the next sync_all_sessions() or backfill will examine,
one row per purchase of the change log session_sync_changes.';
COMMENT ON COLUMN public.session_sync_queue.purchase_id IS 'a purchase the next run examines';
COMMENT ON COLUMN public.session_sync_queue.version IS 'its newest change_id (a run that read an older one leaves it queued)';
COMMENT ON COLUMN public.session_sync_queue.queued_at IS 'when it was first queued (the oldest of its rows)';
COMMENT ON COLUMN public.session_sync_queue.changes IS 'how many change-log rows it has';
