"""One write path: the sync at COMMIT, never waiting, never losing an app's keys, an append-only change log.

* The triggers on ``course_purchases`` and ``purchase_sessions`` no longer sync inside each
  statement: their row-level WHEN clauses note the purchases (no function call), and a deferred constraint
  trigger syncs them once, at COMMIT, still inside the transaction
  (``session_sync_commit_trigger``). An UPDATE is compared old against new by value, so a
  changed id or booking_id is noticed too.
* One write routine for every path, ``session_sync_write`` (set-based, with a per-purchase
  retry that the run's row and NOTICE report) over ``session_sync_write_batch``; it replaces
  ``session_sync_process`` and ``session_sync_apply``. It locks the rows it updates with
  ``FOR UPDATE SKIP LOCKED`` instead of locking the purchase: a purchase whose tutoring
  sessions another transaction holds or has just changed is deferred (queued), never waited
  for, so no platform transaction waits or deadlocks because of the sync. The metadata update
  merges onto the row as it is locked, so an app's key committed meanwhile is kept.
* The queue becomes the append-only change log ``session_sync_changes`` (the view
  ``session_sync_queue`` keeps its name and columns): writers only insert, so they never wait
  on each other's queue rows.
* ``session_sync_owner`` and ``session_sync_protected`` define ownership and protection once.
* Everything but the API moves to schema ``session_sync``, where only the owner may create:
  a role with CREATE on ``public`` can no longer plant an overload that a routine's call
  resolves to. ``session_sync_reasons()`` and ``session_sync_enqueue()`` stay in ``public`` as
  faces of their ``session_sync`` versions. Messages name an id by its shape only, and a
  coordinate only when it is a short decimal within [-1000, 1000].
* A dry run of ``sync_all_sessions`` writes nothing (no run row).
* The revision starts by locking the platform's four tables (writes wait for it).

Revision ID: 0010_write_path
Revises: 0009_security
"""

from pathlib import Path

from session_sync.migration_sql import execute, execute_files, run_snapshot

revision = "0010_write_path"
down_revision = "0009_security"
branch_labels = None
depends_on = None

FILES = [
    'session_sync_lock_platform.sql',
    'session_sync_schema.sql',
    'session_sync_changes.sql',
    'session_sync_changes_from_queue.sql',
    'session_sync_queue.sql',
    'session_sync_quote.sql',
    'session_sync_students_problem.sql',
    'session_sync_location_detail.sql',
    'session_sync_owner.sql',
    'session_sync_protected.sql',
    'session_sync_session_state.sql',
    'session_sync_pending.sql',
    'session_sync_verify.sql',
    'session_sync_open_failures.sql',
    'session_sync_failure_message.sql',
    'session_sync_raise.sql',
    'session_sync_reap_backfills.sql',
    'session_sync_enqueue.sql',
    'session_sync_xact_racing.sql',
    'session_sync_write_batch.sql',
    'session_sync_write.sql',
    'session_sync_trigger_sync.sql',
    'session_sync_flush.sql',
    'session_sync_never_trigger.sql',
    'session_sync_commit_trigger.sql',
    'session_sync_course_purchases_trigger.sql',
    'session_sync_purchase_sessions_trigger.sql',
    'session_sync_tutoring_sessions_trigger.sql',
    'session_sync_allocations_trigger.sql',
    'sync_all_sessions.sql',
    'sync_purchase_sessions.sql',
    'session_sync_diagnose.sql',
    'session_sync_backfill_start.sql',
    'session_sync_backfill_step.sql',
    'public.session_sync_reasons.sql',
    'public.session_sync_enqueue.sql',
    'sync_all_sessions_batched.sql',
    'session_sync_commit_triggers.sql',
    'session_sync_note_triggers.sql',
]
SHA256 = 'e0f82d008fa75de61812b2b013b270a103497ea85f43b3e2f2c0c3ee581f2f8f'

# Executable by the owner only (the SECURITY DEFINER API calls them as the owner; triggers
# fire without an EXECUTE check).
INTERNAL = [
    "FUNCTION session_sync.session_sync_write_batch(uuid[])",
    "FUNCTION session_sync.session_sync_write(uuid[], bigint, text)",
    "FUNCTION session_sync.session_sync_never_trigger()",
    "FUNCTION session_sync.session_sync_flush()",
    "FUNCTION session_sync.session_sync_commit_trigger()",
    "FUNCTION session_sync.session_sync_quote(jsonb, text)",
    "FUNCTION session_sync.session_sync_xact_racing(xid)",
]
PURE = [  # the views call them, so their readers need EXECUTE
    "FUNCTION session_sync.session_sync_owner(jsonb)",
    "FUNCTION session_sync.session_sync_protected(text)",
]
API = [
    "FUNCTION public.session_sync_reasons()",
    "FUNCTION public.session_sync_enqueue(uuid[])",
]
MOVED = [
    "session_sync_uuid(text)", "session_sync_coordinate(jsonb)", "session_sync_location_problem(jsonb)",
    "session_sync_primary_student(jsonb)", "session_sync_home_location(jsonb)", "session_sync_students_problem(jsonb)",
    "session_sync_location_detail(jsonb)", "session_sync_reasons()", "session_sync_failure_message(text, uuid, text)",
    "session_sync_raise(text, uuid, text)", "session_sync_setting(text, boolean)", "session_sync_trigger_sync(uuid[])",
    "session_sync_enqueue(uuid[])", "session_sync_reap_backfills()", "session_sync_backfill_start(integer, boolean)",
    "session_sync_backfill_step(bigint, boolean)", "session_sync_course_purchases_trigger()",
    "session_sync_purchase_sessions_trigger()", "session_sync_tutoring_sessions_trigger()",
    "session_sync_allocations_trigger()",
]

VERSIONS = Path(__file__).parent
LOCK = (VERSIONS / "0010_write_path" / "session_sync_lock_platform.sql").read_text()

DOWNGRADE = """
DROP TRIGGER session_sync_note_sessions_update ON public.purchase_sessions;
DROP TRIGGER session_sync_note_sessions_insert ON public.purchase_sessions;
DROP TRIGGER session_sync_note_purchases_update ON public.course_purchases;
DROP TRIGGER session_sync_note_purchases_insert ON public.course_purchases;
DROP TRIGGER session_sync_sessions_update ON public.purchase_sessions;
DROP TRIGGER session_sync_sessions_insert ON public.purchase_sessions;
DROP TRIGGER session_sync_purchases_update ON public.course_purchases;
DROP TRIGGER session_sync_purchases_insert ON public.course_purchases;
DROP TRIGGER session_sync_commit_sessions ON public.purchase_sessions;
DROP TRIGGER session_sync_commit_purchases ON public.course_purchases;
DROP VIEW public.session_sync_open_failures, public.session_sync_verify, public.session_sync_pending,
    public.session_sync_session_state;
DROP VIEW public.session_sync_queue;
DROP FUNCTION public.session_sync_reasons();
DROP FUNCTION public.session_sync_enqueue(uuid[]);
"""
QUEUE_BACK = """
INSERT INTO public.session_sync_queue (purchase_id, queued_at)
SELECT c.purchase_id, min(c.queued_at) FROM public.session_sync_changes c GROUP BY c.purchase_id ORDER BY 1;
DROP TABLE public.session_sync_changes;
ALTER TABLE public.session_sync_runs
    DROP COLUMN purchases_deferred, DROP COLUMN purchases_retried, DROP COLUMN retry_reason;
"""
DOWNGRADE_LAST = """
DROP FUNCTION session_sync.session_sync_write(uuid[], bigint, text);
DROP FUNCTION session_sync.session_sync_write_batch(uuid[]);
DROP FUNCTION session_sync.session_sync_commit_trigger();
DROP FUNCTION session_sync.session_sync_flush();
DROP FUNCTION session_sync.session_sync_never_trigger();
DROP FUNCTION session_sync.session_sync_protected(text);
DROP FUNCTION session_sync.session_sync_owner(jsonb);
DROP FUNCTION session_sync.session_sync_quote(jsonb, text);
DROP FUNCTION session_sync.session_sync_xact_racing(xid);
DROP SCHEMA session_sync;
"""
RESTORED_INTERNAL = [
    "FUNCTION public.session_sync_apply(uuid[], uuid[], uuid[])",
    "FUNCTION public.session_sync_process(uuid[], bigint, boolean, text)",
]


def upgrade() -> None:
    run_snapshot(__file__, FILES, SHA256)
    for routine in INTERNAL:
        execute(f"REVOKE ALL ON {routine} FROM PUBLIC")
    execute("REVOKE ALL ON FUNCTION session_sync.session_sync_enqueue(uuid[]) FROM PUBLIC, session_sync_runner")
    for routine in PURE + API:
        execute(f"REVOKE ALL ON {routine} FROM PUBLIC")
        execute(f"GRANT EXECUTE ON {routine} TO session_sync_runner")
    execute("REVOKE ALL ON public.session_sync_changes FROM PUBLIC")
    execute("GRANT SELECT ON public.session_sync_changes, public.session_sync_queue TO session_sync_runner")


def downgrade() -> None:
    execute(LOCK)
    execute(DOWNGRADE)
    for routine in MOVED:
        execute(f"ALTER FUNCTION session_sync.{routine} SET SCHEMA public")
    execute("GRANT EXECUTE ON FUNCTION public.session_sync_enqueue(uuid[]) TO session_sync_runner")
    execute_files(VERSIONS / "0008_change_tracking", ["session_sync_queue.sql"])
    execute("GRANT SELECT ON public.session_sync_queue TO session_sync_runner")
    execute(QUEUE_BACK)
    execute_files(VERSIONS / "0009_security", [
        "session_sync_students_problem.sql", "session_sync_location_detail.sql", "session_sync_failure_message.sql",
        "session_sync_reap_backfills.sql", "session_sync_session_state.sql", "session_sync_pending.sql",
        "session_sync_verify.sql", "session_sync_open_failures.sql", "session_sync_process.sql",
        "session_sync_apply.sql", "sync_purchase_sessions.sql", "session_sync_diagnose.sql", "sync_all_sessions.sql",
        "session_sync_backfill_start.sql", "session_sync_backfill_step.sql", "sync_all_sessions_batched.sql"])
    execute("GRANT SELECT ON public.session_sync_session_state, public.session_sync_pending, "
            "public.session_sync_verify, public.session_sync_open_failures TO session_sync_runner")
    execute_files(VERSIONS / "0004_sync_core_v2", ["session_sync_raise.sql"])
    execute_files(VERSIONS / "0005_sync_triggers", ["session_sync_triggers.sql"])
    execute_files(VERSIONS / "0008_change_tracking", [
        "session_sync_enqueue.sql", "session_sync_trigger_sync.sql", "session_sync_course_purchases_trigger.sql",
        "session_sync_purchase_sessions_trigger.sql", "session_sync_tutoring_sessions_trigger.sql",
        "session_sync_allocations_trigger.sql"])
    for routine in RESTORED_INTERNAL:
        execute(f"REVOKE ALL ON {routine} FROM PUBLIC, session_sync_runner")
    execute(DOWNGRADE_LAST)
