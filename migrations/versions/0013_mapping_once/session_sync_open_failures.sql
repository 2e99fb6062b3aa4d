-- session_sync_open_failures: what still needs a person.
-- Contract: the latest recorded failure of each purchase that is still not in sync (it is in
-- session_sync_pending), with how many of its sessions are missing or drifted now. A purchase
-- whose data was fixed and synced drops out by itself. occurrences and first_failed_at: how
-- many times, and since when, it has failed for this reason.
CREATE OR REPLACE VIEW public.session_sync_open_failures AS
SELECT
    f.purchase_id,  -- a purchase still not in sync whose sync failed
    f.reason,  -- the reason code of its latest failure
    f.message,  -- what is wrong (ids and coordinates only)
    f.hint,  -- how to fix it
    f.source,  -- the path that met it last
    f.run_id,  -- the run that met it last (NULL: the sync at COMMIT or sync_purchase_sessions)
    f.failed_at,  -- when it last failed
    pending.missing_count,  -- its sessions missing now
    pending.drifted_count,  -- its sessions drifted now
    f.occurrences,  -- how many times it failed for this reason
    f.first_failed_at  -- when it first failed for this reason
FROM (
    -- occurrences and first_failed_at over every row of the purchase and reason (two
    -- transactions failing it at once may each leave one until the next failure folds them)
    SELECT DISTINCT ON (sf.purchase_id)
        sf.purchase_id, sf.reason, sf.message, sf.hint, sf.source, sf.run_id, sf.failed_at,
        sum(sf.occurrences) OVER (PARTITION BY sf.purchase_id, sf.reason) AS occurrences,
        min(sf.first_failed_at) OVER (PARTITION BY sf.purchase_id, sf.reason) AS first_failed_at
    FROM public.session_sync_failures sf
    ORDER BY sf.purchase_id, sf.failed_at DESC, sf.failure_id DESC
) f
JOIN public.session_sync_pending pending ON pending.purchase_id = f.purchase_id;
