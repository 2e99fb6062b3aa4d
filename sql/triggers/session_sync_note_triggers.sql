CREATE OR REPLACE TRIGGER session_sync_note_purchases_insert
    AFTER INSERT ON public.course_purchases
    FOR EACH ROW
    WHEN (NEW.trainer_id IS NOT NULL AND NEW.status = 'ASSIGNED'
      AND
          COALESCE(pg_catalog.octet_length(pg_catalog.current_setting('session_sync.pending', true)), 0) <= 65536
          AND pg_catalog.strpos(pg_catalog.concat(pg_catalog.current_setting('session_sync.pending', true)), NEW.id::text) = 0
          AND pg_catalog.set_config('session_sync.pending', pg_catalog.concat(pg_catalog.current_setting('session_sync.pending', true), ',', NEW.id), true) IS NULL)
    EXECUTE FUNCTION session_sync.session_sync_never_trigger();
CREATE OR REPLACE TRIGGER session_sync_note_purchases_update
    AFTER UPDATE ON public.course_purchases
    FOR EACH ROW
    WHEN ((OLD.id, OLD.booking_id, OLD.trainer_id, OLD.status, OLD.students, OLD.student_location, OLD.course_id,
           OLD.delivery_mode, OLD.total_sessions, OLD.start_date, OLD.preferred_time_slot, OLD.created_at)
          IS DISTINCT FROM
          (NEW.id, NEW.booking_id, NEW.trainer_id, NEW.status, NEW.students, NEW.student_location, NEW.course_id,
           NEW.delivery_mode, NEW.total_sessions, NEW.start_date, NEW.preferred_time_slot, NEW.created_at)
      AND
          COALESCE(pg_catalog.octet_length(pg_catalog.current_setting('session_sync.pending', true)), 0) <= 65536
          AND (pg_catalog.strpos(pg_catalog.concat(pg_catalog.current_setting('session_sync.pending', true)), NEW.id::text) = 0
               OR OLD.id <> NEW.id AND pg_catalog.strpos(pg_catalog.concat(pg_catalog.current_setting('session_sync.pending', true)), OLD.id::text) = 0)
          AND pg_catalog.set_config('session_sync.pending', pg_catalog.concat(pg_catalog.current_setting('session_sync.pending', true), ',', NEW.id,
                                    CASE WHEN OLD.id <> NEW.id THEN ',' || OLD.id::text END), true) IS NULL)
    EXECUTE FUNCTION session_sync.session_sync_never_trigger();
CREATE OR REPLACE TRIGGER session_sync_note_sessions_insert
    AFTER INSERT ON public.purchase_sessions
    FOR EACH ROW
    WHEN (
          COALESCE(pg_catalog.octet_length(pg_catalog.current_setting('session_sync.pending', true)), 0) <= 65536
          AND pg_catalog.strpos(pg_catalog.concat(pg_catalog.current_setting('session_sync.pending', true)), NEW.purchase_id::text) = 0
          AND pg_catalog.set_config('session_sync.pending', pg_catalog.concat(pg_catalog.current_setting('session_sync.pending', true), ',', NEW.purchase_id), true) IS NULL)
    EXECUTE FUNCTION session_sync.session_sync_never_trigger();
CREATE OR REPLACE TRIGGER session_sync_note_sessions_update
    AFTER UPDATE ON public.purchase_sessions
    FOR EACH ROW
    WHEN ((OLD.id, OLD.purchase_id, OLD.booking_id, OLD.session_number, OLD.session_date, OLD.session_time, OLD.session_type, OLD.status, OLD.metadata)
          IS DISTINCT FROM
          (NEW.id, NEW.purchase_id, NEW.booking_id, NEW.session_number, NEW.session_date, NEW.session_time, NEW.session_type, NEW.status, NEW.metadata)
      AND
          COALESCE(pg_catalog.octet_length(pg_catalog.current_setting('session_sync.pending', true)), 0) <= 65536
          AND (pg_catalog.strpos(pg_catalog.concat(pg_catalog.current_setting('session_sync.pending', true)), NEW.purchase_id::text) = 0
               OR OLD.purchase_id <> NEW.purchase_id AND pg_catalog.strpos(pg_catalog.concat(pg_catalog.current_setting('session_sync.pending', true)), OLD.purchase_id::text) = 0)
          AND pg_catalog.set_config('session_sync.pending', pg_catalog.concat(pg_catalog.current_setting('session_sync.pending', true), ',', NEW.purchase_id,
                                    CASE WHEN OLD.purchase_id <> NEW.purchase_id THEN ',' || OLD.purchase_id::text END), true) IS NULL)
    EXECUTE FUNCTION session_sync.session_sync_never_trigger();

CREATE OR REPLACE TRIGGER session_sync_purchases_insert
    AFTER INSERT ON public.course_purchases
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    WHEN (pg_catalog.length(COALESCE(pg_catalog.current_setting('session_sync.pending', true), '')) > 65536)
    EXECUTE FUNCTION session_sync.session_sync_course_purchases_trigger();
CREATE OR REPLACE TRIGGER session_sync_purchases_update
    AFTER UPDATE ON public.course_purchases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    WHEN (pg_catalog.length(COALESCE(pg_catalog.current_setting('session_sync.pending', true), '')) > 65536)
    EXECUTE FUNCTION session_sync.session_sync_course_purchases_trigger();
CREATE OR REPLACE TRIGGER session_sync_sessions_insert
    AFTER INSERT ON public.purchase_sessions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    WHEN (pg_catalog.length(COALESCE(pg_catalog.current_setting('session_sync.pending', true), '')) > 65536)
    EXECUTE FUNCTION session_sync.session_sync_purchase_sessions_trigger();
CREATE OR REPLACE TRIGGER session_sync_sessions_update
    AFTER UPDATE ON public.purchase_sessions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    WHEN (pg_catalog.length(COALESCE(pg_catalog.current_setting('session_sync.pending', true), '')) > 65536)
    EXECUTE FUNCTION session_sync.session_sync_purchase_sessions_trigger();

COMMENT ON TRIGGER session_sync_note_purchases_insert ON public.course_purchases IS 'Note triggers: noting the purchases a transaction writes, for the sync at its COMMIT, costs
no function call. Each row-level trigger''s WHEN clause appends the purchase''s id to the
transaction-local setting session_sync.pending (set_config) and is always false, so its
function never runs. Its conditions stop at the first false one: a row of a purchase already
noted reads the setting twice (its size, then a strpos); past 64 KB of notes (about 1,700
purchases), once, never searching it. Only the rows that change a value the mapping reads are
noted: an inserted purchase that is eligible, an updated purchase or purchase session whose
mapped values (its id included) changed (old and new purchase when a session moves or an id
changes), every inserted purchase session. Past 64 KB nothing more is appended, and the
statement-level triggers (session_sync_purchases_insert, ..._update, session_sync_sessions_insert,
..._update), whose WHEN clause sees that, sync the statement''s purchases from its transition
table at once. A rolled-back savepoint takes its notes with it. WHEN clauses are bound when
created (under the migration''s pinned search_path) and name pg_catalog''s functions.';
COMMENT ON TRIGGER session_sync_note_purchases_update ON public.course_purchases IS 'Note trigger: see session_sync_note_purchases_insert.';
COMMENT ON TRIGGER session_sync_note_sessions_insert ON public.purchase_sessions IS 'Note trigger: see session_sync_note_purchases_insert.';
COMMENT ON TRIGGER session_sync_note_sessions_update ON public.purchase_sessions IS 'Note trigger: see session_sync_note_purchases_insert.';
COMMENT ON TRIGGER session_sync_purchases_insert ON public.course_purchases IS 'Bulk trigger (past 64 KB of notes): see session_sync_note_purchases_insert.';
COMMENT ON TRIGGER session_sync_purchases_update ON public.course_purchases IS 'Bulk trigger (past 64 KB of notes): see session_sync_note_purchases_insert.';
COMMENT ON TRIGGER session_sync_sessions_insert ON public.purchase_sessions IS 'Bulk trigger (past 64 KB of notes): see session_sync_note_purchases_insert.';
COMMENT ON TRIGGER session_sync_sessions_update ON public.purchase_sessions IS 'Bulk trigger (past 64 KB of notes): see session_sync_note_purchases_insert.';
