-- session_sync_runs accounts for every purchase a run examined: synced + already in sync +
-- failed + deferred = examined. Runs recorded before leave the two new counts NULL (unknown).
ALTER TABLE public.session_sync_runs
    ADD COLUMN purchases_examined integer,
    ADD COLUMN purchases_in_sync integer;
