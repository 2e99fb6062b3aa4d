-- First, the two platform tables whose triggers this revision replaces (course_purchases and
-- purchase_sessions, SHARE ROW EXCLUSIVE, what CREATE OR REPLACE TRIGGER takes): no platform
-- write's triggers run half on the old WHEN clauses and half on the new ones, and writes to them
-- wait for this transaction (well under a second). As in 0011: each attempt takes both with
-- NOWAIT inside a subtransaction, which gives back what it took when one is busy, so it never
-- waits while holding one (a platform transaction that wrote one of the tables and then wants
-- the other cannot deadlock with it); the attempts repeat every 100 ms for at most 10 minutes,
-- or what the setting session_sync.lock_wait says (e.g.
-- PGOPTIONS='-c session_sync.lock_wait=30s'); then the migration fails, naming the backends
-- that hold them, and changes nothing. Afterwards lock_timeout is 500 ms, a backstop.
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
            LOCK TABLE public.course_purchases, public.purchase_sessions IN SHARE ROW EXCLUSIVE MODE NOWAIT;
            PERFORM pg_catalog.set_config('lock_timeout', '500ms', true);
            RETURN;
        EXCEPTION
            WHEN lock_not_available THEN
                IF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>) v_deadline THEN
                    SELECT pg_catalog.string_agg(DISTINCT coalesce(l.pid::text, 'a prepared transaction'), ', ') INTO v_holders
                    FROM pg_catalog.pg_locks l
                    WHERE l.relation OPERATOR(pg_catalog.=) ANY (ARRAY[
                          'public.course_purchases'::pg_catalog.regclass,
                          'public.purchase_sessions'::pg_catalog.regclass]::pg_catalog.oid[])
                      AND l.granted AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid();
                    RAISE EXCEPTION USING
                        ERRCODE = '55P03',
                        MESSAGE = pg_catalog.format('session-sync migration: could not lock course_purchases and purchase_sessions within %s; nothing was changed', v_wait),
                        DETAIL = 'Backends holding them: ' || coalesce(v_holders, 'none any more'),
                        HINT = 'A long transaction writes them; see SELECT pid, xact_start, state, query FROM pg_stat_activity WHERE pid IN (...); then run the migration again.';
                END IF;
                PERFORM pg_catalog.pg_sleep(0.1);
        END;
    END LOOP;
END
$lock$;
