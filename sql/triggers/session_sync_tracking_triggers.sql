CREATE OR REPLACE TRIGGER session_sync_tutoring_insert_delete
    AFTER INSERT OR DELETE ON public.tutoring_sessions
    FOR EACH ROW
    WHEN (current_setting('session_sync.applying', true) IS DISTINCT FROM pg_current_xact_id_if_assigned()::text)
    EXECUTE FUNCTION session_sync.session_sync_tutoring_sessions_trigger();
CREATE OR REPLACE TRIGGER session_sync_tutoring_update
    AFTER UPDATE ON public.tutoring_sessions
    FOR EACH ROW
    WHEN (current_setting('session_sync.applying', true) IS DISTINCT FROM pg_current_xact_id_if_assigned()::text
          AND (OLD.id, OLD.allocation_id, OLD.student_id, OLD.trainer_id, OLD.course_id, OLD.scheduled_date, OLD.scheduled_time, OLD.duration, OLD.status, OLD.student_home_location, OLD.metadata)
              IS DISTINCT FROM
              (NEW.id, NEW.allocation_id, NEW.student_id, NEW.trainer_id, NEW.course_id, NEW.scheduled_date, NEW.scheduled_time, NEW.duration, NEW.status, NEW.student_home_location, NEW.metadata))
    EXECUTE FUNCTION session_sync.session_sync_tutoring_sessions_trigger();
CREATE OR REPLACE TRIGGER session_sync_tutoring_truncate
    AFTER TRUNCATE ON public.tutoring_sessions
    FOR EACH STATEMENT
    EXECUTE FUNCTION session_sync.session_sync_tutoring_sessions_trigger();
CREATE OR REPLACE TRIGGER session_sync_allocations_insert
    AFTER INSERT ON public.trainer_allocations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    WHEN (current_setting('session_sync.applying', true) IS DISTINCT FROM pg_current_xact_id_if_assigned()::text)
    EXECUTE FUNCTION session_sync.session_sync_allocations_trigger();
CREATE OR REPLACE TRIGGER session_sync_allocations_update
    AFTER UPDATE ON public.trainer_allocations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    WHEN (current_setting('session_sync.applying', true) IS DISTINCT FROM pg_current_xact_id_if_assigned()::text)
    EXECUTE FUNCTION session_sync.session_sync_allocations_trigger();

COMMENT ON TRIGGER session_sync_tutoring_insert_delete ON public.tutoring_sessions IS 'Tracking triggers: a write the sync did not make queues the purchases it may have put out
of sync. Row-level on tutoring_sessions (its writers are apps, a row at a time),
statement-level with transition tables on trainer_allocations. The sync marks its own
writes by setting session_sync.applying to its transaction''s id, which the WHEN clauses
skip; a value left from another transaction (a session-level SET) does not match.';
COMMENT ON TRIGGER session_sync_tutoring_update ON public.tutoring_sessions IS 'Tracking trigger: see session_sync_tutoring_insert_delete (an update of a mapped column).';
COMMENT ON TRIGGER session_sync_tutoring_truncate ON public.tutoring_sessions IS 'Tracking trigger: see session_sync_tutoring_insert_delete (queues every eligible purchase).';
COMMENT ON TRIGGER session_sync_allocations_insert ON public.trainer_allocations IS 'Tracking trigger: see session_sync_tutoring_insert_delete.';
COMMENT ON TRIGGER session_sync_allocations_update ON public.trainer_allocations IS 'Tracking trigger: see session_sync_tutoring_insert_delete.';
