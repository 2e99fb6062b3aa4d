-- session_sync_session_state: session_sync_expected beside the tutoring session it maps to.
-- Contract: `state` of each purchase session of an eligible purchase:
--   missing    no tutoring session has its id
--   conflict   a tutoring session has its id but metadata.purchaseId names another purchase
--   protected  the tutoring session has happened or is happening (pending_verification,
--              in_progress, pending_confirmation, completed, disputed): never changed
--   drifted    a mapped column differs from what the mapping prescribes (or no allocation
--              exists yet); metadata drifts when merging the expected keys would change it
--   in_sync    nothing to do
-- `merged_metadata` is what an update writes: the tutoring session's own metadata keys are kept,
-- the expected keys put on top.
CREATE OR REPLACE VIEW public.session_sync_session_state AS
SELECT
    e.*,
    t.id IS NOT NULL AS tutoring_exists,
    t.status AS tutoring_status,
    CASE WHEN jsonb_typeof(t.metadata) = 'object' THEN t.metadata ELSE '{}'::jsonb END
        || e.metadata AS merged_metadata,
    CASE
        WHEN t.id IS NULL THEN 'missing'
        WHEN (t.metadata ->> 'purchaseId') IS DISTINCT FROM e.purchase_id::text
             AND (t.metadata ->> 'purchaseId') IS NOT NULL THEN 'conflict'
        WHEN t.status IN ('pending_verification', 'in_progress', 'pending_confirmation', 'completed', 'disputed')
            THEN 'protected'
        WHEN e.allocation_id IS NULL
          OR (t.allocation_id, t.student_id, t.trainer_id, t.course_id, t.scheduled_date,
              t.scheduled_time, t.duration, t.status, t.student_home_location)
             IS DISTINCT FROM
             (e.allocation_id, e.student_id, e.trainer_id, e.course_id, e.scheduled_date,
              e.scheduled_time::varchar, e.duration, e.status, e.student_home_location)
          OR (CASE WHEN jsonb_typeof(t.metadata) = 'object' THEN t.metadata ELSE '{}'::jsonb END
                  || e.metadata) IS DISTINCT FROM t.metadata
            THEN 'drifted'
        ELSE 'in_sync'
    END AS state
FROM public.session_sync_expected e
LEFT JOIN public.tutoring_sessions t ON t.id = e.session_id;
