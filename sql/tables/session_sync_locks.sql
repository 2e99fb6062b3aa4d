CREATE TABLE public.session_sync_locks (
    name text PRIMARY KEY
);
INSERT INTO public.session_sync_locks (name) VALUES ('run'), ('backfill');

COMMENT ON TABLE public.session_sync_locks IS 'session_sync_locks: the package''s locks, taken with SELECT ... FOR UPDATE by its SECURITY
DEFINER routines: run (one sync_all_sessions() or backfill batch at a time) and backfill
(serializes the start of backfills). Unlike advisory locks, no other role can take them
(they need UPDATE on the table), and they end with their transaction.';
COMMENT ON COLUMN public.session_sync_locks.name IS 'run or backfill';
