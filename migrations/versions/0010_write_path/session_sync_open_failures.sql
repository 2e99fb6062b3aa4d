-- session_sync_open_failures: what still needs a person.
-- Contract: the latest recorded failure of each purchase that is still not in sync (it is in
-- session_sync_pending), with how many of its sessions are missing or drifted now. A purchase
-- whose data was fixed and synced drops out by itself.
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
    pending.drifted_count
FROM (
    SELECT DISTINCT ON (sf.purchase_id) sf.*
    FROM public.session_sync_failures sf
    ORDER BY sf.purchase_id, sf.failed_at DESC, sf.failure_id DESC
) f
JOIN public.session_sync_pending pending ON pending.purchase_id = f.purchase_id;
