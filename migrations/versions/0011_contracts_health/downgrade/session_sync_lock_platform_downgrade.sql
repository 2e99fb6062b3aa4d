-- The downgrade's lock, as the upgrade's (session_sync_lock_platform.sql) but for what the
-- downgrade does: it drops triggers of course_purchases and purchase_sessions (ACCESS EXCLUSIVE:
-- reads of those two wait too, for the downgrade's transaction), replaces the triggers' objects
-- under the other two (SHARE ROW EXCLUSIVE), and alters or drops three tables of the package.
-- All four at once or none, never waiting while holding some: a LOCK TABLE of the four (as in
-- revisions 0009 and 0010) takes them one at a time and waits for each, so a platform
-- transaction that had written one table and then wrote one the migration already held was
-- killed by the deadlock detector. Here each attempt takes the four with NOWAIT inside a
-- subtransaction, which gives back what it took when one is busy; the attempts repeat every
-- 100 ms, for at most 10 minutes, or what the setting session_sync.lock_wait says (e.g.
-- PGOPTIONS='-c session_sync.lock_wait=30s'); then the migration fails, naming the backends
-- that hold them, and changes nothing. Once it has them, lock_timeout is 500 ms for the rest of
-- the revision: a lock it still needs (a view a reader holds open) is waited for at most that
-- long, less than the deadlock_timeout after which a platform transaction waiting for this one
-- would look for a deadlock, so no platform transaction is ever chosen as the victim; the
-- migration fails instead, changes nothing, and can be run again.
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
            PERFORM pg_catalog.set_config('lock_timeout', '500ms', true);
            RETURN;
        EXCEPTION
            WHEN lock_not_available THEN
                IF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>) v_deadline THEN
                    SELECT pg_catalog.string_agg(DISTINCT l.pid::text, ', ') INTO v_holders
                    FROM pg_catalog.pg_locks l
                    WHERE l.relation OPERATOR(pg_catalog.=) ANY (ARRAY['public.course_purchases'::pg_catalog.regclass,
                          'public.purchase_sessions'::pg_catalog.regclass, 'public.trainer_allocations'::pg_catalog.regclass,
                          'public.tutoring_sessions'::pg_catalog.regclass, 'public.session_sync_failures'::pg_catalog.regclass,
                          'public.session_sync_runs'::pg_catalog.regclass]::pg_catalog.oid[])
                      AND l.granted AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid();
                    RAISE EXCEPTION USING
                        ERRCODE = '55P03',
                        MESSAGE = pg_catalog.format('session-sync migration: could not lock the platform''s four tables and the package''s within %s; nothing was changed', v_wait),
                        DETAIL = 'Backends holding them: ' || coalesce(v_holders, 'none any more'),
                        HINT = 'A long transaction writes them; see SELECT pid, xact_start, state, query FROM pg_stat_activity WHERE pid IN (...); then run the migration again.';
                END IF;
                PERFORM pg_catalog.pg_sleep(0.1);
        END;
    END LOOP;
END
$lock$;
