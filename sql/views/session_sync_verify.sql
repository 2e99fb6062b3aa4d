CREATE OR REPLACE VIEW public.session_sync_verify AS
SELECT
    st.purchase_sessions,
    (SELECT count(*) FROM public.tutoring_sessions t WHERE t.metadata ->> 'purchaseId' IS NOT NULL)
        AS tutoring_sessions,
    st.missing,
    st.drifted,
    st.conflicts,
    st.protected,
    (SELECT count(*)
     FROM public.tutoring_sessions t
     WHERE t.metadata ->> 'purchaseId' IS NOT NULL
       AND NOT EXISTS (
           SELECT 1
           FROM public.purchase_sessions ps
           JOIN public.course_purchases p ON p.id = ps.purchase_id
           WHERE ps.id = t.id AND session_sync.session_sync_eligible(p.trainer_id, p.status))) AS orphaned
FROM (
    SELECT count(*) AS purchase_sessions,
           count(*) FILTER (WHERE s.state = 'missing') AS missing,
           count(*) FILTER (WHERE s.state = 'drifted') AS drifted,
           count(*) FILTER (WHERE s.state = 'conflict') AS conflicts,
           count(*) FILTER (WHERE s.state = 'protected') AS protected
    FROM (SELECT s.state FROM public.session_sync_session_state s OFFSET 0) s  -- each state once
) st;

COMMENT ON VIEW public.session_sync_verify IS 'session_sync_verify: the guide''s "Testing the Sync" as one row of counts; missing and
drifted are 0 after a sync_all_sessions() run with no failures.';
COMMENT ON COLUMN public.session_sync_verify.purchase_sessions IS 'purchase sessions of eligible purchases';
COMMENT ON COLUMN public.session_sync_verify.tutoring_sessions IS 'tutoring sessions with a metadata.purchaseId';
COMMENT ON COLUMN public.session_sync_verify.missing IS 'purchase sessions of eligible purchases with no tutoring session (0 after a run without failures)';
COMMENT ON COLUMN public.session_sync_verify.drifted IS 'tutoring sessions whose mapped values differ (0 after a run without failures)';
COMMENT ON COLUMN public.session_sync_verify.conflicts IS 'purchase sessions whose id is taken by a tutoring session that is not their purchase''s';
COMMENT ON COLUMN public.session_sync_verify.protected IS 'tutoring sessions that happened or are happening (never changed)';
COMMENT ON COLUMN public.session_sync_verify.orphaned IS 'tutoring sessions with a purchaseId whose purchase session is gone or whose purchase is no longer eligible (never deleted)';
