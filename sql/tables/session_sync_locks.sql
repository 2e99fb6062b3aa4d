CREATE TABLE public.session_sync_locks (
    name text PRIMARY KEY
);
INSERT INTO public.session_sync_locks (name) VALUES ('run'), ('backfill');

COMMENT ON TABLE public.session_sync_locks IS 'session_sync_locks: one row per lock the package takes, locked with SELECT ... FOR UPDATE
inside its SECURITY DEFINER routines.
  run       one sync_all_sessions() or backfill batch at a time (held to the end of its
            transaction)
  backfill  serializes the start of backfills (held while a start checks for a running one)
Row locks need UPDATE on the table, which no role but the package''s owner has: unlike
advisory locks, no other role can hold them, and they end with their transaction.';
COMMENT ON COLUMN public.session_sync_locks.name IS 'run or backfill';
