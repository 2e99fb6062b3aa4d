-- The downgrade's lock, as the upgrade's (../session_sync_lock_platform.sql, which says why), for
-- what the downgrade changes: it drops triggers of course_purchases and purchase_sessions (ACCESS
-- EXCLUSIVE), replaces the triggers' objects under the other two platform tables (SHARE ROW
-- EXCLUSIVE), alters or drops three tables of the package and drops or replaces its views (ACCESS
-- EXCLUSIVE; a view's lock takes the tables it reads in the same mode). Reads and writes of the
-- platform's tables wait for the downgrade's transaction. All at once or none, retried every
-- 100 ms for at most session_sync.lock_wait (10 minutes); then lock_timeout 500 ms.
DO $lock$
DECLARE
    v_setting text := pg_catalog.current_setting('session_sync.lock_wait', true);
    v_wait interval := CASE WHEN v_setting IS NULL OR v_setting OPERATOR(pg_catalog.=) '' THEN '10 minutes'
                            ELSE v_setting END::interval;
    v_deadline timestamptz := pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) v_wait;
    v_holders text;
BEGIN
    LOOP
        BEGIN
            LOCK TABLE public.course_purchases, public.purchase_sessions IN ACCESS EXCLUSIVE MODE NOWAIT;
            LOCK TABLE public.trainer_allocations, public.tutoring_sessions IN SHARE ROW EXCLUSIVE MODE NOWAIT;
            LOCK TABLE public.session_sync_failures, public.session_sync_runs, public.session_sync_dropped_keys
                IN ACCESS EXCLUSIVE MODE NOWAIT;
            -- the views it drops or replaces (locking a view locks the relations it reads, in the
            -- same mode: reads of the platform's tables wait for this transaction too)
            LOCK TABLE public.session_sync_purchase_check, public.session_sync_expected,
                public.session_sync_session_state, public.session_sync_pending, public.session_sync_verify,
                public.session_sync_open_failures, public.session_sync_status IN ACCESS EXCLUSIVE MODE NOWAIT;
            -- and what only gets a new description (COMMENT ON takes SHARE UPDATE EXCLUSIVE, which
            -- a VACUUM or ANALYZE of the table holds); the platform tables' indexes are covered by
            -- the tables' locks (no VACUUM runs on a table while this transaction holds it)
            LOCK TABLE public.session_sync_changes, public.session_sync_locks, public.session_sync_baseline_tables,
                public.session_sync_queue IN SHARE UPDATE EXCLUSIVE MODE NOWAIT;
            PERFORM pg_catalog.set_config('lock_timeout', '500ms', true);
            RETURN;
        EXCEPTION
            WHEN lock_not_available THEN
                IF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>) v_deadline THEN
                    SELECT pg_catalog.string_agg(DISTINCT l.pid::text, ', ') INTO v_holders
                    FROM pg_catalog.pg_locks l
                    WHERE l.relation OPERATOR(pg_catalog.=) ANY (ARRAY[
                          'public.course_purchases'::pg_catalog.regclass,
                          'public.purchase_sessions'::pg_catalog.regclass,
                          'public.trainer_allocations'::pg_catalog.regclass,
                          'public.tutoring_sessions'::pg_catalog.regclass,
                          'public.session_sync_failures'::pg_catalog.regclass,
                          'public.session_sync_runs'::pg_catalog.regclass,
                          'public.session_sync_dropped_keys'::pg_catalog.regclass,
                          'public.session_sync_purchase_check'::pg_catalog.regclass,
                          'public.session_sync_expected'::pg_catalog.regclass,
                          'public.session_sync_session_state'::pg_catalog.regclass,
                          'public.session_sync_pending'::pg_catalog.regclass,
                          'public.session_sync_verify'::pg_catalog.regclass,
                          'public.session_sync_open_failures'::pg_catalog.regclass,
                          'public.session_sync_status'::pg_catalog.regclass,
                          'public.session_sync_changes'::pg_catalog.regclass, 'public.session_sync_locks'::pg_catalog.regclass,
                          'public.session_sync_baseline_tables'::pg_catalog.regclass,
                          'public.session_sync_queue'::pg_catalog.regclass]::pg_catalog.oid[])
                      AND l.granted AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid();
                    RAISE EXCEPTION USING
                        ERRCODE = '55P03',
                        MESSAGE = pg_catalog.format('session-sync migration: could not lock the platform''s tables and the package''s within %s; nothing was changed', v_wait),
                        DETAIL = 'Backends holding them: ' || coalesce(v_holders, 'none any more'),
                        HINT = 'A long transaction writes them; see SELECT pid, xact_start, state, query FROM pg_stat_activity WHERE pid IN (...); then run the migration again.';
                END IF;
                PERFORM pg_catalog.pg_sleep(0.1);
        END;
    END LOOP;
END
$lock$;
