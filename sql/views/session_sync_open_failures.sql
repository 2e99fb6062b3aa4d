CREATE OR REPLACE VIEW public.session_sync_open_failures AS
SELECT
    f.purchase_id,
    f.reason,
    f.message,
    f.hint,
    f.source,
    f.run_id,
    f.failed_at,
    pending.missing_count,
    pending.drifted_count,
    f.occurrences,
    f.first_failed_at
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

COMMENT ON VIEW public.session_sync_open_failures IS 'session_sync_open_failures: what still needs a person: the latest recorded failure of each
purchase still in session_sync_pending, with its sessions missing or drifted now. A purchase
fixed and synced drops out by itself.';
COMMENT ON COLUMN public.session_sync_open_failures.purchase_id IS 'a purchase still not in sync whose sync failed';
COMMENT ON COLUMN public.session_sync_open_failures.reason IS 'the reason code of its latest failure';
COMMENT ON COLUMN public.session_sync_open_failures.message IS 'what is wrong (ids and coordinates only)';
COMMENT ON COLUMN public.session_sync_open_failures.hint IS 'how to fix it';
COMMENT ON COLUMN public.session_sync_open_failures.source IS 'the path that met it last';
COMMENT ON COLUMN public.session_sync_open_failures.run_id IS 'the run that met it last (NULL: the sync at COMMIT or sync_purchase_sessions)';
COMMENT ON COLUMN public.session_sync_open_failures.failed_at IS 'when it last failed';
COMMENT ON COLUMN public.session_sync_open_failures.missing_count IS 'its sessions missing now';
COMMENT ON COLUMN public.session_sync_open_failures.drifted_count IS 'its sessions drifted now';
COMMENT ON COLUMN public.session_sync_open_failures.occurrences IS 'how many times it failed for this reason';
COMMENT ON COLUMN public.session_sync_open_failures.first_failed_at IS 'when it first failed for this reason';
