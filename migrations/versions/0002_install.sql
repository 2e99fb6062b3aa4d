-- session-sync: the install script, built by python -m session_sync.build from sql/ in the
-- order of sql/manifest.txt. Each part is one file of sql/, as stored.

-- sql/schemas/session_sync.sql
CREATE SCHEMA session_sync;
REVOKE ALL ON SCHEMA session_sync FROM PUBLIC;

COMMENT ON SCHEMA session_sync IS 'session_sync: the package''s internals (its API, tables and views are in public).
Only its owner may create objects in it, so no role can plant a look-alike overload that a
routine''s call would resolve to. session_sync_runner may look names up in it; EXECUTE is
granted routine by routine (sql/grants/session_sync_runner.sql). Every SECURITY DEFINER
routine of the package runs as its owner with search_path pinned to pg_catalog, pg_temp:
its callers need EXECUTE, not rights on the platform''s tables.';

-- sql/tables/session_sync_baseline_tables.sql
CREATE TABLE IF NOT EXISTS public.session_sync_baseline_tables (
    table_name text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE public.session_sync_baseline_tables IS 'the platform tables revision 0001 created (the database lacked them): downgrading
past 0001 drops only these, and only while empty; adopted tables are never dropped.';
COMMENT ON COLUMN public.session_sync_baseline_tables.table_name IS 'a platform table 0001 created';
COMMENT ON COLUMN public.session_sync_baseline_tables.created_at IS 'when';

-- sql/tables/session_sync_changes.sql
CREATE TABLE public.session_sync_changes (
    change_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purchase_id uuid NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now(),
    xact xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX session_sync_changes_purchase_idx ON public.session_sync_changes (purchase_id, change_id);

COMMENT ON TABLE public.session_sync_changes IS 'session_sync_changes: the change log, one row per purchase that a write may have put out
of sync and that no sync has examined since (seen deduplicated through session_sync_queue).
Appended by the tracking triggers, session_sync_enqueue() and a failing sync; insert-only
for the platform''s transactions, nothing unique but the identity key, so writers never wait
for each other here. A run deletes only the rows its snapshot saw (`xact`), so a row
appended meanwhile keeps the purchase queued.';
COMMENT ON COLUMN public.session_sync_changes.change_id IS 'the order rows were appended in';
COMMENT ON COLUMN public.session_sync_changes.purchase_id IS 'the purchase to examine';
COMMENT ON COLUMN public.session_sync_changes.queued_at IS 'when the write that queued it began (its transaction''s start)';
COMMENT ON COLUMN public.session_sync_changes.xact IS 'the transaction that appended it (a run deletes only rows its snapshot saw)';

-- sql/tables/session_sync_dropped_keys.sql
CREATE TABLE public.session_sync_dropped_keys (
    session_id uuid NOT NULL,
    key text NOT NULL,
    dropped_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_sync_dropped_keys_session_idx ON public.session_sync_dropped_keys (session_id);

COMMENT ON TABLE public.session_sync_dropped_keys IS 'session_sync_dropped_keys: metadata keys a purchase session lost (the canonical keys
aside), appended by the trigger session_sync_dropped_keys_note. The sync copied them onto
the tutoring session, so they are its to remove: the next write of that tutoring session
removes them (unless the purchase session has the key again) and deletes their rows; until
then session_sync_session_state calls the session drifted. Rows with nothing left to do are
deleted by the next sync of the purchase. Keys the apps added to a tutoring session are
never listed and are kept. Insert-only for the platform''s transactions.';
COMMENT ON COLUMN public.session_sync_dropped_keys.session_id IS 'the purchase session (and tutoring session) id';
COMMENT ON COLUMN public.session_sync_dropped_keys.key IS 'the metadata key its purchase session dropped';
COMMENT ON COLUMN public.session_sync_dropped_keys.dropped_at IS 'when the UPDATE that dropped it ran';

-- sql/tables/session_sync_locks.sql
CREATE TABLE public.session_sync_locks (
    name text PRIMARY KEY
);
INSERT INTO public.session_sync_locks (name) VALUES ('run'), ('backfill');

COMMENT ON TABLE public.session_sync_locks IS 'session_sync_locks: the package''s locks, taken with SELECT ... FOR UPDATE by its SECURITY
DEFINER routines: run (one sync_all_sessions() or backfill batch at a time) and backfill
(serializes the start of backfills). Unlike advisory locks, no other role can take them
(they need UPDATE on the table), and they end with their transaction.';
COMMENT ON COLUMN public.session_sync_locks.name IS 'run or backfill';

-- sql/tables/session_sync_runs.sql
CREATE TABLE public.session_sync_runs (
    run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source text NOT NULL,
    dry_run boolean NOT NULL DEFAULT false,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    purchases_synced integer,
    purchases_failed integer,
    sessions_created integer,
    sessions_updated integer,
    outcome text CHECK (outcome IN ('running', 'finished', 'interrupted')),
    backend_pid integer,
    backend_start timestamptz,
    backend_query_start timestamptz,
    batch_size integer,
    purchases_queued bigint,
    batches integer,
    resume_after uuid,
    purchases_deferred integer,
    purchases_retried integer,
    retry_reason text,
    purchases_examined integer,
    purchases_in_sync integer
);

COMMENT ON TABLE public.session_sync_runs IS 'session_sync_runs: one row per run of sync_all_sessions() and per backfill (a dry run
writes none; the sync at COMMIT and sync_purchase_sessions() record no run). purchases_examined
= purchases_synced + purchases_in_sync + purchases_failed + purchases_deferred.';
COMMENT ON COLUMN public.session_sync_runs.run_id IS 'the run''s id, in session_sync_failures.run_id too';
COMMENT ON COLUMN public.session_sync_runs.source IS 'who ran it: manual, cli, cron, ... or batched (a backfill)';
COMMENT ON COLUMN public.session_sync_runs.dry_run IS 'always false: a dry run records no run';
COMMENT ON COLUMN public.session_sync_runs.started_at IS 'when it started';
COMMENT ON COLUMN public.session_sync_runs.finished_at IS 'when it finished or was found interrupted (NULL while running)';
COMMENT ON COLUMN public.session_sync_runs.purchases_synced IS 'purchases it wrote (missing sessions created, drifted ones updated)';
COMMENT ON COLUMN public.session_sync_runs.purchases_failed IS 'purchases it could not sync (each in session_sync_failures, untouched)';
COMMENT ON COLUMN public.session_sync_runs.sessions_created IS 'tutoring sessions it inserted';
COMMENT ON COLUMN public.session_sync_runs.sessions_updated IS 'tutoring sessions it updated';
COMMENT ON COLUMN public.session_sync_runs.outcome IS 'running, finished, or interrupted (a backfill whose backend stopped running it before it finished)';
COMMENT ON COLUMN public.session_sync_runs.backend_pid IS 'the backend that runs (ran) it: SELECT pg_cancel_backend(backend_pid) stops a running backfill';
COMMENT ON COLUMN public.session_sync_runs.backend_start IS 'that backend''s start (with backend_pid and backend_query_start, how a cut-off backfill is recognised)';
COMMENT ON COLUMN public.session_sync_runs.backend_query_start IS 'the start of the CALL that runs the backfill';
COMMENT ON COLUMN public.session_sync_runs.batch_size IS 'a backfill''s purchases per committed batch';
COMMENT ON COLUMN public.session_sync_runs.purchases_queued IS 'a backfill''s queued purchases when it started';
COMMENT ON COLUMN public.session_sync_runs.batches IS 'a backfill''s batches committed so far';
COMMENT ON COLUMN public.session_sync_runs.resume_after IS 'a backfill''s last examined purchase id (the next batch starts after it)';
COMMENT ON COLUMN public.session_sync_runs.purchases_deferred IS 'purchases left alone because another transaction held one of their tutoring sessions (still queued)';
COMMENT ON COLUMN public.session_sync_runs.purchases_retried IS 'purchases synced one by one after the set-based write failed (retry_reason says why)';
COMMENT ON COLUMN public.session_sync_runs.retry_reason IS 'why the set-based write failed and the slow way was taken (SQLSTATE: message); NULL when it was not';
COMMENT ON COLUMN public.session_sync_runs.purchases_examined IS 'purchases the run looked at (queued ones): synced + in sync + failed + deferred';
COMMENT ON COLUMN public.session_sync_runs.purchases_in_sync IS 'examined purchases with nothing to write: already in sync, or not eligible (no trainer, not ASSIGNED)';

-- sql/tables/session_sync_failures.sql
CREATE TABLE public.session_sync_failures (
    failure_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id bigint REFERENCES public.session_sync_runs (run_id) ON DELETE CASCADE,
    purchase_id uuid NOT NULL,
    reason text NOT NULL,
    message text NOT NULL,
    hint text,
    source text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    occurrences integer NOT NULL DEFAULT 1,
    first_failed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX session_sync_failures_purchase_idx ON public.session_sync_failures (purchase_id, failed_at DESC);
CREATE INDEX session_sync_failures_run_idx ON public.session_sync_failures (run_id);

COMMENT ON TABLE public.session_sync_failures IS 'session_sync_failures: why a purchase could not be synced, one row per purchase and
reason: a repeated failure replaces the older row and adds up its occurrences, so the table
does not grow with every run. session_sync_open_failures shows those still not in sync.';
COMMENT ON COLUMN public.session_sync_failures.failure_id IS 'grows with every failure recorded (the newest of a purchase has the highest)';
COMMENT ON COLUMN public.session_sync_failures.run_id IS 'the run that last met it; NULL for the sync at COMMIT and sync_purchase_sessions()';
COMMENT ON COLUMN public.session_sync_failures.purchase_id IS 'the purchase that could not be synced (left untouched)';
COMMENT ON COLUMN public.session_sync_failures.reason IS 'its reason code (SELECT * FROM session_sync_reasons() lists them)';
COMMENT ON COLUMN public.session_sync_failures.message IS 'what is wrong, naming ids and coordinates only (never names, e-mails or phone numbers)';
COMMENT ON COLUMN public.session_sync_failures.hint IS 'how to fix it';
COMMENT ON COLUMN public.session_sync_failures.source IS 'the path that last met it: trigger, manual, cli, cron, batched, ...';
COMMENT ON COLUMN public.session_sync_failures.failed_at IS 'when it last failed so';
COMMENT ON COLUMN public.session_sync_failures.occurrences IS 'how many times it failed so (this row and the ones it replaced)';
COMMENT ON COLUMN public.session_sync_failures.first_failed_at IS 'when it first failed so';

-- sql/indexes/session_sync_course_purchases_trainer_idx.sql
CREATE INDEX IF NOT EXISTS session_sync_course_purchases_trainer_idx
    ON public.course_purchases (trainer_id, course_id);

COMMENT ON INDEX public.session_sync_course_purchases_trainer_idx IS 'session_sync_course_purchases_trainer_idx: the purchases of a (trainer, course), for the
allocation tracking trigger.';

-- sql/indexes/session_sync_purchase_sessions_purchase_idx.sql
CREATE INDEX IF NOT EXISTS session_sync_purchase_sessions_purchase_idx
    ON public.purchase_sessions (purchase_id);

COMMENT ON INDEX public.session_sync_purchase_sessions_purchase_idx IS 'session_sync_purchase_sessions_purchase_idx: a purchase''s sessions, which every path of
the sync reads per purchase.';

-- sql/indexes/session_sync_trainer_allocations_lookup_idx.sql
CREATE INDEX IF NOT EXISTS session_sync_trainer_allocations_lookup_idx
    ON public.trainer_allocations (student_id, trainer_id, course_id)
    WHERE status IN ('approved', 'active');

COMMENT ON INDEX public.session_sync_trainer_allocations_lookup_idx IS 'session_sync_trainer_allocations_lookup_idx: the usable allocations of a (student,
trainer, course), for session_sync_expected''s lookup.';

-- sql/functions/session_sync_allocation_usable.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_allocation_usable(p_status text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN p_status IN ('approved', 'active');

COMMENT ON FUNCTION session_sync.session_sync_allocation_usable IS 'session_sync_allocation_usable(p_status text) -> boolean
Contract: whether a trainer allocation with this status can carry tutoring sessions
(approved or active); the one definition, which the partial index
session_sync_trainer_allocations_lookup_idx spells out (tests/test_rules.py checks they agree).';

-- sql/functions/session_sync_allocations_trigger.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_allocations_trigger()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_ids uuid[];
    v_lock_timeout text := current_setting('lock_timeout');
    v_read boolean := current_setting('transaction_isolation') <> 'serializable';
BEGIN
    IF v_read THEN
        BEGIN  -- a migration holding course_purchases: past 50 ms, the metadata as under SERIALIZABLE
            PERFORM set_config('lock_timeout', '50ms', true);
            IF TG_OP = 'INSERT' THEN
                WITH changed AS (
                    SELECT n.student_id, n.trainer_id, n.course_id FROM new_rows n
                    WHERE session_sync.session_sync_allocation_usable(n.status)
                )
                SELECT array_agg(DISTINCT p.id) INTO v_ids
                FROM changed a
                JOIN public.course_purchases p ON p.trainer_id = a.trainer_id AND p.course_id = a.course_id
                WHERE session_sync.session_sync_eligible(p.trainer_id, p.status)
                  AND session_sync.session_sync_primary_student(p.students) = a.student_id;
            ELSE
                WITH moved AS (
                    SELECT o.student_id AS old_student, o.trainer_id AS old_trainer, o.course_id AS old_course,
                           o.status AS old_status, n.student_id, n.trainer_id, n.course_id, n.status
                    FROM new_rows n
                    JOIN old_rows o ON o.id = n.id
                    WHERE (o.status, o.student_id, o.trainer_id, o.course_id, o.requested_at)
                          IS DISTINCT FROM (n.status, n.student_id, n.trainer_id, n.course_id, n.requested_at)
                ), changed AS (
                    SELECT m.old_student AS student_id, m.old_trainer AS trainer_id, m.old_course AS course_id
                    FROM moved m WHERE session_sync.session_sync_allocation_usable(m.old_status)
                    UNION
                    SELECT m.student_id, m.trainer_id, m.course_id
                    FROM moved m WHERE session_sync.session_sync_allocation_usable(m.status)
                )
                SELECT array_agg(DISTINCT p.id) INTO v_ids
                FROM changed a
                JOIN public.course_purchases p ON p.trainer_id = a.trainer_id AND p.course_id = a.course_id
                WHERE session_sync.session_sync_eligible(p.trainer_id, p.status)
                  AND session_sync.session_sync_primary_student(p.students) = a.student_id;
            END IF;
            PERFORM set_config('lock_timeout', v_lock_timeout, true);
        EXCEPTION WHEN lock_not_available THEN
            v_read := false;
        END;
    END IF;
    IF NOT v_read THEN
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(DISTINCT session_sync.session_sync_owner(n.metadata)) INTO v_ids
            FROM new_rows n WHERE session_sync.session_sync_owner(n.metadata) IS NOT NULL;
        ELSE
            SELECT array_agg(DISTINCT x.id) INTO v_ids
            FROM (SELECT session_sync.session_sync_owner(n.metadata) AS id FROM new_rows n
                  UNION ALL
                  SELECT session_sync.session_sync_owner(o.metadata) FROM old_rows o) x
            WHERE x.id IS NOT NULL;
        END IF;
    END IF;
    IF v_ids IS NOT NULL THEN
        PERFORM session_sync.session_sync_enqueue(v_ids);
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_allocations_trigger IS 'session_sync_allocations_trigger() -- statement-level AFTER INSERT / UPDATE on trainer_allocations
(see the trigger session_sync_tutoring_insert_delete).
Contract: queues every eligible purchase whose (primary student, trainer, course) is that
of a usable allocation inserted, or changed in status, student, trainer, course or
requested_at. Under SERIALIZABLE (a read would join the serialization checks), or when
course_purchases stays locked past 50 ms (a migration), it queues the purchases the rows''
metadata.purchaseId names (the package''s own allocations carry it).';

-- sql/functions/session_sync_backfill_start.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_backfill_start(p_batch_size integer, p_quiet boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_running record;
    v_run_id bigint;
    v_queued bigint;
BEGIN
    IF p_batch_size IS NULL OR p_batch_size < 1 THEN
        RAISE EXCEPTION USING
            ERRCODE = '22023',
            MESSAGE = format('sync_all_sessions_batched: p_batch_size must be 1 or more, not %s',
                             coalesce(p_batch_size::text, 'NULL')),
            HINT = 'CALL sync_all_sessions_batched(p_batch_size => 1000);';
    END IF;

    BEGIN
        PERFORM 1 FROM public.session_sync_locks l WHERE l.name = 'backfill' FOR UPDATE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RAISE EXCEPTION USING
            ERRCODE = '55P03',
            MESSAGE = 'sync_all_sessions_batched: another backfill is starting right now',
            HINT = 'Run it again in a moment; SELECT * FROM session_sync_runs ORDER BY run_id DESC LIMIT 1 shows the running one.';
    END;
    PERFORM session_sync.session_sync_reap_backfills();

    SELECT r.run_id, r.backend_pid, r.started_at, a.usename, a.query_start INTO v_running
    FROM public.session_sync_runs r
    LEFT JOIN pg_stat_activity a
           ON a.pid = r.backend_pid AND a.backend_start = r.backend_start AND a.query_start = r.backend_query_start
    WHERE r.outcome = 'running' AND r.source = 'batched'
    ORDER BY r.run_id
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = '55P03',
            MESSAGE = format('sync_all_sessions_batched is already running: run %s in backend %s (role %s), started %s',
                             v_running.run_id, v_running.backend_pid, coalesce(v_running.usename::text, 'unknown'),
                             v_running.started_at),
            HINT = format('Wait for it (SELECT * FROM session_sync_runs WHERE run_id = %s shows its progress), or stop it: SELECT pg_cancel_backend(%s);',
                          v_running.run_id, v_running.backend_pid);
    END IF;

    SELECT count(DISTINCT c.purchase_id) INTO v_queued FROM public.session_sync_changes c;
    INSERT INTO public.session_sync_runs (source, dry_run, purchases_synced, purchases_failed, sessions_created,
                                          sessions_updated, outcome, backend_pid, backend_start,
                                          backend_query_start, batch_size, purchases_queued, batches,
                                          purchases_deferred, purchases_retried, purchases_examined,
                                          purchases_in_sync)
    SELECT 'batched', false, 0, 0, 0, 0, 'running', a.pid, a.backend_start, a.query_start, p_batch_size,
           v_queued, 0, 0, 0, 0, 0
    FROM pg_stat_activity a
    WHERE a.pid = pg_backend_pid()
    RETURNING run_id INTO v_run_id;

    IF NOT p_quiet THEN
        RAISE NOTICE 'session-sync run %: % queued purchase(s) to examine, in batches of up to %',
            v_run_id, v_queued, p_batch_size;
    END IF;
    RETURN v_run_id;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_backfill_start IS 'session_sync_backfill_start(p_batch_size integer, p_quiet boolean DEFAULT false) -> bigint
Contract (the first step of CALL sync_all_sessions_batched(); not meant to be called alone):
checks p_batch_size (1 or more, else 22023) and records a new run in session_sync_runs
(source ''batched'', outcome ''running'', this backend''s pid), whose id it returns.
A backfill whose backend still runs it refuses the new one with 55P03, naming the run, the
backend''s pid, its role and since when, and the SELECT pg_cancel_backend(<pid>); that stops
it; one that was cut off blocks nothing (session_sync_reap_backfills marks it
''interrupted'', and the new run works through the queue it left). Starts are serialized by
a row lock in session_sync_locks, taken without waiting: a start that finds it taken (another
start, or a transaction left open after one) is refused with 55P03.
A NOTICE says how many purchases are queued (p_quiet => true silences it).
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';

-- sql/functions/session_sync_backfill_step.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_backfill_step(p_run_id bigint, p_quiet boolean DEFAULT false)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_run public.session_sync_runs%ROWTYPE;
    v_ids uuid[];
    v_result record;
BEGIN
    SELECT * INTO v_run FROM public.session_sync_runs r WHERE r.run_id = p_run_id FOR UPDATE;
    IF NOT FOUND OR v_run.source <> 'batched' OR v_run.outcome IS DISTINCT FROM 'running'
       OR v_run.backend_pid IS DISTINCT FROM pg_backend_pid() THEN
        RAISE EXCEPTION USING
            ERRCODE = '55000',
            MESSAGE = format('session_sync_backfill_step: run %s is not a backfill running in this session',
                             coalesce(p_run_id::text, 'NULL')),
            HINT = 'CALL sync_all_sessions_batched(); runs a whole backfill.';
    END IF;

    PERFORM 1 FROM public.session_sync_locks l WHERE l.name = 'run' FOR UPDATE;

    SELECT array_agg(q.purchase_id ORDER BY q.purchase_id) INTO v_ids
    FROM (SELECT DISTINCT c.purchase_id
          FROM public.session_sync_changes c
          WHERE v_run.resume_after IS NULL OR c.purchase_id > v_run.resume_after
          ORDER BY c.purchase_id
          LIMIT v_run.batch_size) q;

    IF v_ids IS NULL THEN
        UPDATE public.session_sync_runs r
        SET finished_at = clock_timestamp(), outcome = 'finished'
        WHERE r.run_id = p_run_id;
        IF NOT p_quiet THEN
            RAISE NOTICE 'session-sync run % finished: % purchase(s) examined: % synced, % with nothing to write, % failed, % deferred (still queued); % session(s) created, % updated',
                p_run_id, v_run.purchases_examined, v_run.purchases_synced, v_run.purchases_in_sync,
                v_run.purchases_failed, v_run.purchases_deferred, v_run.sessions_created, v_run.sessions_updated;
        END IF;
        RETURN false;
    END IF;

    SELECT * INTO v_result FROM session_sync.session_sync_write(v_ids, p_run_id, 'batched');
    UPDATE public.session_sync_runs r
    SET purchases_synced = r.purchases_synced + v_result.purchases_synced,
        purchases_failed = r.purchases_failed + v_result.purchases_failed,
        purchases_deferred = coalesce(r.purchases_deferred, 0) + v_result.purchases_deferred,
        purchases_retried = coalesce(r.purchases_retried, 0) + v_result.purchases_retried,
        retry_reason = coalesce(v_result.retry_reason, r.retry_reason),
        sessions_created = r.sessions_created + v_result.sessions_created,
        sessions_updated = r.sessions_updated + v_result.sessions_updated,
        purchases_examined = coalesce(r.purchases_examined, 0) + v_result.purchases_examined,
        purchases_in_sync = coalesce(r.purchases_in_sync, 0) + v_result.purchases_examined
                            - v_result.purchases_synced - v_result.purchases_failed - v_result.purchases_deferred,
        resume_after = v_ids[cardinality(v_ids)],
        batches = r.batches + 1
    WHERE r.run_id = p_run_id
    RETURNING * INTO v_run;
    IF NOT p_quiet THEN
        RAISE NOTICE 'session-sync run % batch %/%: % purchase(s) examined so far: % synced, % with nothing to write, % failed, % deferred; % session(s) created, % updated',
            p_run_id, v_run.batches,
            greatest(v_run.batches, (v_run.purchases_queued + v_run.batch_size - 1) / v_run.batch_size),
            v_run.purchases_examined, v_run.purchases_synced, v_run.purchases_in_sync, v_run.purchases_failed,
            v_run.purchases_deferred, v_run.sessions_created, v_run.sessions_updated;
    END IF;
    RETURN true;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_backfill_step IS 'session_sync_backfill_step(p_run_id bigint, p_quiet boolean DEFAULT false) -> boolean
Contract (a step of CALL sync_all_sessions_batched(), which calls it and COMMITs after
each; not meant to be called alone): examines and syncs the next p_batch_size queued
purchases of run p_run_id (in purchase id order, after the last one the run examined)
through session_sync_write, adds its counts to the run''s row, and returns true; when
none is left it marks the run finished and returns false. Only the backend that started the
run may step it (else SQLSTATE 55000). Waits for a running sync_all_sessions() (the ''run''
row lock in session_sync_locks). A NOTICE per batch (p_quiet => true silences it).
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';

-- sql/functions/session_sync_commit_trigger.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_commit_trigger()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM set_config('session_sync.commit_armed', '', true);
    PERFORM session_sync.session_sync_flush();
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_commit_trigger IS 'session_sync_commit_trigger() -- the deferred constraint trigger on course_purchases and
purchase_sessions (DEFERRABLE INITIALLY DEFERRED, row-level; its WHEN clause lets only the
first row a transaction writes queue an event, by setting session_sync.commit_armed to the
transaction''s id).
Contract: fires once per transaction, at COMMIT (or at SET CONSTRAINTS ... IMMEDIATE), and
syncs every purchase the transaction''s statements noted (session_sync_flush), still inside
the transaction: a rollback undoes the sync with the writes. Then it disarms, so that writes
after a SET CONSTRAINTS ... IMMEDIATE queue a new event.
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';

-- sql/functions/session_sync_coordinate.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_coordinate(p_value jsonb)
RETURNS numeric
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN jsonb_typeof(p_value) = 'number' THEN p_value::numeric
    WHEN jsonb_typeof(p_value) = 'string'
         AND length(p_value #>> '{}') <= 1000
         AND (p_value #>> '{}') ~ '^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$'
    THEN (p_value #>> '{}')::numeric
END;

COMMENT ON FUNCTION session_sync.session_sync_coordinate IS 'session_sync_coordinate(p_value jsonb) -> numeric
Contract: the number a coordinate holds: a JSON number, or a JSON string that is entirely a
finite decimal number ("12.5", "-0.25", "+7", ".5": no spaces, exponent, "NaN" or
"Infinity"); else NULL. Range checks are the caller''s. Never raises.';

-- sql/functions/session_sync_course_purchases_trigger.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_course_purchases_trigger()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_ids text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT string_agg(n.id::text, ',') INTO v_ids
        FROM new_rows n
        WHERE session_sync.session_sync_eligible(n.trainer_id, n.status);
    ELSE
        WITH n AS (
            SELECT r.id, r.booking_id, r.trainer_id, r.status, r.students, r.student_location, r.course_id,
                   r.delivery_mode, r.total_sessions, r.start_date, r.preferred_time_slot, r.created_at
            FROM new_rows r
        ), o AS (
            SELECT r.id, r.booking_id, r.trainer_id, r.status, r.students, r.student_location, r.course_id,
                   r.delivery_mode, r.total_sessions, r.start_date, r.preferred_time_slot, r.created_at
            FROM old_rows r
        ), changed AS (
            (SELECT * FROM n EXCEPT ALL SELECT * FROM o)
            UNION ALL
            (SELECT * FROM o EXCEPT ALL SELECT * FROM n)
        )
        SELECT string_agg(DISTINCT c.id::text, ',') INTO v_ids FROM changed c;
    END IF;
    PERFORM session_sync.session_sync_flush(v_ids);
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_course_purchases_trigger IS 'session_sync_course_purchases_trigger() -- statement-level AFTER INSERT / UPDATE on
course_purchases (transition tables new_rows, old_rows), for a statement past 64 KB of notes
(see the trigger session_sync_note_purchases_insert).
Contract: syncs at once, set-based, with the transaction''s notes (session_sync_flush; queued
instead with session_sync.enabled off), every purchase inserted eligible and every purchase
(old and new id) an UPDATE changed in a value the mapping reads.
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';

-- sql/functions/session_sync_diagnose.sql
CREATE OR REPLACE FUNCTION public.session_sync_diagnose(p_purchase_id uuid)
RETURNS TABLE (check_name text, ok boolean, detail text, hint text)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_purchase public.course_purchases%ROWTYPE;
    v_check record;
    v_counts record;
    v_failure record;
    v_sessions integer;
    v_error text;
BEGIN
    IF p_purchase_id IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = '22004',
            MESSAGE = 'session_sync_diagnose: p_purchase_id must not be NULL',
            HINT = 'SELECT * FROM session_sync_diagnose(''<purchase id>'');';
    END IF;

    SELECT * INTO v_purchase FROM public.course_purchases WHERE id = p_purchase_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'purchase_exists', false,
            format('no course_purchases row has id %s', p_purchase_id),
            replace(session_sync.session_sync_hint('PURCHASE_NOT_FOUND'), '<purchase id>', p_purchase_id::text);
        RETURN;
    END IF;
    SELECT * INTO v_check FROM public.session_sync_purchase_check c WHERE c.purchase_id = p_purchase_id;

    RETURN QUERY SELECT 'purchase_exists', true,
        format('booking %s, course %s, %s sessions, %s, created %s', v_purchase.booking_id, v_purchase.course_id,
               v_purchase.total_sessions, v_purchase.delivery_mode, v_purchase.created_at),
        NULL::text;

    RETURN QUERY SELECT 'trainer_assigned', v_purchase.trainer_id IS NOT NULL,
        format('trainer_id is %s', coalesce(v_purchase.trainer_id::text, 'NULL')),
        CASE WHEN v_purchase.trainer_id IS NULL
             THEN session_sync.session_sync_hint('NO_TRAINER') END;

    RETURN QUERY SELECT 'status_assigned', v_purchase.status = 'ASSIGNED',
        format('status is %s', coalesce(v_purchase.status, 'NULL')),
        CASE WHEN v_purchase.status IS DISTINCT FROM 'ASSIGNED'
             THEN session_sync.session_sync_hint('NOT_ASSIGNED') END;

    RETURN QUERY SELECT 'primary_student', v_check.student_id IS NOT NULL,
        CASE WHEN v_check.student_id IS NOT NULL THEN format('primary student %s', v_check.student_id)
             ELSE session_sync.session_sync_students_problem(v_purchase.students) END,
        CASE WHEN v_check.student_id IS NULL
             THEN session_sync.session_sync_hint('NO_STUDENT') END;

    RETURN QUERY SELECT 'coordinates', v_check.home_location IS NOT NULL,
        CASE WHEN v_check.home_location IS NOT NULL
             THEN 'usable: latitude and longitude valid (values not shown)'
             ELSE session_sync.session_sync_failure_message(
                      session_sync.session_sync_location_problem(v_purchase.student_location), p_purchase_id) END,
        session_sync.session_sync_hint(session_sync.session_sync_location_problem(v_purchase.student_location));

    IF v_check.student_id IS NULL OR v_purchase.trainer_id IS NULL THEN
        RETURN QUERY SELECT 'allocation', false,
            'no allocation can be looked up without a primary student and a trainer'::text,
            'Fix the checks above first.'::text;
    ELSIF v_check.allocation_id IS NOT NULL THEN
        RETURN QUERY SELECT 'allocation', true, format('allocation %s (%s) will be used', al.id, al.status), NULL::text
        FROM public.trainer_allocations al WHERE al.id = v_check.allocation_id;
    ELSE
        BEGIN
            INSERT INTO public.trainer_allocations (student_id, trainer_id, course_id, requested_by, status,
                                                    allocated_at)
            VALUES (v_check.student_id, v_purchase.trainer_id, v_purchase.course_id, v_check.student_id,
                    'approved', now());
            RAISE EXCEPTION USING ERRCODE = 'SS999', MESSAGE = 'roll back the trial allocation';
        EXCEPTION
            WHEN SQLSTATE 'SS999' THEN
                v_error := NULL;
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_error = MESSAGE_TEXT;
        END;
        RETURN QUERY SELECT 'allocation', v_error IS NULL,
            CASE WHEN v_error IS NULL
                 THEN 'none yet: an approved allocation will be created (tried and rolled back)'
                 ELSE 'none yet, and trainer_allocations refuses a new one: ' || v_error END,
            CASE WHEN v_error IS NOT NULL
                 THEN session_sync.session_sync_hint('ALLOCATION_FAILED') END;
    END IF;

    SELECT count(*) INTO v_sessions FROM public.purchase_sessions ps WHERE ps.purchase_id = p_purchase_id;
    RETURN QUERY SELECT 'sessions_present', v_sessions > 0,
        format('%s purchase sessions', v_sessions),
        CASE WHEN v_sessions = 0
             THEN 'Auto-assignment writes one purchase_sessions row per session; this purchase has none, so there is nothing to sync.' END;

    SELECT count(*) FILTER (WHERE s.state = 'missing') AS missing,
           count(*) FILTER (WHERE s.state = 'drifted') AS drifted,
           count(*) FILTER (WHERE s.state = 'conflict') AS conflicts,
           count(*) FILTER (WHERE s.state = 'protected') AS protected,
           count(*) FILTER (WHERE s.state = 'in_sync') AS in_sync
    INTO v_counts
    FROM public.session_sync_session_state s WHERE s.purchase_id = p_purchase_id;
    RETURN QUERY SELECT 'sessions_in_sync',
        v_check.eligible AND v_counts.missing + v_counts.drifted + v_counts.conflicts = 0,
        CASE WHEN NOT v_check.eligible
             THEN format('not eligible (needs a trainer and status ASSIGNED): its %s sessions are not synced', v_sessions)
             ELSE format('%s missing, %s drifted, %s conflicting, %s protected, %s in sync',
                         v_counts.missing, v_counts.drifted, v_counts.conflicts, v_counts.protected, v_counts.in_sync) END,
        CASE WHEN NOT v_check.eligible
                 THEN 'Assign a trainer and set status = ''ASSIGNED'' (see the checks above); the trigger then syncs its sessions.'
             WHEN v_counts.conflicts > 0
                 THEN session_sync.session_sync_hint('SESSION_CONFLICT')
             WHEN v_check.eligible AND v_counts.missing + v_counts.drifted > 0
                 THEN format('SELECT * FROM sync_purchase_sessions(%L);', p_purchase_id) END;

    SELECT f.reason, f.message, f.hint, f.failed_at, f.source INTO v_failure
    FROM public.session_sync_failures f
    WHERE f.purchase_id = p_purchase_id
    ORDER BY f.failed_at DESC, f.failure_id DESC
    LIMIT 1;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'last_failure', true, 'no failure recorded'::text, NULL::text;
    ELSE
        RETURN QUERY SELECT 'last_failure',
            v_check.eligible AND v_counts.missing + v_counts.drifted + v_counts.conflicts = 0,
            format('%s (%s, %s)', v_failure.message, v_failure.source, v_failure.failed_at),
            v_failure.hint;
    END IF;
END;
$$;

COMMENT ON FUNCTION public.session_sync_diagnose IS 'session_sync_diagnose(p_purchase_id uuid) -> rows (check_name, ok, detail, hint)
Contract: the guide''s troubleshooting for one purchase, one row per check, in order:
purchase_exists, trainer_assigned, status_assigned, primary_student, coordinates,
allocation (present, or creatable: tried in a savepoint always rolled back),
sessions_present, sessions_in_sync, last_failure; `hint` says how to fix a failing one.
Changes nothing. A NULL id raises 22004; an unknown one fails the first check. Details quote
ids only, never a student''s name, contact details or usable coordinates.';

-- sql/functions/session_sync_dropped_keys_trigger.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_dropped_keys_trigger()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO public.session_sync_dropped_keys (session_id, key)
    SELECT NEW.id, k.key
    FROM unnest(session_sync.session_sync_keys_dropped(OLD.metadata, NEW.metadata)) AS k(key);
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_dropped_keys_trigger IS 'session_sync_dropped_keys_trigger() -- the function of the trigger session_sync_dropped_keys_note.
Contract: appends one row per key the update dropped (session_sync_keys_dropped) to
session_sync_dropped_keys, whether or not the tutoring session exists yet and whatever
session_sync.enabled says. Insert-only: it never waits for another transaction.';

-- sql/functions/session_sync_eligible.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_eligible(p_trainer_id uuid, p_status text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN p_trainer_id IS NOT NULL AND coalesce(p_status = 'ASSIGNED', false);

COMMENT ON FUNCTION session_sync.session_sync_eligible IS 'session_sync_eligible(p_trainer_id uuid, p_status text) -> boolean
Contract: whether a purchase is synced: a trainer is set and the status is ASSIGNED; never
NULL. The one definition, which the WHEN clause of session_sync_note_purchases_insert spells
out (tests/test_rules.py checks they agree).';

-- sql/functions/session_sync_enqueue.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_enqueue(p_purchase_ids uuid[] DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    IF p_purchase_ids IS NULL THEN
        INSERT INTO public.session_sync_changes (purchase_id)
        SELECT p.id FROM public.course_purchases p
        WHERE session_sync.session_sync_eligible(p.trainer_id, p.status)
        ORDER BY p.id;
    ELSE
        INSERT INTO public.session_sync_changes (purchase_id)
        SELECT DISTINCT i.id FROM unnest(p_purchase_ids) AS i(id)
        WHERE i.id IS NOT NULL
        ORDER BY i.id;
    END IF;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_enqueue IS 'session_sync_enqueue(p_purchase_ids uuid[] DEFAULT NULL) -> integer
Contract: appends the given purchases (NULLs skipped), or with NULL every eligible one, to
the change log session_sync_changes for the next sync_all_sessions() or backfill; returns
how many. Insert-only, so callers never wait for each other; a purchase queued again while
a run examines it stays queued for the next run.';

-- sql/functions/session_sync_failure_message.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_failure_message(
    p_reason text,
    p_purchase_id uuid,
    p_detail text DEFAULT NULL
)
RETURNS text
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_purchase public.course_purchases%ROWTYPE;
    v_message text;
BEGIN
    SELECT * INTO v_purchase FROM public.course_purchases WHERE id = p_purchase_id;

    v_message := CASE p_reason
        WHEN 'PURCHASE_NOT_FOUND' THEN
            format('purchase %s does not exist in course_purchases', p_purchase_id)
        WHEN 'NO_TRAINER' THEN
            format('purchase %s has no trainer assigned (trainer_id is NULL, status %s)',
                   p_purchase_id, coalesce(v_purchase.status, 'NULL'))
        WHEN 'NOT_ASSIGNED' THEN
            format('purchase %s has status %s, not ASSIGNED (trainer %s)',
                   p_purchase_id, coalesce(v_purchase.status, 'NULL'), v_purchase.trainer_id)
        WHEN 'NO_STUDENT' THEN
            format('purchase %s has no primary student with a UUID id (%s)',
                   p_purchase_id, session_sync.session_sync_students_problem(v_purchase.students))
        WHEN 'MISSING_LOCATION' THEN
            format('purchase %s has no GPS coordinates for the student (%s)',
                   p_purchase_id, session_sync.session_sync_location_detail(v_purchase.student_location))
        WHEN 'INVALID_COORDINATES' THEN
            format('purchase %s has invalid GPS coordinates (%s)',
                   p_purchase_id, session_sync.session_sync_location_detail(v_purchase.student_location))
        WHEN 'SESSION_CONFLICT' THEN
            format('purchase %s: a tutoring session with the id of one of its purchase sessions is not its own (its metadata.purchaseId is absent or names another purchase); it was left untouched',
                   p_purchase_id)
        WHEN 'ALLOCATION_FAILED' THEN
            format('purchase %s: the trainer allocation for student %s, trainer %s, course %s could not be created',
                   p_purchase_id, session_sync.session_sync_primary_student(v_purchase.students),
                   v_purchase.trainer_id, v_purchase.course_id)
        WHEN 'SESSION_WRITE_FAILED' THEN
            format('purchase %s: tutoring_sessions rejected a session of this purchase', p_purchase_id)
        ELSE
            format('purchase %s could not be synced', p_purchase_id)
    END;

    IF p_detail IS NOT NULL THEN
        v_message := v_message || ': ' || p_detail;
    END IF;
    RETURN p_reason || ': ' || v_message;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_failure_message IS 'session_sync_failure_message(p_reason text, p_purchase_id uuid, p_detail text DEFAULT NULL) -> text
Contract: the message for a purchase that cannot be synced: the reason code, then what is
wrong for which purchase, then p_detail (the underlying error) when given. It quotes ids and
the shape of bad values only (session_sync_students_problem, session_sync_location_detail):
never a student''s name, contact details, address or usable coordinates. Changes nothing.';

-- sql/functions/session_sync_flush.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_flush(p_ids text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_pending text := coalesce(current_setting('session_sync.pending', true), '') || coalesce(',' || p_ids, '');
    v_ids uuid[];
    v_stray text;
    v_strict boolean;
    v_last_failure bigint;
    v_result record;
    v_failure record;
BEGIN
    IF v_pending = '' THEN
        RETURN;
    END IF;
    PERFORM set_config('session_sync.pending', '', true);
    -- The note triggers append ',<uuid>' per purchase; any other token was set by hand.
    IF v_pending ~ '^,[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        -- one purchase noted (the common case): no array round trip
        v_ids := ARRAY[substr(v_pending, 2)::uuid];
    ELSE
        SELECT array_agg(DISTINCT i.id::uuid ORDER BY i.id::uuid)
                   FILTER (WHERE i.id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
               min(i.id) FILTER (WHERE i.id !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
        INTO v_ids, v_stray
        FROM unnest(string_to_array(v_pending, ',')) AS i(id)
        WHERE i.id <> '';
        IF v_stray IS NOT NULL THEN
            RAISE WARNING USING
                MESSAGE = format('session-sync: ignored %L in session_sync.pending, which is not a purchase id',
                                 left(v_stray, 40)),
                DETAIL = 'session_sync.pending is internal to the package: only its triggers set it, in the transaction.',
                HINT = 'Do not SET it: RESET session_sync.pending (and ALTER ROLE / DATABASE ... RESET it if set there).';
        END IF;
    END IF;
    IF v_ids IS NULL THEN
        RETURN;
    END IF;
    IF session_sync.session_sync_setting('enabled', true)
       AND current_setting('transaction_isolation') <> 'serializable' THEN
        v_strict := session_sync.session_sync_setting('strict', false);
        IF v_strict THEN
            SELECT coalesce(max(f.failure_id), 0) INTO v_last_failure FROM public.session_sync_failures f;
        END IF;
        SELECT * INTO v_result FROM session_sync.session_sync_write(v_ids, NULL, 'trigger');
        IF current_setting('transaction_isolation') <> 'read committed' THEN
            -- one snapshot for the whole transaction: what another transaction inserted since
            -- was not seen here, so every purchase noted gets another look
            PERFORM session_sync.session_sync_enqueue(v_ids);
        END IF;
        IF v_strict AND v_result.purchases_failed > 0 THEN
            SELECT f.reason, f.message, f.hint, r.sqlstate INTO v_failure
            FROM public.session_sync_failures f
            JOIN session_sync.session_sync_reasons() r ON r.reason = f.reason
            WHERE f.failure_id > v_last_failure AND f.source = 'trigger' AND f.purchase_id = ANY (v_ids)
            ORDER BY f.failure_id
            LIMIT 1;
            RAISE EXCEPTION USING
                ERRCODE = coalesce(v_failure.sqlstate, 'SS000'),
                MESSAGE = coalesce(v_failure.message, 'session-sync: a purchase could not be synced'),
                HINT = coalesce(v_failure.hint, '') || ' (session_sync.strict is on: SET session_sync.strict = off records the failure in session_sync_failures instead of failing the write.)';
        END IF;
    ELSE
        PERFORM session_sync.session_sync_enqueue(v_ids);
    END IF;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_flush IS 'session_sync_flush(p_ids text DEFAULT NULL) -> void
Contract (internal; the COMMIT trigger and the bulk statement triggers call it): syncs the
purchases this transaction noted in session_sync.pending, and the comma-separated p_ids (a
bulk statement''s), in that transaction
(session_sync_write, source ''trigger''), and clears the notes. A purchase that cannot be
synced is recorded in session_sync_failures and the transaction commits, unless
session_sync.strict is on: then the first such failure fails the COMMIT. With
session_sync.enabled off, or under SERIALIZABLE (where the sync''s reads would add 40001
failures to commits that succeed without it), it queues them instead. A token that is not a
purchase id (set by hand) is ignored with one WARNING; a value of session_sync.enabled that is
not a boolean raises 22023.';

-- sql/functions/session_sync_keys_dropped.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_keys_dropped(p_old jsonb, p_new jsonb)
RETURNS text[]
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT array_agg(k.key ORDER BY k.key)
    FROM jsonb_object_keys(CASE WHEN jsonb_typeof(p_old) = 'object' THEN p_old ELSE '{}'::jsonb END) AS k(key)
    WHERE NOT (k.key = ANY ('{purchaseId,bookingId,sessionNumber,sessionType}'::text[]))
      AND NOT coalesce(jsonb_typeof(p_new) = 'object' AND p_new ? k.key, false)
$$;

COMMENT ON FUNCTION session_sync.session_sync_keys_dropped IS 'session_sync_keys_dropped(p_old jsonb, p_new jsonb) -> text[]
Contract: the keys of the object p_old that p_new lacks (all when p_new is not an object),
the canonical keys purchaseId, bookingId, sessionNumber and sessionType aside; sorted; NULL
when none.';

-- sql/functions/session_sync_location_problem.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_location_problem(p_location jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN p_location IS NULL OR jsonb_typeof(p_location) = 'null'
        THEN 'MISSING_LOCATION'
    WHEN jsonb_typeof(p_location) <> 'object'
        THEN 'INVALID_COORDINATES'
    WHEN COALESCE(jsonb_typeof(p_location -> 'latitude'), 'null') = 'null'
      OR COALESCE(jsonb_typeof(p_location -> 'longitude'), 'null') = 'null'
      OR (p_location -> 'latitude') = '""'::jsonb
      OR (p_location -> 'longitude') = '""'::jsonb
        THEN 'MISSING_LOCATION'
    WHEN NOT COALESCE(session_sync.session_sync_coordinate(p_location -> 'latitude')
                      BETWEEN -90 AND 90, false)
      OR NOT COALESCE(session_sync.session_sync_coordinate(p_location -> 'longitude')
                      BETWEEN -180 AND 180, false)
        THEN 'INVALID_COORDINATES'
    WHEN session_sync.session_sync_coordinate(p_location -> 'latitude') = 0
     AND session_sync.session_sync_coordinate(p_location -> 'longitude') = 0
        THEN 'MISSING_LOCATION'
END;

COMMENT ON FUNCTION session_sync.session_sync_location_problem IS 'session_sync_location_problem(p_location jsonb) -> text
Contract: NULL when student_location holds usable coordinates, else the reason code:
  MISSING_LOCATION     no object, latitude or longitude absent, JSON null or "", or exactly (0, 0)
  INVALID_COORDINATES  not an object, or a coordinate that is not a finite decimal number
                       (session_sync_coordinate) or lies outside [-90, 90] / [-180, 180]
Never raises.';

-- sql/functions/session_sync_never_trigger.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_never_trigger()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_never_trigger IS 'session_sync_never_trigger() -- the function of the note triggers, whose WHEN clause does
their work and is always false: it never runs, and would do nothing.';

-- sql/functions/session_sync_protected.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_protected(p_status text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN p_status IN ('pending_verification', 'in_progress', 'pending_confirmation', 'completed', 'disputed');

COMMENT ON FUNCTION session_sync.session_sync_protected IS 'session_sync_protected(p_status text) -> boolean
Contract: whether a tutoring session with this status has happened or is happening
(pending_verification, in_progress, pending_confirmation, completed, disputed): no sync
ever changes it. The one definition of "protected".';

-- sql/functions/session_sync_purchase_sessions_trigger.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_purchase_sessions_trigger()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_ids text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT string_agg(DISTINCT n.purchase_id::text, ',') INTO v_ids
        FROM new_rows n;
    ELSE
        WITH n AS (
            SELECT r.id, r.purchase_id, r.booking_id, r.session_number, r.session_date, r.session_time,
                   r.session_type, r.status, r.metadata
            FROM new_rows r
        ), o AS (
            SELECT r.id, r.purchase_id, r.booking_id, r.session_number, r.session_date, r.session_time,
                   r.session_type, r.status, r.metadata
            FROM old_rows r
        ), changed AS (
            (SELECT * FROM n EXCEPT ALL SELECT * FROM o)
            UNION ALL
            (SELECT * FROM o EXCEPT ALL SELECT * FROM n)
        )
        SELECT string_agg(DISTINCT c.purchase_id::text, ',') INTO v_ids FROM changed c;
    END IF;
    PERFORM session_sync.session_sync_flush(v_ids);
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_purchase_sessions_trigger IS 'session_sync_purchase_sessions_trigger() -- statement-level AFTER INSERT / UPDATE on
purchase_sessions (transition tables new_rows, old_rows), for a statement past 64 KB of notes
(see the trigger session_sync_note_purchases_insert).
Contract: syncs at once, set-based, with the transaction''s notes (session_sync_flush; queued
instead with session_sync.enabled off), the purchases whose sessions were inserted, or changed
in a value the mapping reads (both purchases when a session moved). Deleting purchase
sessions fires nothing: tutoring sessions are never deleted.
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';

-- sql/functions/session_sync_quote.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_quote(p_value jsonb, p_safe text)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN p_value IS NULL THEN 'absent'
    WHEN jsonb_typeof(p_value) = 'number' AND length(p_value::text) <= 12
         AND abs(p_value::numeric) <= 1000 THEN p_value::text
    WHEN jsonb_typeof(p_value) = 'number' THEN 'a JSON number out of range'
    WHEN jsonb_typeof(p_value) = 'string' AND p_safe IS NOT NULL AND length(p_value #>> '{}') <= 12
         AND (p_value #>> '{}') ~ p_safe AND abs((p_value #>> '{}')::numeric) <= 1000
        THEN p_value::text
    WHEN jsonb_typeof(p_value) = 'string' THEN 'a JSON string of ' || length(p_value #>> '{}') || ' characters'
    ELSE 'a JSON ' || jsonb_typeof(p_value)
END;

COMMENT ON FUNCTION session_sync.session_sync_quote IS 'session_sync_quote(p_value jsonb, p_safe text) -> text
Contract: how messages name an offending value without leaking personal data: its JSON
text only when it is a number, or a string matching the regular expression p_safe (NULL:
never), of at most 12 characters and within [-1000, 1000]; else only its shape (''a JSON
string of 23 characters'', ''a JSON number out of range'', ''a JSON object''); ''absent''
for SQL NULL. Never raises.';

-- sql/functions/session_sync_raise.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_raise(
    p_reason text,
    p_purchase_id uuid,
    p_detail text DEFAULT NULL
)
RETURNS void
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_sqlstate text;
    v_hint text;
BEGIN
    SELECT r.sqlstate, replace(r.hint, '<purchase id>', coalesce(p_purchase_id::text, 'NULL'))
    INTO v_sqlstate, v_hint
    FROM session_sync.session_sync_reasons() r
    WHERE r.reason = p_reason;

    RAISE EXCEPTION USING
        ERRCODE = coalesce(v_sqlstate, 'SS000'),
        MESSAGE = session_sync.session_sync_failure_message(p_reason, p_purchase_id, p_detail),
        HINT = coalesce(v_hint, 'See session_sync_reasons() for the reason codes.');
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_raise IS 'session_sync_raise(p_reason text, p_purchase_id uuid, p_detail text DEFAULT NULL)
Contract: raises the package''s error for a purchase that cannot be synced: SQLSTATE and
HINT from session_sync_reasons(), MESSAGE from session_sync_failure_message().';

-- sql/functions/session_sync_reap_backfills.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_reap_backfills()
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    UPDATE public.session_sync_runs r
    SET outcome = 'interrupted', finished_at = clock_timestamp()
    WHERE r.outcome = 'running'
      AND r.source = 'batched'
      AND NOT EXISTS (
          SELECT 1 FROM pg_stat_activity a
          WHERE a.pid = r.backend_pid
            AND a.pid <> pg_backend_pid()
            AND (a.backend_start IS NULL OR r.backend_start IS NULL
                 OR (a.backend_start = r.backend_start
                     AND a.query_start = r.backend_query_start
                     AND (a.state IS NULL OR a.state IN ('active', 'fastpath function call')))));
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_reap_backfills IS 'session_sync_reap_backfills() -> integer
Contract (internal): marks ''interrupted'' (finished_at set) every backfill run still shown
running whose backend no longer runs it: gone, or idle or running another statement since
(the CALL is told by its backend''s pid, backend_start and query_start). A backend whose
state this role cannot read is taken to be still running it. Returns how many it marked.';

-- sql/functions/session_sync_reasons.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_reasons()
RETURNS TABLE (reason text, sqlstate text, hint text)
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT v.reason, v.sqlstate, v.hint
    FROM (VALUES
        (1, 'PURCHASE_NOT_FOUND', 'SS001',
         'Check the id: SELECT id, trainer_id, status FROM course_purchases WHERE id = ''<purchase id>'';'),
        (2, 'NO_TRAINER', 'SS002',
         'Assign a trainer: set course_purchases.trainer_id and status = ''ASSIGNED''; the trigger then syncs the purchase.'),
        (3, 'NOT_ASSIGNED', 'SS003',
         'Only purchases with status = ''ASSIGNED'' are synced: set the status once the trainer is confirmed.'),
        (4, 'NO_STUDENT', 'SS004',
         'course_purchases.students must be a JSON array whose first element has an "id" that is a UUID (the primary student).'),
        (5, 'MISSING_LOCATION', 'SS005',
         'Set course_purchases.student_location to {"latitude": <number>, "longitude": <number>, "address": "..."} with the student''s GPS coordinates.'),
        (6, 'INVALID_COORDINATES', 'SS006',
         'latitude and longitude must be numbers (or strings holding only a decimal number), latitude within [-90, 90] and longitude within [-180, 180]: fix course_purchases.student_location.'),
        (7, 'ALLOCATION_FAILED', 'SS007',
         'trainer_allocations rejected the new allocation (see DETAIL): check its constraints and triggers, and that the student, trainer and course are valid.'),
        (8, 'SESSION_CONFLICT', 'SS008',
         'A tutoring session with the same id is not this purchase''s (its metadata.purchaseId is absent or names another purchase), so the sync leaves it alone: find out whose it is before re-keying or deleting either session.'),
        (9, 'SESSION_WRITE_FAILED', 'SS009',
         'tutoring_sessions rejected the write (see DETAIL for the constraint): fix the purchase session named there, then sync again.')
    ) AS v(ord, reason, sqlstate, hint)
    ORDER BY v.ord;
END;

COMMENT ON FUNCTION session_sync.session_sync_reasons IS 'session_sync_reasons() -> TABLE(reason, sqlstate, hint)
Contract: the reasons a purchase cannot be synced, each with the SQLSTATE
sync_purchase_sessions() raises for it and its hint. Every error message of the package
begins with one of these codes.';

-- sql/functions/session_sync_setting.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_setting(p_name text, p_default boolean)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_value text := lower(btrim(coalesce(current_setting('session_sync.' || p_name, true), '')));
BEGIN
    IF v_value = '' THEN
        RETURN p_default;
    ELSIF v_value IN ('on', 'true', 'yes', '1') THEN
        RETURN true;
    ELSIF v_value IN ('off', 'false', 'no', '0') THEN
        RETURN false;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = '22023',
        MESSAGE = format('session_sync.%s is %L, which is not a boolean', p_name, v_value),
        HINT = format('SET session_sync.%s = on (or off).', p_name);
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_setting IS 'session_sync_setting(p_name text, p_default boolean) -> boolean
Contract: the custom setting session_sync.<p_name> as a boolean (on/true/yes/1,
off/false/no/0), p_default when unset or empty; any other value raises 22023, naming it.';

-- sql/functions/session_sync_tutoring_sessions_trigger.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_tutoring_sessions_trigger()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_ids uuid[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM session_sync.session_sync_enqueue(NULL);
        RETURN NULL;
    END IF;
    SELECT array_agg(DISTINCT o.id) INTO v_ids
    FROM unnest(ARRAY[CASE WHEN TG_OP <> 'INSERT' THEN session_sync.session_sync_owner(OLD.metadata) END,
                      CASE WHEN TG_OP <> 'DELETE' THEN session_sync.session_sync_owner(NEW.metadata) END]) AS o(id)
    WHERE o.id IS NOT NULL;
    IF v_ids IS NOT NULL THEN
        PERFORM session_sync.session_sync_enqueue(v_ids);
    END IF;
    RETURN NULL;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_tutoring_sessions_trigger IS 'session_sync_tutoring_sessions_trigger() -- the function of the tracking triggers on
tutoring_sessions (see the trigger session_sync_tutoring_insert_delete).
Contract: queues the purchases the old and new rows name in metadata.purchaseId (every
eligible purchase after a TRUNCATE): an app''s edit may have put them out of sync. Reads no
table, so nothing a platform migration holds makes the write wait; a row without a
purchaseId queues nothing, and the write never fails.';

-- sql/functions/session_sync_uuid.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_uuid(p_value text)
RETURNS uuid
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN p_value ~ '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$'
    THEN p_value::uuid
END;

COMMENT ON FUNCTION session_sync.session_sync_uuid IS 'session_sync_uuid(p_value text) -> uuid
Contract: p_value as a uuid when it is a canonical 8-4-4-4-12 hex UUID, else NULL. Never raises.';

-- sql/functions/session_sync_write.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_write(
    p_purchase_ids uuid[],
    p_run_id bigint,
    p_source text,
    OUT purchases_synced integer,
    OUT purchases_failed integer,
    OUT purchases_deferred integer,
    OUT purchases_retried integer,
    OUT sessions_created integer,
    OUT sessions_updated integer,
    OUT retry_reason text,
    OUT purchases_examined integer
)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET work_mem = '256MB'
SET random_page_cost = 1.1
AS $$
DECLARE
    v_ids uuid[];
    v_snapshot pg_snapshot;
    v_batch uuid[];
    v_round integer := 0;
    v_table text;
    v_result record;
    v_failed_ids uuid[] := '{}'::uuid[];
    v_failed_reasons text[] := '{}'::text[];
    v_failed_details text[] := '{}'::text[];
    v_deferred_ids uuid[] := '{}'::uuid[];
    v_requeued_ids uuid[] := '{}'::uuid[];
    v_sqlstate text;
    v_error text;
    v_lock_timeout text := current_setting('lock_timeout');
BEGIN
    purchases_synced := 0;
    purchases_failed := 0;
    purchases_deferred := 0;
    purchases_retried := 0;
    sessions_created := 0;
    sessions_updated := 0;
    purchases_examined := 0;

    IF p_source <> 'trigger' AND current_setting('transaction_isolation') = 'serializable' THEN
        RAISE EXCEPTION USING
            ERRCODE = '25001',
            MESSAGE = 'session-sync: sync_all_sessions(), the backfill and sync_purchase_sessions() do not run in a SERIALIZABLE transaction: their writes would take part in the platform''s serializable checks and could make its transactions fail with 40001',
            HINT = 'Run them in READ COMMITTED (the default): BEGIN ISOLATION LEVEL READ COMMITTED; ... or SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED;';
    END IF;
    v_snapshot := pg_current_snapshot();
    IF p_purchase_ids IS NULL THEN
        SELECT coalesce(array_agg(DISTINCT c.purchase_id ORDER BY c.purchase_id), '{}') INTO v_ids
        FROM public.session_sync_changes c;
    ELSIF cardinality(p_purchase_ids) = 1 AND p_purchase_ids[1] IS NOT NULL THEN
        v_ids := ARRAY[p_purchase_ids[1]];  -- one purchase (the sync at COMMIT): no array round trip
    ELSE
        SELECT coalesce(array_agg(DISTINCT i.id ORDER BY i.id), '{}') INTO v_ids
        FROM unnest(p_purchase_ids) AS i(id)
        WHERE i.id IS NOT NULL;
    END IF;
    purchases_examined := cardinality(v_ids);
    IF purchases_examined = 0 THEN
        RETURN;
    END IF;
    IF p_source = 'trigger' THEN
        -- One sync at COMMIT of a purchase at a time (try-locks, never a wait); a write of more
        -- than 64 purchases locks one of 1,024 buckets per purchase instead, which a small one shares.
        SELECT coalesce(array_agg(i.id), '{}') INTO v_deferred_ids FROM unnest(v_ids) AS i(id)
        WHERE NOT CASE WHEN purchases_examined > 64
                       THEN pg_try_advisory_xact_lock(hashtext('session_sync.bucket'), hashtext(i.id::text) & 1023)
                       ELSE pg_try_advisory_xact_lock_shared(hashtext('session_sync.bucket'), hashtext(i.id::text) & 1023)
                            AND pg_try_advisory_xact_lock(hashtext('session_sync.purchase'), hashtext(i.id::text)) END;
    ELSE
        -- A run: a purchase whose sync at COMMIT ran in a still open transaction is deferred (its
        -- queue rows kept: this call cannot see what that sync saw). Probes: a run holds no lock.
        SELECT coalesce(array_agg(i.id), '{}') INTO v_deferred_ids FROM unnest(v_ids) AS i(id)
        WHERE NOT (pg_try_advisory_lock_shared(hashtext('session_sync.bucket'), hashtext(i.id::text) & 1023)
                   AND pg_advisory_unlock_shared(hashtext('session_sync.bucket'), hashtext(i.id::text) & 1023)
                   AND pg_try_advisory_lock_shared(hashtext('session_sync.purchase'), hashtext(i.id::text))
                   AND pg_advisory_unlock_shared(hashtext('session_sync.purchase'), hashtext(i.id::text)));
    END IF;
    IF cardinality(v_deferred_ids) > 0 THEN
        v_ids := ARRAY(SELECT i.id FROM unnest(v_ids) AS i(id) WHERE NOT (i.id = ANY (v_deferred_ids)));
    END IF;

    -- Round 0 writes the set under one savepoint; should it fail, rounds 1..n each purchase alone.
    WHILE cardinality(v_ids) > 0 AND v_round <= cardinality(v_ids) LOOP
        v_batch := CASE WHEN v_round = 0 THEN v_ids ELSE ARRAY[v_ids[v_round]] END;
        purchases_retried := purchases_retried + sign(v_round)::integer;
        BEGIN
            PERFORM set_config('lock_timeout', '50ms', true);
            PERFORM set_config('session_sync.applying', pg_current_xact_id()::text, true);
            WITH st AS MATERIALIZED (
                SELECT s.session_id, s.purchase_id, s.reason, s.state, s.tutoring_xmin,
                       s.allocation_id,
                       s.student_id,
                       s.trainer_id,
                       s.course_id,
                       s.scheduled_date,
                       s.scheduled_time,
                       s.duration,
                       s.status,
                       s.student_home_location,
                       s.metadata, s.dropped_keys
                FROM public.session_sync_session_state s
                WHERE s.purchase_id = ANY (v_batch)
                  AND s.state IN ('missing', 'drifted', 'conflict')
            ), locked AS MATERIALIZED (
                -- Never wait: a row another transaction holds leaves its purchase for later.
                SELECT t.id, t.xmin AS tutoring_xmin
                FROM public.tutoring_sessions t
                WHERE t.id = ANY (ARRAY(SELECT st.session_id FROM st WHERE st.state = 'drifted' AND st.reason IS NULL))
                ORDER BY t.id
                FOR UPDATE SKIP LOCKED
            ), locked_xmin AS MATERIALIZED (
                -- The rows locked (id -> xmin), and below the purchases to write, as jsonb looked up
                -- per session, never joined: before PostgreSQL 17 a join to a CTE became a nested loop.
                SELECT jsonb_object_agg(l.id::text, l.tutoring_xmin::text) AS m FROM locked l
            ), verdict AS MATERIALIZED (
                SELECT st.purchase_id, st.student_id, st.trainer_id, st.course_id, st.allocation_id,
                       coalesce(min(st.reason),
                                CASE WHEN bool_or(st.state = 'conflict') THEN 'SESSION_CONFLICT' END) AS reason,
                       bool_or(st.state = 'drifted'
                               AND ((SELECT x.m FROM locked_xmin x) ->> st.session_id::text)
                                   IS DISTINCT FROM st.tutoring_xmin::text) AS busy,
                       count(*) FILTER (WHERE st.state = 'missing') AS missing
                FROM st
                GROUP BY st.purchase_id, st.student_id, st.trainer_id, st.course_id, st.allocation_id
            ), created AS (
                -- The oldest purchase's details win a shared key; a concurrent transaction's
                -- allocation for the key wins too (ON CONFLICT), and the purchase is deferred.
                INSERT INTO public.trainer_allocations
                    (student_id, trainer_id, course_id, requested_by, status, allocated_at, metadata)
                SELECT DISTINCT ON (v.student_id, v.trainer_id, v.course_id)
                       v.student_id, v.trainer_id, v.course_id, v.student_id, 'approved', now(),
                       jsonb_build_object(
                           'sessionCount', p.total_sessions,
                           'isSundayOnly', p.delivery_mode = 'SUNDAY_ONLY',
                           'schedule', jsonb_build_object('timeSlot', p.preferred_time_slot, 'date', p.start_date),
                           'purchaseId', p.id,
                           'bookingId', p.booking_id)
                FROM verdict v
                CROSS JOIN LATERAL (SELECT * FROM public.course_purchases cp WHERE cp.id = v.purchase_id) p
                WHERE v.reason IS NULL AND v.allocation_id IS NULL AND NOT v.busy
                ORDER BY v.student_id, v.trainer_id, v.course_id, p.created_at, p.id
                ON CONFLICT DO NOTHING
                RETURNING id, student_id, trainer_id, course_id
            ), created_ids AS MATERIALIZED (
                SELECT jsonb_object_agg(concat_ws('/', c.student_id, c.trainer_id, c.course_id), c.id) AS m
                FROM created c
            ), ok AS MATERIALIZED (
                -- the purchases to write (no reason, rows held as classified), with their allocation
                SELECT jsonb_object_agg(v.purchase_id::text, a.id) AS m
                FROM verdict v
                CROSS JOIN LATERAL (
                    SELECT coalesce(v.allocation_id::text,
                                    (SELECT c.m FROM created_ids c)
                                        ->> concat_ws('/', v.student_id, v.trainer_id, v.course_id)) AS id) a
                WHERE v.reason IS NULL AND NOT v.busy AND a.id IS NOT NULL
            ), w AS (
                SELECT st.session_id, st.purchase_id, st.state,
                       ((SELECT ok.m FROM ok) ->> st.purchase_id::text)::uuid AS allocation_id,
                       st.student_id,
                       st.trainer_id,
                       st.course_id,
                       st.scheduled_date,
                       st.scheduled_time,
                       st.duration,
                       st.status,
                       st.student_home_location,
                       st.metadata, st.dropped_keys
                FROM st
                WHERE st.state IN ('missing', 'drifted')
                  AND coalesce((SELECT ok.m FROM ok) ? st.purchase_id::text, false)
            ), updated AS (
                UPDATE public.tutoring_sessions t
                SET
                    allocation_id = s.allocation_id,
                    student_id = s.student_id,
                    trainer_id = s.trainer_id,
                    course_id = s.course_id,
                    scheduled_date = s.scheduled_date,
                    scheduled_time = s.scheduled_time,
                    duration = s.duration,
                    status = s.status,
                    student_home_location = s.student_home_location,
                    -- merged onto the row as it is: the apps' keys stay, the dropped keys go
                    metadata = (CASE WHEN jsonb_typeof(t.metadata) = 'object' THEN t.metadata ELSE '{}'::jsonb END
                                - coalesce(s.dropped_keys, '{}'::text[]))
                               || s.metadata,
                    updated_at = now()
                FROM w s
                WHERE s.state = 'drifted'
                  AND t.id = s.session_id
                  AND session_sync.session_sync_owned_by(t.metadata, s.purchase_id)
                  AND NOT session_sync.session_sync_protected(t.status)
                RETURNING t.id
            ), inserted AS (
                INSERT INTO public.tutoring_sessions
                    (id,
                     allocation_id,
                     student_id,
                     trainer_id,
                     course_id,
                     scheduled_date,
                     scheduled_time,
                     duration,
                     status,
                     student_home_location,
                     metadata)
                SELECT s.session_id,
                       s.allocation_id,
                       s.student_id,
                       s.trainer_id,
                       s.course_id,
                       s.scheduled_date,
                       s.scheduled_time,
                       s.duration,
                       s.status,
                       s.student_home_location,
                       s.metadata
                FROM w s
                WHERE s.state = 'missing'
                ORDER BY s.session_id
                ON CONFLICT (id) DO NOTHING
                RETURNING id
            ), forgotten AS (
                -- in the same statement, so that a dropped key's record goes exactly when the key does
                DELETE FROM public.session_sync_dropped_keys d
                WHERE d.ctid IN (
                    SELECT k.ctid FROM public.session_sync_dropped_keys k
                    WHERE k.session_id = ANY (ARRAY(SELECT u.id FROM updated u UNION ALL SELECT i.id FROM inserted i))
                    FOR UPDATE OF k SKIP LOCKED)
            )
            SELECT count(*) FILTER (WHERE v.ok) AS synced,
                   coalesce(sum(v.missing) FILTER (WHERE v.ok), 0) AS intended,
                   (SELECT count(*) FROM inserted) AS created,
                   (SELECT count(*) FROM updated) AS updated,
                   coalesce(array_agg(v.purchase_id ORDER BY v.purchase_id) FILTER (WHERE v.reason IS NOT NULL), '{}') AS failed_ids,
                   coalesce(array_agg(v.reason ORDER BY v.purchase_id) FILTER (WHERE v.reason IS NOT NULL), '{}') AS failed_reasons,
                   coalesce(array_agg(v.purchase_id ORDER BY v.purchase_id) FILTER (WHERE v.reason IS NULL AND NOT v.ok),
                            '{}') AS deferred_ids,
                   -- outside READ COMMITTED a session inserted since the transaction's snapshot is not
                   -- seen here: what was written stays queued for another look
                   CASE WHEN current_setting('transaction_isolation') = 'read committed' THEN '{}'::uuid[]
                        ELSE coalesce(array_agg(v.purchase_id ORDER BY v.purchase_id) FILTER (WHERE v.ok), '{}') END AS requeued_ids
            FROM (SELECT v.purchase_id, v.reason, v.missing, coalesce((SELECT ok.m FROM ok) ? v.purchase_id::text, false) AS ok
                  FROM verdict v) v
            INTO v_result;
            IF v_result.created < v_result.intended THEN
                RAISE EXCEPTION USING ERRCODE = 'SS010', MESSAGE = format(
                    '%s of %s sessions were inserted by a concurrent transaction first',
                    v_result.intended - v_result.created, v_result.intended);
            END IF;
            purchases_synced := purchases_synced + v_result.synced;
            sessions_created := sessions_created + v_result.created;
            sessions_updated := sessions_updated + v_result.updated;
            v_failed_ids := v_failed_ids || v_result.failed_ids;
            v_failed_reasons := v_failed_reasons || v_result.failed_reasons;
            v_failed_details := v_failed_details || array_fill(NULL::text, ARRAY[cardinality(v_result.failed_ids)]);
            v_deferred_ids := v_deferred_ids || v_result.deferred_ids;
            v_requeued_ids := v_requeued_ids || v_result.requeued_ids;
            EXIT WHEN v_round = 0;
        EXCEPTION
            WHEN OTHERS THEN  -- never a cancel or statement_timeout: OTHERS does not match them
                GET STACKED DIAGNOSTICS v_sqlstate = RETURNED_SQLSTATE, v_error = MESSAGE_TEXT,
                                        v_table = TABLE_NAME;
                IF v_sqlstate NOT IN ('55P03', '40P01', '40001', 'SS010') THEN
                    -- the platform's tables rejected the write (a constraint names its table)
                    v_sqlstate := CASE WHEN v_table = 'trainer_allocations' THEN 'SS007' ELSE 'SS009' END;
                END IF;
                IF v_round = 0 THEN
                    retry_reason := v_sqlstate || ': ' || v_error;
                    IF v_sqlstate = '55P03' THEN
                        -- retrying each purchase would wait lock_timeout again per purchase
                        v_deferred_ids := v_deferred_ids || v_ids;
                        RAISE NOTICE 'session-sync: the set-based write of % purchases waited for another transaction''s uncommitted write (%); all deferred (left queued)',
                            cardinality(v_ids), retry_reason;
                        EXIT;
                    END IF;
                ELSIF v_sqlstate IN ('SS007', 'SS009') THEN
                    v_failed_ids := v_failed_ids || v_batch;
                    v_failed_reasons := v_failed_reasons
                        || CASE v_sqlstate WHEN 'SS007' THEN 'ALLOCATION_FAILED' ELSE 'SESSION_WRITE_FAILED' END;
                    v_failed_details := v_failed_details || v_error;
                ELSE
                    -- SS010, 40001, 40P01, 55P03: nothing is wrong with the purchase
                    v_deferred_ids := v_deferred_ids || v_batch;
                END IF;
        END;
        v_round := v_round + 1;
    END LOOP;
    IF purchases_retried > 0 THEN
        RAISE NOTICE 'session-sync: the set-based write of % purchases failed (%); retried one by one: % synced, % failed, % deferred (left queued)',
            cardinality(v_ids), retry_reason, purchases_synced, cardinality(v_failed_ids),
            cardinality(v_deferred_ids);
    END IF;
    PERFORM set_config('session_sync.applying', 'off', true);
    PERFORM set_config('lock_timeout', v_lock_timeout, true);
    purchases_failed := cardinality(v_failed_ids);

    -- Records of dropped keys with nothing left to do (the key is back, or gone from a session
    -- it may stay on; a run also forgets those of deleted purchase sessions). Rows another
    -- transaction holds are skipped; a 40001 or a lock wait past 50 ms gives the cleanup up.
    BEGIN
        PERFORM set_config('lock_timeout', '50ms', true);
        IF EXISTS (SELECT 1 FROM public.session_sync_dropped_keys) THEN
        DELETE FROM public.session_sync_dropped_keys d
        WHERE d.ctid = ANY (ARRAY(
            SELECT k.ctid
            FROM public.session_sync_dropped_keys k
            JOIN public.purchase_sessions ps ON ps.id = k.session_id
            WHERE ps.purchase_id = ANY (v_ids)
              AND coalesce(jsonb_typeof(ps.metadata) = 'object' AND ps.metadata ? k.key, false)
            FOR UPDATE OF k SKIP LOCKED)
          || ARRAY(
            SELECT k.ctid
            FROM public.session_sync_dropped_keys k
            JOIN public.purchase_sessions ps ON ps.id = k.session_id
            JOIN public.tutoring_sessions t ON t.id = k.session_id
            WHERE ps.purchase_id = ANY (v_ids)
              AND (NOT coalesce(jsonb_typeof(t.metadata) = 'object' AND t.metadata ? k.key, false)
                   OR session_sync.session_sync_protected(t.status)
                   OR NOT session_sync.session_sync_owned_by(t.metadata, ps.purchase_id))
            FOR UPDATE OF k FOR SHARE OF t SKIP LOCKED)
          || ARRAY(
            SELECT k.ctid
            FROM public.session_sync_dropped_keys k
            WHERE p_source <> 'trigger'
              AND NOT EXISTS (SELECT 1 FROM public.purchase_sessions ps WHERE ps.id = k.session_id)
            FOR UPDATE OF k SKIP LOCKED));
        END IF;
        PERFORM set_config('lock_timeout', v_lock_timeout, true);
    EXCEPTION
        WHEN serialization_failure OR lock_not_available THEN
            NULL;  -- the savepoint's rollback restores lock_timeout too
    END;
    purchases_deferred := cardinality(v_deferred_ids);

    IF purchases_failed > 0 THEN
        -- The earlier rows of the same failure are folded in; one another transaction holds is
        -- skipped (the next failure folds it). Only in READ COMMITTED, where it cannot raise 40001.
        WITH failed AS (
            SELECT f.purchase_id, f.reason, f.detail
            FROM unnest(v_failed_ids, v_failed_reasons, v_failed_details) AS f(purchase_id, reason, detail)
        ), earlier AS (
            DELETE FROM public.session_sync_failures old
            WHERE old.failure_id IN (
                SELECT o.failure_id
                FROM public.session_sync_failures o
                JOIN failed f ON f.purchase_id = o.purchase_id AND f.reason = o.reason
                WHERE current_setting('transaction_isolation') = 'read committed'
                FOR UPDATE OF o SKIP LOCKED)
            RETURNING old.purchase_id, old.reason, old.occurrences, old.first_failed_at
        )
        INSERT INTO public.session_sync_failures
            (run_id, purchase_id, reason, message, hint, source, occurrences, first_failed_at)
        SELECT p_run_id, f.purchase_id, f.reason,
               session_sync.session_sync_failure_message(f.reason, f.purchase_id, f.detail),
               session_sync.session_sync_hint(f.reason), p_source,
               1 + coalesce((SELECT sum(e.occurrences) FROM earlier e
                             WHERE e.purchase_id = f.purchase_id AND e.reason = f.reason), 0),
               coalesce((SELECT min(e.first_failed_at) FROM earlier e
                         WHERE e.purchase_id = f.purchase_id AND e.reason = f.reason), clock_timestamp())
        FROM failed f;
    END IF;

    -- The change log: the rows this call saw go, by ctid, for the purchases left in sync; a row
    -- another transaction holds is skipped, a 40001 or a lock wait past 50 ms gives it up. The
    -- failures above and the queue below wait as the caller's statements would.
    BEGIN
        PERFORM set_config('lock_timeout', '50ms', true);
        DELETE FROM public.session_sync_changes c
        WHERE c.ctid = ANY (ARRAY(
            SELECT q.ctid FROM public.session_sync_changes q
            WHERE q.purchase_id = ANY (v_ids)
              AND NOT (q.purchase_id = ANY (v_failed_ids || v_deferred_ids || v_requeued_ids))
              AND pg_visible_in_snapshot(q.xact, v_snapshot)
            FOR UPDATE OF q SKIP LOCKED));
        PERFORM set_config('lock_timeout', v_lock_timeout, true);
    EXCEPTION
        WHEN serialization_failure OR lock_not_available THEN
            NULL;
    END;
    IF purchases_failed + purchases_deferred + cardinality(v_requeued_ids) > 0 THEN
        -- Deferred and requeued purchases always get a row of their own (a concurrent run may
        -- delete the ones it saw); a failing one only when it has none, so the log does not grow.
        PERFORM session_sync.session_sync_enqueue(v_deferred_ids || v_requeued_ids || ARRAY(
            SELECT f.id FROM unnest(v_failed_ids) AS f(id)
            WHERE NOT EXISTS (SELECT 1 FROM public.session_sync_changes c WHERE c.purchase_id = f.id)));
    END IF;
END;
$$;

COMMENT ON FUNCTION session_sync.session_sync_write IS 'session_sync_write(p_purchase_ids uuid[], p_run_id bigint, p_source text)
  -> (purchases_synced, purchases_failed, purchases_deferred, purchases_retried,
      sessions_created, sessions_updated, retry_reason, purchases_examined)
Contract (internal; the sync at COMMIT, sync_purchase_sessions, sync_all_sessions and the
backfill call it): the one place that writes tutoring sessions and allocations. Examines the
given purchases (NULL: every queued one) and, in one statement, classifies their sessions
(session_sync_session_state), locks the drifted ones (FOR UPDATE SKIP LOCKED), creates the
missing approved allocations (requested_by the student; metadata sessionCount, isSundayOnly,
schedule, purchaseId, bookingId), inserts the missing sessions and updates the drifted ones
(metadata merged onto the row as it is, the dropped keys and their records removed).
  * A purchase that cannot be synced is recorded in session_sync_failures (one row per purchase
    and reason, occurrences counted; a message naming ids only), left untouched and queued.
  * Deferred (nothing written, queued): a purchase whose tutoring sessions another transaction
    holds or changed since classified, or whose sync at COMMIT another transaction holds
    (try-locks at COMMIT, probes in a run), or whose write waits past 50 ms for a lock. The
    clean-ups give up past 50 ms; only recording failures and queuing wait (on the package''s
    own tables), so a COMMIT never fails for a lock.
  * Should the set-based write fail, each purchase is retried alone under its own savepoint.
  * purchases_examined = synced + failed + deferred + those with nothing to write.
  * The change-log rows it read go for the purchases left in sync (outside READ COMMITTED a
    written one stays queued); a row appended meanwhile stays.
Never raises for bad data; a run, backfill or sync_purchase_sessions() refuses SERIALIZABLE
(25001). A cancel raises and the caller''s transaction undoes all of it.
Runs as its owner (SECURITY DEFINER) with a fixed search_path.';

-- sql/functions/sync_all_sessions.sql
CREATE OR REPLACE FUNCTION public.sync_all_sessions(
    p_dry_run boolean DEFAULT false,
    p_source text DEFAULT 'manual'
)
RETURNS TABLE (
    run_id bigint,
    purchases_synced integer,
    purchases_failed integer,
    sessions_created integer,
    sessions_updated integer,
    purchases_examined integer,
    purchases_in_sync integer,
    purchases_deferred integer
)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_run_id bigint;
    v_result record;
    v_in_sync integer;
BEGIN
    IF p_dry_run IS NULL OR p_source IS NULL OR p_source = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = '22004',
            MESSAGE = 'sync_all_sessions: p_dry_run and p_source must not be NULL or empty',
            HINT = 'Call SELECT * FROM sync_all_sessions(); or sync_all_sessions(p_dry_run => true).';
    END IF;
    IF p_source !~ '^[a-z][a-z0-9_-]{0,31}$' OR p_source IN ('trigger', 'batched') THEN
        RAISE EXCEPTION USING
            ERRCODE = '22023',
            MESSAGE = 'sync_all_sessions: p_source must be a short lowercase label (letters, digits, _ and -, at most 32), and not trigger or batched, which name the package''s own runs',
            HINT = 'e.g. sync_all_sessions(p_source => ''cron'').';
    END IF;

    IF p_dry_run THEN
        -- What a run would do, read from the queue and the views; nothing is written.
        WITH queued AS (
            SELECT DISTINCT q.purchase_id FROM public.session_sync_changes q
        ), work AS (
            SELECT s.purchase_id,
                   coalesce(min(s.reason),
                            CASE WHEN bool_or(s.state = 'conflict') THEN 'SESSION_CONFLICT' END) AS reason,
                   count(*) FILTER (WHERE s.state = 'missing') AS missing,
                   count(*) FILTER (WHERE s.state = 'drifted') AS drifted
            FROM public.session_sync_session_state s
            WHERE s.purchase_id IN (SELECT q.purchase_id FROM queued q)
              AND s.state IN ('missing', 'drifted', 'conflict')
            GROUP BY s.purchase_id
        )
        SELECT (count(*) FILTER (WHERE w.reason IS NULL))::integer AS purchases_synced,
               (count(*) FILTER (WHERE w.reason IS NOT NULL))::integer AS purchases_failed,
               0 AS purchases_deferred,
               (coalesce(sum(w.missing) FILTER (WHERE w.reason IS NULL), 0))::integer AS sessions_created,
               (coalesce(sum(w.drifted) FILTER (WHERE w.reason IS NULL), 0))::integer AS sessions_updated,
               (SELECT count(*) FROM queued)::integer AS purchases_examined
        INTO v_result
        FROM work w;
    ELSE
        -- One run at a time: a row lock on the package's own table, held to the end of the
        -- transaction, which no role without the package's rights can take.
        PERFORM 1 FROM public.session_sync_locks l WHERE l.name = 'run' FOR UPDATE;
        PERFORM session_sync.session_sync_reap_backfills();
        INSERT INTO public.session_sync_runs (source, dry_run, outcome, backend_pid)
        VALUES (p_source, p_dry_run, 'running', pg_backend_pid())
        RETURNING session_sync_runs.run_id INTO v_run_id;
        SELECT * INTO v_result FROM session_sync.session_sync_write(NULL, v_run_id, p_source);
    END IF;
    v_in_sync := v_result.purchases_examined - v_result.purchases_synced - v_result.purchases_failed
                 - v_result.purchases_deferred;

    IF NOT p_dry_run THEN
        UPDATE public.session_sync_runs r
        SET finished_at = clock_timestamp(),
            outcome = 'finished',
            purchases_synced = v_result.purchases_synced,
            purchases_failed = v_result.purchases_failed,
            purchases_deferred = v_result.purchases_deferred,
            purchases_retried = v_result.purchases_retried,
            retry_reason = v_result.retry_reason,
            sessions_created = v_result.sessions_created,
            sessions_updated = v_result.sessions_updated,
            purchases_examined = v_result.purchases_examined,
            purchases_in_sync = v_in_sync
        WHERE r.run_id = v_run_id;
    END IF;

    RAISE NOTICE '%: % purchases examined: % synced, % with nothing to write, % failed, % deferred (another transaction held their sessions; still queued); % sessions created, % updated%',
        CASE WHEN p_dry_run THEN 'session-sync dry run' ELSE 'session-sync run ' || v_run_id END,
        v_result.purchases_examined, v_result.purchases_synced, v_in_sync, v_result.purchases_failed,
        v_result.purchases_deferred, v_result.sessions_created, v_result.sessions_updated,
        CASE WHEN p_dry_run THEN ' (dry run: nothing written)' ELSE '' END;

    RETURN QUERY SELECT v_run_id, v_result.purchases_synced, v_result.purchases_failed,
                        v_result.sessions_created, v_result.sessions_updated, v_result.purchases_examined,
                        v_in_sync, v_result.purchases_deferred;
END;
$$;

COMMENT ON FUNCTION public.sync_all_sessions IS 'sync_all_sessions(p_dry_run boolean DEFAULT false, p_source text DEFAULT ''manual'')
  -> one row (run_id, purchases_synced, purchases_failed, sessions_created, sessions_updated,
              purchases_examined, purchases_in_sync, purchases_deferred)
Contract: syncs every queued purchase (session_sync_queue; SELECT session_sync_enqueue() first
queues every eligible one) that is eligible and has a missing or drifted tutoring session, with
no cap, set-based (session_sync_write). A purchase that cannot be synced is recorded in
session_sync_failures and left untouched, never half synced, never stopping the others; one
whose rows another transaction holds is deferred and stays queued. purchases_examined =
purchases_synced + purchases_in_sync + purchases_failed + purchases_deferred; the run is
recorded in session_sync_runs. p_dry_run => true writes nothing (run_id NULL; works READ ONLY
and on a standby). Runs and backfill batches queue behind one another (a row lock in
session_sync_locks that only the package''s owner can take). A NOTICE reports the outcome.
p_source labels the run (''manual'', ''cli'', ''cron'', ...; ''trigger'' and ''batched'' are
refused, 22023). SECURITY DEFINER: callers need EXECUTE (session_sync_runner), no table rights.';

-- sql/functions/sync_purchase_sessions.sql
CREATE OR REPLACE FUNCTION public.sync_purchase_sessions(p_purchase_id uuid)
RETURNS TABLE (
    purchase_id uuid,
    allocation_id uuid,
    sessions_created integer,
    sessions_updated integer,
    sessions_unchanged integer,
    sessions_protected integer
)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_reason text;
    v_conflicts integer;
    v_protected integer;
    v_in_sync integer;
    v_result record;
    v_failure record;
    v_allocation_id uuid;
BEGIN
    IF p_purchase_id IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = '22004',
            MESSAGE = 'sync_purchase_sessions: p_purchase_id must not be NULL',
            HINT = 'Pass the id of a course_purchases row: SELECT * FROM sync_purchase_sessions(''<purchase id>'');';
    END IF;

    SELECT c.reason INTO v_reason FROM public.session_sync_purchase_check c WHERE c.purchase_id = p_purchase_id;
    IF NOT FOUND THEN
        v_reason := 'PURCHASE_NOT_FOUND';
    END IF;
    IF v_reason IS NOT NULL THEN
        PERFORM session_sync.session_sync_raise(v_reason, p_purchase_id);
    END IF;

    SELECT count(*) FILTER (WHERE s.state = 'conflict') INTO v_conflicts
    FROM public.session_sync_session_state s
    WHERE s.purchase_id = p_purchase_id;
    IF v_conflicts > 0 THEN
        PERFORM session_sync.session_sync_raise('SESSION_CONFLICT', p_purchase_id,
            format('the ids of %s of its purchase sessions are taken by tutoring sessions that are not its own (their metadata.purchaseId is absent or names another purchase); as the package owner, see SELECT session_id FROM session_sync_session_state WHERE purchase_id = %L AND state = %L',
                   v_conflicts, p_purchase_id, 'conflict'));
    END IF;

    -- another transaction holding one of its sessions: up to 20 tries, 50 ms apart, never a lock wait
    FOR v_attempt IN 1 .. 20 LOOP
        SELECT * INTO v_result FROM session_sync.session_sync_write(ARRAY[p_purchase_id], NULL, 'manual');
        EXIT WHEN v_result.purchases_deferred = 0;
        PERFORM pg_sleep(0.05);
    END LOOP;
    IF v_result.purchases_failed > 0 THEN
        SELECT f.reason, f.message, f.hint, r.sqlstate INTO v_failure
        FROM public.session_sync_failures f
        JOIN session_sync.session_sync_reasons() r ON r.reason = f.reason
        WHERE f.purchase_id = p_purchase_id
        ORDER BY f.failure_id DESC
        LIMIT 1;
        RAISE EXCEPTION USING ERRCODE = v_failure.sqlstate, MESSAGE = v_failure.message, HINT = v_failure.hint;
    END IF;
    IF v_result.purchases_deferred > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = '55P03',
            MESSAGE = format('purchase %s: another transaction is changing one of its tutoring sessions right now; nothing was written',
                             p_purchase_id),
            HINT = 'Retry in a moment; the sync never waits for (or deadlocks with) the platform''s own transactions.';
    END IF;

    SELECT count(*) FILTER (WHERE s.state = 'protected'),
           count(*) FILTER (WHERE s.state = 'in_sync')
    INTO v_protected, v_in_sync
    FROM public.session_sync_session_state s
    WHERE s.purchase_id = p_purchase_id;
    v_in_sync := v_in_sync - v_result.sessions_created - v_result.sessions_updated;

    SELECT c.allocation_id INTO v_allocation_id
    FROM public.session_sync_purchase_check c WHERE c.purchase_id = p_purchase_id;

    RETURN QUERY SELECT p_purchase_id, v_allocation_id, v_result.sessions_created, v_result.sessions_updated,
                        v_in_sync, v_protected;
END;
$$;

COMMENT ON FUNCTION public.sync_purchase_sessions IS 'sync_purchase_sessions(p_purchase_id uuid)
  -> one row (purchase_id, allocation_id, sessions_created, sessions_updated,
              sessions_unchanged, sessions_protected)
Contract: syncs one purchase, all or nothing (session_sync_expected''s mapping): creates each
missing tutoring session, updates each drifted, non-protected one, reuses the approved (else
active) allocation for (primary student, trainer, course) or creates one (after a trainer
change the sessions move to the new trainer and allocation). Protected sessions are counted,
never changed. Idempotent: a second call reports 0 created and 0 updated; a purchase with no
sessions returns zeros.
A purchase it cannot sync raises an error whose message begins with the reason code
(session_sync_reasons() lists them with their SQLSTATEs and hints) and changes nothing.
It never waits on another transaction''s lock: when one holds (or has just changed) one of
the purchase''s tutoring sessions, it tries again up to 20 times, 50 ms apart, and then
raises SQLSTATE 55P03 having written nothing; retry.
Runs as its owner (SECURITY DEFINER) with a fixed search_path: callers need EXECUTE
(role session_sync_runner), not rights on the platform''s tables.';

-- sql/functions/session_sync_hint.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_hint(p_reason text)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN (SELECT r.hint FROM session_sync.session_sync_reasons() r WHERE r.reason = p_reason);

COMMENT ON FUNCTION session_sync.session_sync_hint IS 'session_sync_hint(p_reason text) -> text
Contract: the hint of a reason code as session_sync_reasons() lists it; NULL for an unknown code.';

-- sql/functions/session_sync_home_location.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_home_location(p_location jsonb)
RETURNS jsonb
LANGUAGE sql
STABLE PARALLEL SAFE
RETURN CASE
    WHEN session_sync.session_sync_location_problem(p_location) IS NULL THEN
        jsonb_build_object(
            'latitude', session_sync.session_sync_coordinate(p_location -> 'latitude'),
            'longitude', session_sync.session_sync_coordinate(p_location -> 'longitude'))
        || CASE
            WHEN jsonb_typeof(p_location -> 'address') = 'string'
             AND (p_location ->> 'address') <> ''
            THEN jsonb_build_object('address', p_location -> 'address')
            ELSE '{}'::jsonb
        END
END;

COMMENT ON FUNCTION session_sync.session_sync_home_location IS 'session_sync_home_location(p_location jsonb) -> jsonb
Contract: a tutoring session''s student_home_location for a purchase''s student_location:
{"latitude": <number>, "longitude": <number>} plus "address" when it is a non-empty string;
NULL when session_sync_location_problem() is not NULL. Never raises. STABLE, as
jsonb_build_object is, so that it is inlined.';

-- sql/functions/session_sync_location_detail.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_location_detail(p_location jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN p_location IS NULL OR jsonb_typeof(p_location) = 'null' THEN 'student_location is null'
    WHEN jsonb_typeof(p_location) <> 'object'
        THEN 'student_location is a JSON ' || jsonb_typeof(p_location) || ', not an object'
    ELSE (SELECT string_agg(k.name || ' ' || CASE
              WHEN c.value BETWEEN -k.bound AND k.bound AND c.value <> 0 THEN 'valid'
              WHEN c.value <> round(c.value, 2) AND abs(c.value) <= 1000 THEN 'about ' || round(c.value, 2)
              ELSE session_sync.session_sync_quote(p_location -> k.name, '^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$') END,
              ', ' ORDER BY k.bound)
          FROM (VALUES ('latitude', 90), ('longitude', 180)) AS k(name, bound),
               LATERAL (SELECT session_sync.session_sync_coordinate(p_location -> k.name) AS value) c)
END;

COMMENT ON FUNCTION session_sync.session_sync_location_detail IS 'session_sync_location_detail(p_location jsonb) -> text
Contract: what is wrong with a student_location, for messages: "latitude <what>, longitude
<what>", each "valid" for a usable value (never the value: it locates the student''s home),
"about <value to 2 decimals>" for a finer number out of range, else as session_sync_quote
shows it; or the JSON type when it is not an object. Never the address. Never raises.';

-- sql/functions/session_sync_owner.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_owner(p_metadata jsonb)
RETURNS uuid
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN jsonb_typeof(p_metadata) = 'object' AND jsonb_typeof(p_metadata -> 'purchaseId') = 'string'
    THEN session_sync.session_sync_uuid(p_metadata ->> 'purchaseId')
END;

COMMENT ON FUNCTION session_sync.session_sync_owner IS 'session_sync_owner(p_metadata jsonb) -> uuid
Contract: the purchase a tutoring session belongs to: the UUID in its metadata''s
"purchaseId" (any letter case), else NULL. The one definition of ownership: a tutoring
session with a purchase session''s id that another purchase (or none) owns is a
SESSION_CONFLICT and is never written. Never raises.';

-- sql/functions/session_sync_primary_student.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_primary_student(p_students jsonb)
RETURNS uuid
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN jsonb_typeof(p_students) = 'array'
     AND jsonb_typeof(p_students -> 0) = 'object'
     AND jsonb_typeof((p_students -> 0) -> 'id') = 'string'
    THEN session_sync.session_sync_uuid((p_students -> 0) ->> 'id')
END;

COMMENT ON FUNCTION session_sync.session_sync_primary_student IS 'session_sync_primary_student(p_students jsonb) -> uuid
Contract: the UUID string "id" of the first element of course_purchases.students, else NULL
(the purchase cannot be synced: NO_STUDENT). Never raises.';

-- sql/functions/session_sync_students_problem.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_students_problem(p_students jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN session_sync.session_sync_primary_student(p_students) IS NOT NULL THEN NULL
    WHEN p_students IS NULL OR jsonb_typeof(p_students) = 'null' THEN 'students is null'
    WHEN jsonb_typeof(p_students) <> 'array'
        THEN 'students is a JSON ' || jsonb_typeof(p_students) || ', not an array'
    WHEN jsonb_array_length(p_students) = 0 THEN 'students is an empty array'
    WHEN jsonb_typeof(p_students -> 0) <> 'object'
        THEN 'the first element of students is a JSON ' || jsonb_typeof(p_students -> 0) || ', not an object'
    WHEN NOT ((p_students -> 0) ? 'id') THEN 'the first student has no "id"'
    ELSE 'the first student''s id is '
         || session_sync.session_sync_quote((p_students -> 0) -> 'id', NULL) || ', not a UUID'
END;

COMMENT ON FUNCTION session_sync.session_sync_students_problem IS 'session_sync_students_problem(p_students jsonb) -> text
Contract: why course_purchases.students names no primary student, quoting only the shape of
the first student''s "id" (session_sync_quote), never a name or contact detail; NULL when
session_sync_primary_student() finds one. Never raises.';

-- sql/functions/session_sync_owned_by.sql
CREATE OR REPLACE FUNCTION session_sync.session_sync_owned_by(p_metadata jsonb, p_purchase_id uuid)
RETURNS boolean
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
RETURN coalesce(p_metadata ->> 'purchaseId' = p_purchase_id::text, false)
    OR coalesce(session_sync.session_sync_owner(p_metadata) = p_purchase_id, false);

COMMENT ON FUNCTION session_sync.session_sync_owned_by IS 'session_sync_owned_by(p_metadata jsonb, p_purchase_id uuid) -> boolean
Contract: session_sync_owner(p_metadata) = p_purchase_id, never NULL. The canonical text of
the id (as the sync writes it) is compared first, which spares the UUID check per row.';

-- sql/api/public.session_sync_enqueue.sql
CREATE OR REPLACE FUNCTION public.session_sync_enqueue(p_purchase_ids uuid[] DEFAULT NULL)
RETURNS integer
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT session_sync.session_sync_enqueue(p_purchase_ids);
END;

COMMENT ON FUNCTION public.session_sync_enqueue IS 'session_sync_enqueue(p_purchase_ids uuid[] DEFAULT NULL) -> integer
Contract (API): queues the given purchases, or with NULL every eligible one, for the next
sync_all_sessions() or backfill; returns how many were queued. The public face of
session_sync.session_sync_enqueue().';

-- sql/api/public.session_sync_reasons.sql
CREATE OR REPLACE FUNCTION public.session_sync_reasons()
RETURNS TABLE (reason text, sqlstate text, hint text)
LANGUAGE sql
IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT r.reason, r.sqlstate, r.hint FROM session_sync.session_sync_reasons() r;
END;

COMMENT ON FUNCTION public.session_sync_reasons IS 'session_sync_reasons() -> TABLE(reason, sqlstate, hint)
Contract (API): the reasons a purchase cannot be synced, with the SQLSTATE
sync_purchase_sessions() raises for each and its hint. The public face of
session_sync.session_sync_reasons().';

-- sql/views/session_sync_purchase_check.sql
CREATE OR REPLACE VIEW public.session_sync_purchase_check AS
SELECT
    p.id AS purchase_id,
    p.booking_id,
    p.trainer_id,
    p.course_id,
    p.status AS purchase_status,
    p.delivery_mode,
    p.total_sessions,
    p.start_date,
    p.preferred_time_slot,
    p.created_at,
    session_sync.session_sync_eligible(p.trainer_id, p.status) AS eligible,
    x.student_id,
    x.home_location,
    CASE
        WHEN p.trainer_id IS NULL THEN 'NO_TRAINER'
        WHEN p.status IS DISTINCT FROM 'ASSIGNED' THEN 'NOT_ASSIGNED'
        WHEN x.student_id IS NULL THEN 'NO_STUDENT'
        ELSE x.location_problem
    END AS reason,
    x.allocation_id
FROM public.course_purchases p
-- OFFSET 0 keeps these subqueries from being flattened: each value is computed once per
-- purchase, not once per session row after the views join purchase_sessions, nor once per use.
CROSS JOIN LATERAL (
    SELECT session_sync.session_sync_primary_student(p.students) AS student_id,
           session_sync.session_sync_location_problem(p.student_location) AS location_problem
    OFFSET 0
) s
CROSS JOIN LATERAL (
    SELECT s.student_id,
           s.location_problem,
           CASE WHEN s.location_problem IS NULL
                THEN session_sync.session_sync_home_location(p.student_location) END AS home_location,
           (SELECT al.id FROM public.trainer_allocations al
            WHERE al.student_id = s.student_id
              AND al.trainer_id = p.trainer_id AND al.course_id = p.course_id
              AND session_sync.session_sync_allocation_usable(al.status)
            ORDER BY al.status = 'approved' DESC, al.requested_at, al.id
            LIMIT 1) AS allocation_id
    OFFSET 0
) x;

COMMENT ON VIEW public.session_sync_purchase_check IS 'session_sync_purchase_check: one row per course_purchases row.
Contract: whether the purchase is eligible (trainer_id set and status = ''ASSIGNED''), its
primary student, the student_home_location its tutoring sessions get, and `reason`:
NULL when it can be synced, else the first reason code that stops it, in the order
NO_TRAINER, NOT_ASSIGNED, NO_STUDENT, MISSING_LOCATION / INVALID_COORDINATES.';
COMMENT ON COLUMN public.session_sync_purchase_check.purchase_id IS 'the purchase (course_purchases.id)';
COMMENT ON COLUMN public.session_sync_purchase_check.booking_id IS 'its booking';
COMMENT ON COLUMN public.session_sync_purchase_check.trainer_id IS 'its trainer (NULL while none is assigned)';
COMMENT ON COLUMN public.session_sync_purchase_check.course_id IS 'its course';
COMMENT ON COLUMN public.session_sync_purchase_check.purchase_status IS 'its status (ASSIGNED, WAITLISTED, ...)';
COMMENT ON COLUMN public.session_sync_purchase_check.delivery_mode IS 'its delivery mode (SUNDAY_ONLY sessions last 80 minutes)';
COMMENT ON COLUMN public.session_sync_purchase_check.total_sessions IS 'its number of sessions (the new allocation''s sessionCount)';
COMMENT ON COLUMN public.session_sync_purchase_check.start_date IS 'its start date (the new allocation''s schedule.date)';
COMMENT ON COLUMN public.session_sync_purchase_check.preferred_time_slot IS 'its preferred time slot (the new allocation''s schedule.timeSlot)';
COMMENT ON COLUMN public.session_sync_purchase_check.created_at IS 'when it was created (the older purchase''s allocation wins a tie)';
COMMENT ON COLUMN public.session_sync_purchase_check.eligible IS 'trainer_id set and status ASSIGNED: the sync writes its sessions';
COMMENT ON COLUMN public.session_sync_purchase_check.student_id IS 'the primary student''s id (students->0->>''id''), NULL when absent or not a uuid';
COMMENT ON COLUMN public.session_sync_purchase_check.home_location IS 'the student''s home location as the sync writes it (JSON numbers, plus a non-empty address); NULL when invalid';
COMMENT ON COLUMN public.session_sync_purchase_check.allocation_id IS 'the approved (else active) allocation of (student, trainer, course) its sessions use; NULL while none exists';
COMMENT ON COLUMN public.session_sync_purchase_check.reason IS 'the reason code that stops its sync (NO_TRAINER, NOT_ASSIGNED, NO_STUDENT, MISSING_LOCATION, INVALID_COORDINATES); NULL when it can be synced';

-- sql/views/session_sync_queue.sql
CREATE OR REPLACE VIEW public.session_sync_queue AS
SELECT c.purchase_id,
       max(c.change_id) AS version,
       min(c.queued_at) AS queued_at,
       count(*) AS changes
FROM public.session_sync_changes c
GROUP BY c.purchase_id;

COMMENT ON VIEW public.session_sync_queue IS 'session_sync_queue: the purchases the next sync_all_sessions() or backfill will examine,
one row per purchase of the change log session_sync_changes.';
COMMENT ON COLUMN public.session_sync_queue.purchase_id IS 'a purchase the next run examines';
COMMENT ON COLUMN public.session_sync_queue.version IS 'its newest change_id (a run that read an older one leaves it queued)';
COMMENT ON COLUMN public.session_sync_queue.queued_at IS 'when it was first queued (the oldest of its rows)';
COMMENT ON COLUMN public.session_sync_queue.changes IS 'how many change-log rows it has';

-- sql/views/session_sync_status.sql
CREATE OR REPLACE VIEW public.session_sync_status AS
SELECT
    q.queued_purchases,
    q.oldest_queued_at,
    coalesce(extract(epoch FROM now() - q.oldest_queued_at), 0)::bigint AS oldest_queued_seconds,
    (SELECT count(DISTINCT f.purchase_id)
     FROM public.session_sync_failures f
     WHERE EXISTS (SELECT 1 FROM public.session_sync_changes c WHERE c.purchase_id = f.purchase_id)
    ) AS failing_purchases,
    r.run_id AS last_run_id,
    r.source AS last_run_source,
    r.outcome AS last_run_outcome,
    r.started_at AS last_run_started_at,
    r.finished_at AS last_run_finished_at,
    r.purchases_failed AS last_run_purchases_failed,
    r.purchases_deferred AS last_run_purchases_deferred,
    EXISTS (
        SELECT 1
        FROM public.session_sync_runs b
        JOIN pg_stat_activity a ON a.pid = b.backend_pid
        WHERE b.source = 'batched' AND b.outcome = 'running'
          AND (a.backend_start IS NULL OR a.backend_start = b.backend_start)
    ) AS backfill_running,
    (SELECT count(*) FROM public.session_sync_dropped_keys) AS dropped_keys_pending
FROM (
    SELECT count(DISTINCT c.purchase_id) AS queued_purchases, min(c.queued_at) AS oldest_queued_at
    FROM public.session_sync_changes c
) q
LEFT JOIN LATERAL (
    SELECT *
    FROM public.session_sync_runs r
    WHERE NOT r.dry_run
    ORDER BY r.run_id DESC
    LIMIT 1
) r ON true;

COMMENT ON VIEW public.session_sync_status IS 'session_sync_status: the package''s health in one row, always; cheap enough to poll every
few seconds (it never reads the platform''s tables). Alert on oldest_queued_seconds above
your run interval, failing_purchases above 0, last_run_outcome = ''interrupted''.';
COMMENT ON COLUMN public.session_sync_status.queued_purchases IS 'purchases waiting in the change log for the next run';
COMMENT ON COLUMN public.session_sync_status.oldest_queued_at IS 'when the oldest of them was queued (NULL when none)';
COMMENT ON COLUMN public.session_sync_status.oldest_queued_seconds IS 'its age in seconds (0 when none): alert when it keeps growing';
COMMENT ON COLUMN public.session_sync_status.failing_purchases IS 'queued purchases with a recorded failure (their data needs a person; session_sync_open_failures says why)';
COMMENT ON COLUMN public.session_sync_status.last_run_id IS 'the newest run of sync_all_sessions() or of the backfill';
COMMENT ON COLUMN public.session_sync_status.last_run_source IS 'its source';
COMMENT ON COLUMN public.session_sync_status.last_run_outcome IS 'running, finished or interrupted';
COMMENT ON COLUMN public.session_sync_status.last_run_started_at IS 'when it started';
COMMENT ON COLUMN public.session_sync_status.last_run_finished_at IS 'when it finished (NULL while running)';
COMMENT ON COLUMN public.session_sync_status.last_run_purchases_failed IS 'its purchases that failed';
COMMENT ON COLUMN public.session_sync_status.last_run_purchases_deferred IS 'its purchases another transaction held (still queued)';
COMMENT ON COLUMN public.session_sync_status.backfill_running IS 'a backfill''s backend is alive and running it now (a cut-off one does not count)';
COMMENT ON COLUMN public.session_sync_status.dropped_keys_pending IS 'dropped metadata keys the sync has yet to remove';

-- sql/views/session_sync_expected.sql
CREATE OR REPLACE VIEW public.session_sync_expected AS
SELECT
    ps.id AS session_id,
    c.purchase_id,
    c.reason,
    c.allocation_id,
    c.student_id,
    c.trainer_id,
    c.course_id,
    ps.session_date AS scheduled_date,
    ps.session_time AS scheduled_time,
    CASE WHEN c.delivery_mode = 'SUNDAY_ONLY' THEN 80 ELSE 40 END AS duration,
    CASE ps.status
        WHEN 'completed' THEN 'completed'
        WHEN 'cancelled' THEN 'cancelled'
        ELSE 'scheduled'
    END AS status,
    c.home_location AS student_home_location,
    CASE WHEN jsonb_typeof(ps.metadata) = 'object' THEN ps.metadata ELSE '{}'::jsonb END
        || jsonb_build_object(
            'purchaseId', c.purchase_id,
            'bookingId', ps.booking_id,
            'sessionNumber', ps.session_number,
            'sessionType', ps.session_type) AS metadata,
    ps.booking_id,
    ps.session_number,
    ps.session_type,
    ps.metadata AS session_metadata
FROM public.session_sync_purchase_check c
JOIN public.purchase_sessions ps ON ps.purchase_id = c.purchase_id
WHERE c.eligible;

COMMENT ON VIEW public.session_sync_expected IS 'session_sync_expected: one row per purchase session of an eligible purchase.
Contract: the tutoring session the mapping prescribes for it (see the columns); `reason` is
the purchase''s (NULL when it can be synced); the purchase session''s own booking_id,
session_number, session_type and metadata follow, for the drift test.
The mapped columns (allocation_id to student_home_location, each the tutoring_sessions column
of that name) are listed again by the drift test, the write and the triggers'' WHEN clauses:
tests/test_mapping.py checks every list against this view.';
COMMENT ON COLUMN public.session_sync_expected.session_id IS 'the purchase session''s id: the tutoring session''s id';
COMMENT ON COLUMN public.session_sync_expected.purchase_id IS 'its purchase';
COMMENT ON COLUMN public.session_sync_expected.reason IS 'the purchase''s reason code (NULL when it can be synced)';
COMMENT ON COLUMN public.session_sync_expected.allocation_id IS 'the approved (else active) allocation of (student, trainer, course); NULL while none exists';
COMMENT ON COLUMN public.session_sync_expected.student_id IS 'the primary student';
COMMENT ON COLUMN public.session_sync_expected.trainer_id IS 'the purchase''s trainer';
COMMENT ON COLUMN public.session_sync_expected.course_id IS 'the purchase''s course';
COMMENT ON COLUMN public.session_sync_expected.scheduled_date IS 'the purchase session''s session_date';
COMMENT ON COLUMN public.session_sync_expected.scheduled_time IS 'the purchase session''s session_time';
COMMENT ON COLUMN public.session_sync_expected.duration IS '80 for SUNDAY_ONLY purchases, else 40';
COMMENT ON COLUMN public.session_sync_expected.status IS 'completed and cancelled kept, anything else scheduled';
COMMENT ON COLUMN public.session_sync_expected.student_home_location IS 'the student''s location as JSON numbers (plus a non-empty address)';
COMMENT ON COLUMN public.session_sync_expected.metadata IS 'the purchase session''s metadata with purchaseId, bookingId, sessionNumber and sessionType on top';
COMMENT ON COLUMN public.session_sync_expected.booking_id IS 'the purchase session''s booking_id';
COMMENT ON COLUMN public.session_sync_expected.session_number IS 'the purchase session''s number';
COMMENT ON COLUMN public.session_sync_expected.session_type IS 'the purchase session''s type';
COMMENT ON COLUMN public.session_sync_expected.session_metadata IS 'the purchase session''s own metadata, as stored';

-- sql/views/session_sync_session_state.sql
CREATE OR REPLACE VIEW public.session_sync_session_state AS
SELECT
    e.session_id,
    e.purchase_id,
    e.reason,
    e.metadata,
    t.id IS NOT NULL AS tutoring_exists,
    t.status AS tutoring_status,
    (CASE WHEN jsonb_typeof(t.metadata) = 'object' THEN t.metadata ELSE '{}'::jsonb END
        - coalesce(dk.keys, '{}'::text[])) || e.metadata AS merged_metadata,
    st.state,
    t.xmin AS tutoring_xmin,
    dk.keys AS dropped_keys,
    -- the mapped columns last: a revision adding one appends a column, which CREATE OR REPLACE VIEW allows
    e.allocation_id,
    e.student_id,
    e.trainer_id,
    e.course_id,
    e.scheduled_date,
    e.scheduled_time,
    e.duration,
    e.status,
    e.student_home_location
FROM public.session_sync_expected e
LEFT JOIN public.tutoring_sessions t ON t.id = e.session_id
-- The session's dropped keys, by index, only while the table has rows (the uncorrelated EXISTS
-- runs once per query). OFFSET 0 here and below: computed once per row, not once per use.
CROSS JOIN LATERAL (
    SELECT CASE WHEN EXISTS (SELECT 1 FROM public.session_sync_dropped_keys)
                THEN (SELECT array_agg(DISTINCT d.key) FROM public.session_sync_dropped_keys d
                      WHERE d.session_id = e.session_id)
           END AS keys
    OFFSET 0
) dk
CROSS JOIN LATERAL (
    SELECT
        CASE
            WHEN t.id IS NULL THEN 'missing'
            WHEN NOT session_sync.session_sync_owned_by(t.metadata, e.purchase_id) THEN 'conflict'
            WHEN session_sync.session_sync_protected(t.status) THEN 'protected'
            WHEN e.allocation_id IS NULL
              OR (t.allocation_id, t.student_id, t.trainer_id, t.course_id, t.scheduled_date, t.scheduled_time, t.duration, t.status, t.student_home_location)
                 IS DISTINCT FROM
                 (e.allocation_id, e.student_id, e.trainer_id, e.course_id, e.scheduled_date, e.scheduled_time, e.duration, e.status, e.student_home_location)
              OR NOT coalesce(
                     jsonb_typeof(t.metadata) = 'object'
                     AND t.metadata ->> 'purchaseId' = e.purchase_id::text
                     AND t.metadata ->> 'bookingId' = e.booking_id::text
                     AND t.metadata -> 'sessionNumber' = to_jsonb(e.session_number)
                     AND t.metadata -> 'sessionType' = coalesce(to_jsonb(e.session_type), 'null'::jsonb)
                     AND CASE
                             WHEN coalesce(jsonb_typeof(e.session_metadata), '') <> 'object' THEN true
                             WHEN jsonb_path_exists(e.session_metadata,
                                                    'strict $.* ? (@.type() == "object" || @.type() == "array")')
                                 THEN t.metadata || e.metadata = t.metadata
                             ELSE t.metadata @> (e.session_metadata
                                                 - '{purchaseId,bookingId,sessionNumber,sessionType}'::text[])
                         END,
                     false)
              OR (dk.keys IS NOT NULL
                  AND jsonb_typeof(t.metadata) = 'object'
                  AND t.metadata ?| dk.keys
                  AND (t.metadata - dk.keys) || e.metadata IS DISTINCT FROM t.metadata)
                THEN 'drifted'
            ELSE 'in_sync'
        END AS state
    OFFSET 0
) st;

COMMENT ON VIEW public.session_sync_session_state IS 'session_sync_session_state: session_sync_expected beside the tutoring session it maps to.
Contract: `state` of each purchase session of an eligible purchase:
  missing    no tutoring session has its id
  conflict   a tutoring session has its id but its metadata.purchaseId is absent or names
             another purchase: someone else''s row, never taken over
  protected  the tutoring session has happened or is happening (pending_verification,
             in_progress, pending_confirmation, completed, disputed): never changed
  drifted    a mapped column differs from the mapping (or no allocation exists yet), merging
             the expected metadata keys would change its metadata, or it still has a key its
             purchase session has dropped since the sync copied it (session_sync_dropped_keys)
  in_sync    nothing to do
The metadata test checks the four canonical keys and contains the purchase session''s own keys
(where those hold arrays or objects it compares the merge exactly).';
COMMENT ON COLUMN public.session_sync_session_state.session_id IS 'the purchase session (and tutoring session) id';
COMMENT ON COLUMN public.session_sync_session_state.purchase_id IS 'its purchase';
COMMENT ON COLUMN public.session_sync_session_state.reason IS 'the purchase''s reason code (NULL when it can be synced)';
COMMENT ON COLUMN public.session_sync_session_state.metadata IS 'the expected metadata keys (the purchase session''s and the canonical ones)';
COMMENT ON COLUMN public.session_sync_session_state.tutoring_exists IS 'a tutoring session has the id';
COMMENT ON COLUMN public.session_sync_session_state.tutoring_status IS 'its status';
COMMENT ON COLUMN public.session_sync_session_state.merged_metadata IS 'the metadata an update writes: the tutoring session''s keys but dropped_keys, the expected keys on top';
COMMENT ON COLUMN public.session_sync_session_state.state IS 'missing, conflict, protected, drifted or in_sync (see the view''s description)';
COMMENT ON COLUMN public.session_sync_session_state.tutoring_xmin IS 'the version of the tutoring session that was classified (a write leaves the purchase for later when it changed since)';
COMMENT ON COLUMN public.session_sync_session_state.dropped_keys IS 'keys its purchase session''s metadata dropped that the sync has yet to remove (session_sync_dropped_keys)';
COMMENT ON COLUMN public.session_sync_session_state.allocation_id IS 'the expected allocation_id (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.student_id IS 'the expected student_id (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.trainer_id IS 'the expected trainer_id (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.course_id IS 'the expected course_id (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.scheduled_date IS 'the expected scheduled_date (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.scheduled_time IS 'the expected scheduled_time (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.duration IS 'the expected duration (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.status IS 'the expected status (a mapped column: session_sync_expected)';
COMMENT ON COLUMN public.session_sync_session_state.student_home_location IS 'the expected student_home_location (a mapped column: session_sync_expected)';

-- sql/views/session_sync_verify.sql
CREATE OR REPLACE VIEW public.session_sync_verify AS
SELECT
    st.purchase_sessions,
    (SELECT count(*) FROM public.tutoring_sessions t WHERE t.metadata ->> 'purchaseId' IS NOT NULL)
        AS tutoring_sessions,
    st.missing,
    st.drifted,
    st.conflicts,
    st.protected,
    (SELECT count(*)
     FROM public.tutoring_sessions t
     WHERE t.metadata ->> 'purchaseId' IS NOT NULL
       AND NOT EXISTS (
           SELECT 1
           FROM public.purchase_sessions ps
           JOIN public.course_purchases p ON p.id = ps.purchase_id
           WHERE ps.id = t.id AND session_sync.session_sync_eligible(p.trainer_id, p.status))) AS orphaned
FROM (
    SELECT count(*) AS purchase_sessions,
           count(*) FILTER (WHERE s.state = 'missing') AS missing,
           count(*) FILTER (WHERE s.state = 'drifted') AS drifted,
           count(*) FILTER (WHERE s.state = 'conflict') AS conflicts,
           count(*) FILTER (WHERE s.state = 'protected') AS protected
    FROM public.session_sync_session_state s
) st;

COMMENT ON VIEW public.session_sync_verify IS 'session_sync_verify: the guide''s "Testing the Sync" as one row of counts; missing and
drifted are 0 after a sync_all_sessions() run with no failures.';
COMMENT ON COLUMN public.session_sync_verify.purchase_sessions IS 'purchase sessions of eligible purchases';
COMMENT ON COLUMN public.session_sync_verify.tutoring_sessions IS 'tutoring sessions with a metadata.purchaseId';
COMMENT ON COLUMN public.session_sync_verify.missing IS 'purchase sessions of eligible purchases with no tutoring session (0 after a run without failures)';
COMMENT ON COLUMN public.session_sync_verify.drifted IS 'tutoring sessions whose mapped values differ (0 after a run without failures)';
COMMENT ON COLUMN public.session_sync_verify.conflicts IS 'purchase sessions whose id is taken by a tutoring session that is not their purchase''s';
COMMENT ON COLUMN public.session_sync_verify.protected IS 'tutoring sessions that happened or are happening (never changed)';
COMMENT ON COLUMN public.session_sync_verify.orphaned IS 'tutoring sessions with a purchaseId whose purchase session is gone or whose purchase is no longer eligible (never deleted)';

-- sql/views/session_sync_pending.sql
CREATE OR REPLACE VIEW public.session_sync_pending AS
SELECT
    s.purchase_id,
    s.trainer_id,
    s.course_id,
    count(*)::integer AS purchase_sessions_count,
    count(*) FILTER (WHERE s.tutoring_exists)::integer AS tutoring_sessions_count,
    count(*) FILTER (WHERE s.state = 'missing')::integer AS missing_count,
    count(*) FILTER (WHERE s.state = 'drifted')::integer AS drifted_count,
    count(*) FILTER (WHERE s.state = 'conflict')::integer AS conflict_count,
    CASE WHEN bool_or(s.state = 'conflict') THEN coalesce(min(s.reason), 'SESSION_CONFLICT')
         ELSE min(s.reason) END AS reason
FROM public.session_sync_session_state s
GROUP BY s.purchase_id, s.trainer_id, s.course_id
HAVING bool_or(s.state IN ('missing', 'drifted', 'conflict'));

COMMENT ON VIEW public.session_sync_pending IS 'session_sync_pending: the guide''s Option 3 query, done right: one row per eligible
purchase with a missing, drifted or conflicting session, with its counts and the reason
that will stop its sync.';
COMMENT ON COLUMN public.session_sync_pending.purchase_id IS 'an eligible purchase with a missing, drifted or conflicting session';
COMMENT ON COLUMN public.session_sync_pending.trainer_id IS 'its trainer';
COMMENT ON COLUMN public.session_sync_pending.course_id IS 'its course';
COMMENT ON COLUMN public.session_sync_pending.purchase_sessions_count IS 'its purchase sessions';
COMMENT ON COLUMN public.session_sync_pending.tutoring_sessions_count IS 'how many of them have a tutoring session with their id';
COMMENT ON COLUMN public.session_sync_pending.missing_count IS 'purchase sessions with no tutoring session';
COMMENT ON COLUMN public.session_sync_pending.drifted_count IS 'tutoring sessions whose mapped values differ from the mapping';
COMMENT ON COLUMN public.session_sync_pending.conflict_count IS 'purchase sessions whose id is taken by a tutoring session that is not this purchase''s';
COMMENT ON COLUMN public.session_sync_pending.reason IS 'the reason code that will stop its sync; NULL when it can be synced';

-- sql/views/session_sync_open_failures.sql
CREATE OR REPLACE VIEW public.session_sync_open_failures AS
SELECT
    f.purchase_id,
    f.reason,
    f.message,
    f.hint,
    f.source,
    f.run_id,
    f.failed_at,
    pending.missing_count,
    pending.drifted_count,
    f.occurrences,
    f.first_failed_at
FROM (
    -- occurrences and first_failed_at over every row of the purchase and reason (two
    -- transactions failing it at once may each leave one until the next failure folds them)
    SELECT DISTINCT ON (sf.purchase_id)
        sf.purchase_id, sf.reason, sf.message, sf.hint, sf.source, sf.run_id, sf.failed_at,
        sum(sf.occurrences) OVER (PARTITION BY sf.purchase_id, sf.reason) AS occurrences,
        min(sf.first_failed_at) OVER (PARTITION BY sf.purchase_id, sf.reason) AS first_failed_at
    FROM public.session_sync_failures sf
    ORDER BY sf.purchase_id, sf.failed_at DESC, sf.failure_id DESC
) f
JOIN public.session_sync_pending pending ON pending.purchase_id = f.purchase_id;

COMMENT ON VIEW public.session_sync_open_failures IS 'session_sync_open_failures: what still needs a person: the latest recorded failure of each
purchase still in session_sync_pending, with its sessions missing or drifted now. A purchase
fixed and synced drops out by itself.';
COMMENT ON COLUMN public.session_sync_open_failures.purchase_id IS 'a purchase still not in sync whose sync failed';
COMMENT ON COLUMN public.session_sync_open_failures.reason IS 'the reason code of its latest failure';
COMMENT ON COLUMN public.session_sync_open_failures.message IS 'what is wrong (ids and coordinates only)';
COMMENT ON COLUMN public.session_sync_open_failures.hint IS 'how to fix it';
COMMENT ON COLUMN public.session_sync_open_failures.source IS 'the path that met it last';
COMMENT ON COLUMN public.session_sync_open_failures.run_id IS 'the run that met it last (NULL: the sync at COMMIT or sync_purchase_sessions)';
COMMENT ON COLUMN public.session_sync_open_failures.failed_at IS 'when it last failed';
COMMENT ON COLUMN public.session_sync_open_failures.missing_count IS 'its sessions missing now';
COMMENT ON COLUMN public.session_sync_open_failures.drifted_count IS 'its sessions drifted now';
COMMENT ON COLUMN public.session_sync_open_failures.occurrences IS 'how many times it failed for this reason';
COMMENT ON COLUMN public.session_sync_open_failures.first_failed_at IS 'when it first failed for this reason';

-- sql/procedures/sync_all_sessions_batched.sql
CREATE OR REPLACE PROCEDURE public.sync_all_sessions_batched(
    p_batch_size integer DEFAULT 1000,
    p_quiet boolean DEFAULT false,
    INOUT p_run_id bigint DEFAULT NULL
)
LANGUAGE plpgsql
AS $$
DECLARE
    v_more boolean := true;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    p_run_id := session_sync.session_sync_backfill_start(p_batch_size, p_quiet);
    COMMIT;
    WHILE v_more LOOP
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        v_more := session_sync.session_sync_backfill_step(p_run_id, p_quiet);
        COMMIT;
    END LOOP;
END;
$$;

COMMENT ON PROCEDURE public.sync_all_sessions_batched IS 'CALL sync_all_sessions_batched(p_batch_size => 1000, p_quiet => false, p_run_id => NULL)
Contract: the backfill for a live database. Works through session_sync_queue in purchase id
order, p_batch_size purchases per batch, syncing each batch like sync_all_sessions() and
COMMITting after it, so no lock outlives a batch. A NOTICE per batch reports progress
(p_quiet => true silences it). Stopped half-way (Ctrl-C, a timeout, a lost connection), the
committed batches stay; the next call marks the cut-off run ''interrupted'' and goes on. One
backfill at a time: another call is refused with SQLSTATE 55P03 naming the backend that runs
it. The run is one row of session_sync_runs (source ''batched''); p_run_id returns its id.
Call it outside a transaction block. A procedure that commits can be neither SET search_path
nor SECURITY DEFINER: it pins search_path itself after every COMMIT and leaves the work to
session_sync_backfill_start and session_sync_backfill_step.';

-- sql/triggers/session_sync_commit_triggers.sql
CREATE CONSTRAINT TRIGGER session_sync_commit_purchases
    AFTER INSERT OR UPDATE ON public.course_purchases
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (pg_catalog.current_setting('session_sync.commit_armed', true)
              IS DISTINCT FROM pg_catalog.pg_current_xact_id()::text
          AND pg_catalog.set_config('session_sync.commit_armed', pg_catalog.pg_current_xact_id()::text, true)
              IS NOT NULL)
    EXECUTE FUNCTION session_sync.session_sync_commit_trigger();
CREATE CONSTRAINT TRIGGER session_sync_commit_sessions
    AFTER INSERT OR UPDATE ON public.purchase_sessions
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (pg_catalog.current_setting('session_sync.commit_armed', true)
              IS DISTINCT FROM pg_catalog.pg_current_xact_id()::text
          AND pg_catalog.set_config('session_sync.commit_armed', pg_catalog.pg_current_xact_id()::text, true)
              IS NOT NULL)
    EXECUTE FUNCTION session_sync.session_sync_commit_trigger();

COMMENT ON TRIGGER session_sync_commit_purchases ON public.course_purchases IS 'The sync at COMMIT: one deferred constraint trigger per platform table the booking service
writes (row-level: constraint triggers have no statement level). Its WHEN clause lets only the
first row a transaction writes to either table queue an event, setting the transaction-local
session_sync.commit_armed as it lets it through; a rolled-back savepoint takes both with it.
The note triggers say which purchases to sync; this one syncs them once, at COMMIT, inside
the transaction (session_sync_commit_trigger).';
COMMENT ON TRIGGER session_sync_commit_sessions ON public.purchase_sessions IS 'The sync at COMMIT: see session_sync_commit_purchases.';

-- sql/triggers/session_sync_dropped_keys_note.sql
CREATE OR REPLACE TRIGGER session_sync_dropped_keys_note
    AFTER UPDATE OF metadata ON public.purchase_sessions
    FOR EACH ROW
    WHEN (OLD.metadata IS DISTINCT FROM NEW.metadata
          AND NOT (COALESCE(pg_catalog.jsonb_path_query_array(NEW.metadata, 'strict $.keyvalue().key', '{}', true), '[]')
                   @> COALESCE(pg_catalog.jsonb_path_query_array(OLD.metadata, 'strict $.keyvalue().key', '{}', true), '[]')))
    EXECUTE FUNCTION session_sync.session_sync_dropped_keys_trigger();

COMMENT ON TRIGGER session_sync_dropped_keys_note ON public.purchase_sessions IS 'Remembers the keys an UPDATE drops from a purchase session''s metadata
(session_sync_dropped_keys). Its WHEN clause, built-ins only (a package function there would
need EXECUTE for every writer), lets through only the updates after which the keys no
longer include all the old ones: every other write pays one comparison.';

-- sql/triggers/session_sync_note_triggers.sql
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

-- sql/triggers/session_sync_tracking_triggers.sql
CREATE OR REPLACE TRIGGER session_sync_tutoring_insert_delete
    AFTER INSERT OR DELETE ON public.tutoring_sessions
    FOR EACH ROW
    WHEN (current_setting('session_sync.applying', true) IS DISTINCT FROM pg_current_xact_id_if_assigned()::text)
    EXECUTE FUNCTION session_sync.session_sync_tutoring_sessions_trigger();
CREATE OR REPLACE TRIGGER session_sync_tutoring_update
    AFTER UPDATE ON public.tutoring_sessions
    FOR EACH ROW
    WHEN (current_setting('session_sync.applying', true) IS DISTINCT FROM pg_current_xact_id_if_assigned()::text
          AND (OLD.id, OLD.allocation_id, OLD.student_id, OLD.trainer_id, OLD.course_id, OLD.scheduled_date, OLD.scheduled_time, OLD.duration, OLD.status, OLD.student_home_location, OLD.metadata)
              IS DISTINCT FROM
              (NEW.id, NEW.allocation_id, NEW.student_id, NEW.trainer_id, NEW.course_id, NEW.scheduled_date, NEW.scheduled_time, NEW.duration, NEW.status, NEW.student_home_location, NEW.metadata))
    EXECUTE FUNCTION session_sync.session_sync_tutoring_sessions_trigger();
CREATE OR REPLACE TRIGGER session_sync_tutoring_truncate
    AFTER TRUNCATE ON public.tutoring_sessions
    FOR EACH STATEMENT
    EXECUTE FUNCTION session_sync.session_sync_tutoring_sessions_trigger();
CREATE OR REPLACE TRIGGER session_sync_allocations_insert
    AFTER INSERT ON public.trainer_allocations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    WHEN (current_setting('session_sync.applying', true) IS DISTINCT FROM pg_current_xact_id_if_assigned()::text)
    EXECUTE FUNCTION session_sync.session_sync_allocations_trigger();
CREATE OR REPLACE TRIGGER session_sync_allocations_update
    AFTER UPDATE ON public.trainer_allocations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    WHEN (current_setting('session_sync.applying', true) IS DISTINCT FROM pg_current_xact_id_if_assigned()::text)
    EXECUTE FUNCTION session_sync.session_sync_allocations_trigger();

COMMENT ON TRIGGER session_sync_tutoring_insert_delete ON public.tutoring_sessions IS 'Tracking triggers: a write the sync did not make queues the purchases it may have put out
of sync. Row-level on tutoring_sessions (its writers are apps, a row at a time),
statement-level with transition tables on trainer_allocations. The sync marks its own
writes by setting session_sync.applying to its transaction''s id, which the WHEN clauses
skip; a value left from another transaction (a session-level SET) does not match.';
COMMENT ON TRIGGER session_sync_tutoring_update ON public.tutoring_sessions IS 'Tracking trigger: see session_sync_tutoring_insert_delete (an update of a mapped column).';
COMMENT ON TRIGGER session_sync_tutoring_truncate ON public.tutoring_sessions IS 'Tracking trigger: see session_sync_tutoring_insert_delete (queues every eligible purchase).';
COMMENT ON TRIGGER session_sync_allocations_insert ON public.trainer_allocations IS 'Tracking trigger: see session_sync_tutoring_insert_delete.';
COMMENT ON TRIGGER session_sync_allocations_update ON public.trainer_allocations IS 'Tracking trigger: see session_sync_tutoring_insert_delete.';

-- sql/grants/session_sync_runner.sql
-- Privileges, set from scratch (revoked, then granted): a revision that changes one re-applies this
-- file. session_sync_runner (NOLOGIN; GRANT it TO app_backend) gets EXECUTE on the API and on the
-- helpers the views call, SELECT on the package's tables and public views; PUBLIC gets nothing;
-- every other routine is the owner's (triggers fire without an EXECUTE check). The role is
-- cluster-wide: created where missing, never dropped.
DO $role$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'session_sync_runner') THEN
        CREATE ROLE session_sync_runner NOLOGIN;
    END IF;
END
$role$;

GRANT USAGE ON SCHEMA session_sync TO session_sync_runner;
REVOKE ALL ON ALL ROUTINES IN SCHEMA session_sync FROM PUBLIC, session_sync_runner;

REVOKE ALL ON ROUTINE public.sync_all_sessions(boolean, text), public.sync_purchase_sessions(uuid),
    public.sync_all_sessions_batched(integer, boolean, bigint), public.session_sync_diagnose(uuid),
    public.session_sync_enqueue(uuid[]), public.session_sync_reasons() FROM PUBLIC;
GRANT EXECUTE ON ROUTINE public.sync_all_sessions(boolean, text), public.sync_purchase_sessions(uuid),
    public.sync_all_sessions_batched(integer, boolean, bigint), public.session_sync_diagnose(uuid),
    public.session_sync_enqueue(uuid[]), public.session_sync_reasons() TO session_sync_runner;

-- The backfill procedure's two steps (each checks it is called by the backend that runs the
-- backfill), and the pure helpers the views call.
GRANT EXECUTE ON FUNCTION session_sync.session_sync_backfill_start(integer, boolean),
    session_sync.session_sync_backfill_step(bigint, boolean), session_sync.session_sync_uuid(text),
    session_sync.session_sync_coordinate(jsonb), session_sync.session_sync_location_problem(jsonb),
    session_sync.session_sync_home_location(jsonb), session_sync.session_sync_primary_student(jsonb),
    session_sync.session_sync_owner(jsonb), session_sync.session_sync_owned_by(jsonb, uuid),
    session_sync.session_sync_protected(text), session_sync.session_sync_reasons(),
    session_sync.session_sync_eligible(uuid, text), session_sync.session_sync_allocation_usable(text)
    TO session_sync_runner;

-- Tables and views: read only, and only for the runner.
REVOKE ALL ON public.session_sync_runs, public.session_sync_failures, public.session_sync_changes,
    public.session_sync_locks, public.session_sync_dropped_keys FROM PUBLIC, session_sync_runner;
GRANT SELECT ON public.session_sync_runs, public.session_sync_failures, public.session_sync_changes,
    public.session_sync_dropped_keys TO session_sync_runner;
REVOKE ALL ON public.session_sync_purchase_check, public.session_sync_expected, public.session_sync_session_state,
    public.session_sync_pending, public.session_sync_verify, public.session_sync_open_failures,
    public.session_sync_queue, public.session_sync_status FROM PUBLIC, session_sync_runner;
-- Not the three internal views (purchase_check, expected, session_state): they carry students'
-- home locations and the sessions' metadata. The views granted here read them as their owner.
GRANT SELECT ON public.session_sync_pending, public.session_sync_verify, public.session_sync_open_failures,
    public.session_sync_queue, public.session_sync_status TO session_sync_runner;
