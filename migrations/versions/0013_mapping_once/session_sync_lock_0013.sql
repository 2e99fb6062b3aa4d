-- First, the views this revision drops and creates again (session_sync_session_state and the
-- three that read it), with ACCESS EXCLUSIVE, which LOCK TABLE passes on to the tables they read
-- (the platform's four, session_sync_dropped_keys, session_sync_failures): no platform write's
-- sync runs half on the old objects and half on the new ones, and reads of those tables wait
-- for this transaction too (well under a second). As in 0011 and 0012: each attempt takes everything with NOWAIT inside a
-- subtransaction, which gives back what it took when one is busy, so it never waits while
-- holding some (a platform transaction that wrote one of the tables and then wants another
-- cannot deadlock with it); the attempts repeat every 100 ms for at most 10 minutes, or what
-- the setting session_sync.lock_wait says (e.g. PGOPTIONS='-c session_sync.lock_wait=30s');
-- then the migration fails, naming the backends that hold them, and changes nothing.
-- Afterwards lock_timeout is 500 ms, a backstop.
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
            LOCK TABLE public.session_sync_session_state, public.session_sync_pending,
                       public.session_sync_verify, public.session_sync_open_failures
                IN ACCESS EXCLUSIVE MODE NOWAIT;
            PERFORM pg_catalog.set_config('lock_timeout', '500ms', true);
            -- for session_sync_drop_views_0013.sql: the locks are held by this transaction
            PERFORM pg_catalog.set_config('session_sync.migration_0013_locked', pg_catalog.pg_current_xact_id()::text, true);
            RETURN;
        EXCEPTION
            WHEN lock_not_available THEN
                IF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>) v_deadline THEN
                    SELECT pg_catalog.string_agg(DISTINCT coalesce(l.pid::text, 'a prepared transaction'), ', ')
                    INTO v_holders
                    FROM pg_catalog.pg_locks l
                    WHERE l.relation OPERATOR(pg_catalog.=) ANY (ARRAY[
                          'public.course_purchases'::pg_catalog.regclass,
                          'public.purchase_sessions'::pg_catalog.regclass,
                          'public.trainer_allocations'::pg_catalog.regclass,
                          'public.tutoring_sessions'::pg_catalog.regclass,
                          'public.session_sync_dropped_keys'::pg_catalog.regclass,
                          'public.session_sync_failures'::pg_catalog.regclass,
                          'public.session_sync_expected'::pg_catalog.regclass,
                          'public.session_sync_purchase_check'::pg_catalog.regclass,
                          'public.session_sync_session_state'::pg_catalog.regclass,
                          'public.session_sync_pending'::pg_catalog.regclass,
                          'public.session_sync_verify'::pg_catalog.regclass,
                          'public.session_sync_open_failures'::pg_catalog.regclass]::pg_catalog.oid[])
                      AND l.granted AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid();
                    RAISE EXCEPTION USING
                        ERRCODE = '55P03',
                        MESSAGE = pg_catalog.format('session-sync migration: could not lock the platform''s tables and the package''s within %s; nothing was changed', v_wait),
                        DETAIL = 'Backends holding them: ' || coalesce(v_holders, 'none any more'),
                        HINT = 'A long transaction writes or reads them; see SELECT pid, xact_start, state, query FROM pg_stat_activity WHERE pid IN (...) (a prepared one: SELECT * FROM pg_prepared_xacts); then run the migration again.';
                END IF;
                PERFORM pg_catalog.pg_sleep(0.1);
        END;
    END LOOP;
END
$lock$;
