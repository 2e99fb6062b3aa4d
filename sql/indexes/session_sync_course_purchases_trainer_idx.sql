CREATE INDEX IF NOT EXISTS session_sync_course_purchases_trainer_idx
    ON public.course_purchases (trainer_id, course_id);

COMMENT ON INDEX public.session_sync_course_purchases_trainer_idx IS 'session_sync_course_purchases_trainer_idx: the purchases of a (trainer, course), for the
allocation tracking trigger.';
