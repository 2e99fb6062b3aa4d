CREATE OR REPLACE VIEW public.session_sync_pending AS
SELECT
    s.purchase_id,
    s.trainer_id,
    s.course_id,
    count(*)::integer AS purchase_sessions_count,
    count(*) FILTER (WHERE s.tutoring_exists)::integer AS tutoring_sessions_count,
    count(*) FILTER (WHERE s.state = 'missing')::integer AS missing_count,
    count(*) FILTER (WHERE s.state = 'drifted')::integer AS drifted_count,
    count(*) FILTER (WHERE s.state = 'conflict')::integer AS conflict_count,
    CASE WHEN bool_or(s.state = 'conflict') THEN coalesce(min(s.reason), 'SESSION_CONFLICT')
         ELSE min(s.reason) END AS reason
FROM public.session_sync_session_state s
GROUP BY s.purchase_id, s.trainer_id, s.course_id
HAVING bool_or(s.state IN ('missing', 'drifted', 'conflict'));

COMMENT ON VIEW public.session_sync_pending IS 'session_sync_pending: the guide''s Option 3 query, done right: one row per eligible
purchase with a missing, drifted or conflicting session, with its counts and the reason
that will stop its sync.';
COMMENT ON COLUMN public.session_sync_pending.purchase_id IS 'an eligible purchase with a missing, drifted or conflicting session';
COMMENT ON COLUMN public.session_sync_pending.trainer_id IS 'its trainer';
COMMENT ON COLUMN public.session_sync_pending.course_id IS 'its course';
COMMENT ON COLUMN public.session_sync_pending.purchase_sessions_count IS 'its purchase sessions';
COMMENT ON COLUMN public.session_sync_pending.tutoring_sessions_count IS 'how many of them have a tutoring session with their id';
COMMENT ON COLUMN public.session_sync_pending.missing_count IS 'purchase sessions with no tutoring session';
COMMENT ON COLUMN public.session_sync_pending.drifted_count IS 'tutoring sessions whose mapped values differ from the mapping';
COMMENT ON COLUMN public.session_sync_pending.conflict_count IS 'purchase sessions whose id is taken by a tutoring session that is not this purchase''s';
COMMENT ON COLUMN public.session_sync_pending.reason IS 'the reason code that will stop its sync; NULL when it can be synced';
