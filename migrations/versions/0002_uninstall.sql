-- The uninstall (revision 0002's downgrade): every object of session-sync is dropped; the
-- platform's tables, columns and rows stay, and so does the cluster-wide role session_sync_runner.

DROP TRIGGER IF EXISTS session_sync_commit_purchases ON public.course_purchases;
DROP TRIGGER IF EXISTS session_sync_note_purchases_insert ON public.course_purchases;
DROP TRIGGER IF EXISTS session_sync_note_purchases_update ON public.course_purchases;
DROP TRIGGER IF EXISTS session_sync_purchases_insert ON public.course_purchases;
DROP TRIGGER IF EXISTS session_sync_purchases_update ON public.course_purchases;
DROP TRIGGER IF EXISTS session_sync_commit_sessions ON public.purchase_sessions;
DROP TRIGGER IF EXISTS session_sync_dropped_keys_note ON public.purchase_sessions;
DROP TRIGGER IF EXISTS session_sync_note_sessions_insert ON public.purchase_sessions;
DROP TRIGGER IF EXISTS session_sync_note_sessions_update ON public.purchase_sessions;
DROP TRIGGER IF EXISTS session_sync_sessions_insert ON public.purchase_sessions;
DROP TRIGGER IF EXISTS session_sync_sessions_update ON public.purchase_sessions;
DROP TRIGGER IF EXISTS session_sync_tutoring_insert_delete ON public.tutoring_sessions;
DROP TRIGGER IF EXISTS session_sync_tutoring_update ON public.tutoring_sessions;
DROP TRIGGER IF EXISTS session_sync_tutoring_truncate ON public.tutoring_sessions;
DROP TRIGGER IF EXISTS session_sync_allocations_insert ON public.trainer_allocations;
DROP TRIGGER IF EXISTS session_sync_allocations_update ON public.trainer_allocations;

DROP INDEX IF EXISTS public.session_sync_course_purchases_trainer_idx;
DROP INDEX IF EXISTS public.session_sync_purchase_sessions_purchase_idx;
DROP INDEX IF EXISTS public.session_sync_trainer_allocations_lookup_idx;

-- The API, views and tables in public (views first: they read the tables).
DROP PROCEDURE IF EXISTS public.sync_all_sessions_batched(integer, boolean, bigint);
DROP FUNCTION IF EXISTS public.sync_all_sessions(boolean, text);
DROP FUNCTION IF EXISTS public.sync_purchase_sessions(uuid);
DROP FUNCTION IF EXISTS public.session_sync_diagnose(uuid);
DROP FUNCTION IF EXISTS public.session_sync_enqueue(uuid[]);
DROP FUNCTION IF EXISTS public.session_sync_reasons();
DROP VIEW IF EXISTS public.session_sync_open_failures;
DROP VIEW IF EXISTS public.session_sync_pending;
DROP VIEW IF EXISTS public.session_sync_verify;
DROP VIEW IF EXISTS public.session_sync_status;
DROP VIEW IF EXISTS public.session_sync_queue;
DROP VIEW IF EXISTS public.session_sync_session_state;
DROP VIEW IF EXISTS public.session_sync_expected;
DROP VIEW IF EXISTS public.session_sync_purchase_check;
DROP TABLE IF EXISTS public.session_sync_failures;
DROP TABLE IF EXISTS public.session_sync_runs;
DROP TABLE IF EXISTS public.session_sync_changes;
DROP TABLE IF EXISTS public.session_sync_dropped_keys;
DROP TABLE IF EXISTS public.session_sync_locks;

-- The internals: every routine in schema session_sync (nothing else depends on them by now).
DROP SCHEMA IF EXISTS session_sync CASCADE;

-- Revision 0001's table, described as 0001 left it (the install wrote its contract there).
COMMENT ON TABLE public.session_sync_baseline_tables IS
    'session-sync: platform tables created by the baseline migration (a downgrade drops only these, only when empty)';
COMMENT ON COLUMN public.session_sync_baseline_tables.table_name IS NULL;
COMMENT ON COLUMN public.session_sync_baseline_tables.created_at IS NULL;
