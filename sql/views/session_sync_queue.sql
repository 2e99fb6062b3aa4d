-- session_sync_queue: the purchases the next sync_all_sessions() or backfill will examine.
-- Contract: one row per purchase in the change log session_sync_changes: `version` is its
-- newest change_id (a run that read an older one leaves the purchase queued), `queued_at`
-- when it was first queued, `changes` how many rows the log holds for it.
CREATE OR REPLACE VIEW public.session_sync_queue AS
SELECT c.purchase_id,  -- a purchase the next run examines
       max(c.change_id) AS version,  -- the newest change-log row of it (change_id)
       min(c.queued_at) AS queued_at,  -- when it was first queued (the oldest of its rows)
       count(*) AS changes  -- how many change-log rows it has
FROM public.session_sync_changes c
GROUP BY c.purchase_id;
