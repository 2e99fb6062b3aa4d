-- First, the platform's four tables: no platform write's trigger runs half on the old objects
-- and half on the new ones while this revision replaces them. Writes wait for the revision's
-- transaction; reads go on.
-- All four at once or none, never waiting while holding some: a LOCK TABLE of the four (as in
-- revisions 0009 and 0010) takes them one at a time and waits for each, so a platform
-- transaction that had written one table and then wrote one the migration already held was
-- killed by the deadlock detector. Here each attempt takes the four with NOWAIT inside a
-- subtransaction, which gives back what it took when one is busy; the attempts repeat every
-- 100 ms, for at most 10 minutes (then the migration fails, naming what holds them, and changes
-- nothing).
DO $lock$
DECLARE
    v_deadline timestamptz := pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) interval '10 minutes';
    v_holders text;
BEGIN
    LOOP
        BEGIN
            LOCK TABLE public.course_purchases, public.purchase_sessions, public.trainer_allocations,
                public.tutoring_sessions IN SHARE ROW EXCLUSIVE MODE NOWAIT;
            RETURN;
        EXCEPTION
            WHEN lock_not_available THEN
                IF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>) v_deadline THEN
                    SELECT pg_catalog.string_agg(DISTINCT l.pid::text, ', ') INTO v_holders
                    FROM pg_catalog.pg_locks l
                    WHERE l.relation OPERATOR(pg_catalog.=) ANY (ARRAY['public.course_purchases'::pg_catalog.regclass,
                          'public.purchase_sessions'::pg_catalog.regclass, 'public.trainer_allocations'::pg_catalog.regclass,
                          'public.tutoring_sessions'::pg_catalog.regclass]::pg_catalog.oid[])
                      AND l.granted AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid();
                    RAISE EXCEPTION USING
                        ERRCODE = '55P03',
                        MESSAGE = 'session-sync migration: could not lock the platform''s four tables for 10 minutes; nothing was changed',
                        DETAIL = 'Backends holding them: ' || coalesce(v_holders, 'none any more'),
                        HINT = 'A long transaction writes them; see SELECT pid, xact_start, state, query FROM pg_stat_activity WHERE pid IN (...); then run the migration again.';
                END IF;
                PERFORM pg_catalog.pg_sleep(0.1);
        END;
    END LOOP;
END
$lock$;
