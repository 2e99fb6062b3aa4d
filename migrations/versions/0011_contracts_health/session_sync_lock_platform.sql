-- First, everything this revision changes, all at once or none, never waiting while holding
-- some: the platform's four tables (SHARE ROW EXCLUSIVE: no platform write's trigger runs half on
-- the old objects and half on the new ones), the package's two tables it alters and the views it
-- replaces (ACCESS EXCLUSIVE; locking a view locks the tables it reads in the same mode, so reads
-- of the platform's tables wait for this transaction too, a second or two). A LOCK TABLE that
-- takes tables one at a time and waits for each (revisions 0009 and 0010) let a platform
-- transaction that had written one table and then wrote one the migration already held be
-- killed by the deadlock detector; and a lock waited for after the tables were held (a view a
-- reader kept open) could make a platform transaction the deadlock victim. Here each attempt
-- takes everything with NOWAIT inside a subtransaction, which gives back what it took when one
-- is busy; the attempts repeat every 100 ms, holding nothing in between, for at most 10
-- minutes, or what the setting session_sync.lock_wait says (e.g.
-- PGOPTIONS='-c session_sync.lock_wait=30s'); then the migration fails, naming the backends
-- that hold them, and changes nothing. Afterwards lock_timeout is 500 ms, a backstop: a lock
-- nobody foresaw ends the migration (rolled back) instead of a wait.
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
            LOCK TABLE public.course_purchases, public.purchase_sessions, public.trainer_allocations,
                public.tutoring_sessions IN SHARE ROW EXCLUSIVE MODE NOWAIT;
            LOCK TABLE public.session_sync_failures, public.session_sync_runs IN ACCESS EXCLUSIVE MODE NOWAIT;
            -- the views it replaces (locking a view locks the relations it reads, in the same
            -- mode: reads of the platform's tables wait for this transaction too)
            LOCK TABLE public.session_sync_purchase_check, public.session_sync_expected,
                public.session_sync_session_state, public.session_sync_pending, public.session_sync_verify,
                public.session_sync_open_failures IN ACCESS EXCLUSIVE MODE NOWAIT;
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
                          'public.session_sync_purchase_check'::pg_catalog.regclass,
                          'public.session_sync_expected'::pg_catalog.regclass,
                          'public.session_sync_session_state'::pg_catalog.regclass,
                          'public.session_sync_pending'::pg_catalog.regclass,
                          'public.session_sync_verify'::pg_catalog.regclass,
                          'public.session_sync_open_failures'::pg_catalog.regclass,
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
