-- session_sync_failures keeps one row per purchase and reason: the rows recorded before are
-- folded into the newest of each (purchase, reason), which carries their count and the time of
-- the first. The package's own records only; nothing of the platform's is touched.
ALTER TABLE public.session_sync_failures
    ADD COLUMN occurrences integer NOT NULL DEFAULT 1,
    ADD COLUMN first_failed_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp();
WITH folded AS (
    SELECT f.failure_id,
           pg_catalog.count(*) OVER w AS occurrences,
           pg_catalog.min(f.failed_at) OVER w AS first_failed_at,
           pg_catalog.row_number() OVER (PARTITION BY f.purchase_id, f.reason
                                         ORDER BY f.failed_at DESC, f.failure_id DESC) AS newest
    FROM public.session_sync_failures f
    WINDOW w AS (PARTITION BY f.purchase_id, f.reason)
), kept AS (
    UPDATE public.session_sync_failures f
    SET occurrences = folded.occurrences::integer, first_failed_at = folded.first_failed_at
    FROM folded
    WHERE f.failure_id OPERATOR(pg_catalog.=) folded.failure_id AND folded.newest OPERATOR(pg_catalog.=) 1
)
DELETE FROM public.session_sync_failures f
USING folded
WHERE f.failure_id OPERATOR(pg_catalog.=) folded.failure_id AND folded.newest OPERATOR(pg_catalog.>) 1;
