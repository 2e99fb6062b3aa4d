CREATE INDEX IF NOT EXISTS session_sync_trainer_allocations_lookup_idx
    ON public.trainer_allocations (student_id, trainer_id, course_id)
    WHERE status IN ('approved', 'active');

COMMENT ON INDEX public.session_sync_trainer_allocations_lookup_idx IS 'session_sync_trainer_allocations_lookup_idx: the usable allocations of a (student,
trainer, course), for session_sync_expected''s lookup.';
