-- session_sync_queue: the purchases the next sync_all_sessions() or backfill will examine.
-- Contract: one row per purchase in the change log session_sync_changes: `version` is its
-- newest change_id (a run that read an older one leaves the purchase queued), `queued_at`
-- when it was first queued, `changes` how many rows the log holds for it.
CREATE OR REPLACE VIEW public.session_sync_queue AS
SELECT c.purchase_id,
       max(c.change_id) AS version,
       min(c.queued_at) AS queued_at,
       count(*) AS changes
FROM public.session_sync_changes c
GROUP BY c.purchase_id;
