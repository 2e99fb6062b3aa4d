CREATE OR REPLACE VIEW public.session_sync_session_state AS
SELECT
    e.session_id,
    e.purchase_id,
    e.reason,
    e.metadata,
    t.id IS NOT NULL AS tutoring_exists,
    t.status AS tutoring_status,
    (CASE WHEN jsonb_typeof(t.metadata) = 'object' THEN t.metadata ELSE '{}'::jsonb END
        - coalesce(dk.keys, '{}'::text[])) || e.metadata AS merged_metadata,
    st.state,
    t.xmin AS tutoring_xmin,
    dk.keys AS dropped_keys,
    -- the mapped columns last: a revision adding one appends a column, which CREATE OR REPLACE VIEW allows
    e.allocation_id,
    e.student_id,
    e.trainer_id,
    e.course_id,
    e.scheduled_date,
    e.scheduled_time,
    e.duration,
    e.status,
    e.student_home_location
FROM public.session_sync_expected e
LEFT JOIN public.tutoring_sessions t ON t.id = e.session_id
-- The session's dropped keys, by index, only while the table has rows (the uncorrelated EXISTS
-- runs once per query). Both laterals are flattened, no node per row: the state is computed per
-- use (the WHERE, then the rows returned); a reader using it more per row fences it (OFFSET 0).
CROSS JOIN LATERAL (
    SELECT CASE WHEN EXISTS (SELECT 1 FROM public.session_sync_dropped_keys)
                THEN (SELECT array_agg(DISTINCT d.key) FROM public.session_sync_dropped_keys d
                      WHERE d.session_id = e.session_id)
           END AS keys
) dk
CROSS JOIN LATERAL (
    SELECT
        CASE
            WHEN t.id IS NULL THEN 'missing'
            WHEN NOT session_sync.session_sync_owned_by(t.metadata, e.purchase_id) THEN 'conflict'
            WHEN session_sync.session_sync_protected(t.status) THEN 'protected'
            WHEN e.allocation_id IS NULL
              OR (t.allocation_id, t.student_id, t.trainer_id, t.course_id, t.scheduled_date, t.scheduled_time, t.duration, t.status, t.student_home_location)
                 IS DISTINCT FROM
                 (e.allocation_id, e.student_id, e.trainer_id, e.course_id, e.scheduled_date, e.scheduled_time, e.duration, e.status, e.student_home_location)
              OR NOT coalesce(
                     jsonb_typeof(t.metadata) = 'object'
                     AND t.metadata ->> 'purchaseId' = e.purchase_id::text
                     AND t.metadata ->> 'bookingId' = e.booking_id::text
                     AND CASE jsonb_typeof(t.metadata -> 'sessionNumber')
                             WHEN 'number' THEN (t.metadata -> 'sessionNumber')::numeric = e.session_number END
                     AND CASE WHEN e.session_type IS NULL THEN t.metadata -> 'sessionType' = 'null'::jsonb
                              ELSE jsonb_typeof(t.metadata -> 'sessionType') = 'string'
                                   AND t.metadata ->> 'sessionType' = e.session_type END
                     AND CASE
                             WHEN coalesce(jsonb_typeof(e.session_metadata), '') <> 'object' THEN true
                             WHEN jsonb_path_exists(e.session_metadata,
                                                    'strict $.* ? (@.type() == "object" || @.type() == "array")')
                                 THEN t.metadata || e.metadata = t.metadata
                             ELSE t.metadata @> (e.session_metadata
                                                 - '{purchaseId,bookingId,sessionNumber,sessionType}'::text[])
                         END,
                     false)
              -- the metadata holding all expected keys, a dropped key stays if not one of them
              OR (EXISTS (SELECT 1 FROM public.session_sync_dropped_keys)
                  AND jsonb_typeof(t.metadata) = 'object'
                  AND EXISTS (SELECT 1 FROM public.session_sync_dropped_keys d
                              WHERE d.session_id = e.session_id AND t.metadata ? d.key AND NOT e.metadata ? d.key))
                THEN 'drifted'
            ELSE 'in_sync'
        END AS state
) st;

COMMENT ON VIEW public.session_sync_session_state IS 'session_sync_session_state: session_sync_expected beside the tutoring session it maps to.
Contract: `state` of each purchase session of an eligible purchase:
  missing    no tutoring session has its id
  conflict   a tutoring session has its id but its metadata.purchaseId is absent or names
             another purchase: someone else''s row, never taken over
  protected  the tutoring session has happened or is happening (pending_verification,
             in_progress, pending_confirmation, completed, disputed): never changed
  drifted    a mapped column differs from the mapping (or no allocation exists yet), merging
             the expected metadata keys would change its metadata, or it still has a key its
             purchase session has dropped since the sync copied it (session_sync_dropped_keys)
  in_sync    nothing to do
The metadata test checks the four canonical keys and contains the purchase session''s own keys
(where those hold arrays or objects it compares the merge exactly).';
COMMENT ON COLUMN public.session_sync_session_state.session_id IS 'the purchase session (and tutoring session) id';
COMMENT ON COLUMN public.session_sync_session_state.purchase_id IS 'its purchase';
COMMENT ON COLUMN public.session_sync_session_state.reason IS 'the purchase''s reason code (NULL when it can be synced)';
COMMENT ON COLUMN public.session_sync_session_state.metadata IS 'the expected metadata keys (the purchase session''s and the canonical ones)';
COMMENT ON COLUMN public.session_sync_session_state.tutoring_exists IS 'a tutoring session has the id';
COMMENT ON COLUMN public.session_sync_session_state.tutoring_status IS 'its status';
COMMENT ON COLUMN public.session_sync_session_state.merged_metadata IS 'the metadata an update writes: the tutoring session''s keys but dropped_keys, the expected keys on top';
COMMENT ON COLUMN public.session_sync_session_state.state IS 'missing, conflict, protected, drifted or in_sync (see the view''s description)';
COMMENT ON COLUMN public.session_sync_session_state.tutoring_xmin IS 'the version of the tutoring session that was classified (a write leaves the purchase for later when it changed since)';
COMMENT ON COLUMN public.session_sync_session_state.dropped_keys IS 'keys its purchase session''s metadata dropped that the sync has yet to remove (session_sync_dropped_keys)';
COMMENT ON COLUMN public.session_sync_session_state.allocation_id IS 'the expected allocation_id (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.student_id IS 'the expected student_id (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.trainer_id IS 'the expected trainer_id (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.course_id IS 'the expected course_id (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.scheduled_date IS 'the expected scheduled_date (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.scheduled_time IS 'the expected scheduled_time (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.duration IS 'the expected duration (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.status IS 'the expected status (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.student_home_location IS 'the expected student_home_location (a mapped column: session_sync_expected)';
