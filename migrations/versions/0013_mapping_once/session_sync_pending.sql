-- session_sync_pending: the guide's Option 3 query, done right.
-- Contract: one row per eligible purchase (trainer_id set, status ASSIGNED) that has a
-- missing, drifted or conflicting session: how many purchase and tutoring sessions it has,
-- how many are missing, drifted (a mapped value differs), or conflict (their id is taken by
-- another purchase's tutoring session), and `reason`, the code that will stop its sync
-- (NULL when it can be synced).
CREATE OR REPLACE VIEW public.session_sync_pending AS
SELECT
    s.purchase_id,  -- an eligible purchase with a missing, drifted or conflicting session
    s.trainer_id,  -- its trainer
    s.course_id,  -- its course
    count(*)::integer AS purchase_sessions_count,  -- its purchase sessions
    count(*) FILTER (WHERE s.tutoring_exists)::integer AS tutoring_sessions_count,  -- how many of them have a tutoring session with their id
    count(*) FILTER (WHERE s.state = 'missing')::integer AS missing_count,  -- purchase sessions with no tutoring session
    count(*) FILTER (WHERE s.state = 'drifted')::integer AS drifted_count,  -- tutoring sessions whose mapped values differ from the mapping
    count(*) FILTER (WHERE s.state = 'conflict')::integer AS conflict_count,  -- purchase sessions whose id is taken by a tutoring session that is not this purchase's
    CASE WHEN bool_or(s.state = 'conflict') THEN coalesce(min(s.reason), 'SESSION_CONFLICT')
         ELSE min(s.reason) END AS reason  -- the reason code that will stop its sync; NULL when it can be synced
FROM public.session_sync_session_state s
GROUP BY s.purchase_id, s.trainer_id, s.course_id
HAVING bool_or(s.state IN ('missing', 'drifted', 'conflict'));
