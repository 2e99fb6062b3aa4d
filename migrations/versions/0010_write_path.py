"""One write path: the sync at COMMIT, never waiting, never losing an app's keys, an append-only change log.

* The triggers on ``course_purchases`` and ``purchase_sessions`` no longer sync inside each
  statement: they note the purchases (``session_sync_note``), and a deferred constraint
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
    'session_sync_changes.sql',
    'session_sync_changes_from_queue.sql',
    'session_sync_queue.sql',
    'session_sync_owner.sql',
    'session_sync_protected.sql',
    'session_sync_session_state.sql',
    'session_sync_pending.sql',
    'session_sync_verify.sql',
    'session_sync_open_failures.sql',
    'session_sync_write_batch.sql',
    'session_sync_write.sql',
    'session_sync_trigger_sync.sql',
    'session_sync_flush.sql',
    'session_sync_note.sql',
    'session_sync_commit_trigger.sql',
    'session_sync_course_purchases_trigger.sql',
    'session_sync_purchase_sessions_trigger.sql',
    'session_sync_enqueue.sql',
    'sync_all_sessions.sql',
    'sync_purchase_sessions.sql',
    'session_sync_backfill_start.sql',
    'session_sync_backfill_step.sql',
    'sync_all_sessions_batched.sql',
    'session_sync_commit_triggers.sql',
]
SHA256 = 'c52db373e42a8c48793835f3e0c3b26dc6c288f52eb553b4fbdd83fb83fc4e59'

INTERNAL = [
    "FUNCTION public.session_sync_write_batch(uuid[])",
    "FUNCTION public.session_sync_write(uuid[], bigint, text)",
    "FUNCTION public.session_sync_note(text)",
    "FUNCTION public.session_sync_flush()",
    "FUNCTION public.session_sync_commit_trigger()",
]
PURE = [  # the views call them, so their readers need EXECUTE
    "FUNCTION public.session_sync_owner(jsonb)",
    "FUNCTION public.session_sync_protected(text)",
]

VERSIONS = Path(__file__).parent

DOWNGRADE = """
DROP TRIGGER session_sync_commit_sessions ON public.purchase_sessions;
DROP TRIGGER session_sync_commit_purchases ON public.course_purchases;
DROP VIEW public.session_sync_open_failures, public.session_sync_verify, public.session_sync_pending,
    public.session_sync_session_state;
DROP VIEW public.session_sync_queue;
"""
QUEUE_BACK = """
INSERT INTO public.session_sync_queue (purchase_id, queued_at)
SELECT c.purchase_id, min(c.queued_at) FROM public.session_sync_changes c GROUP BY c.purchase_id ORDER BY 1;
DROP TABLE public.session_sync_changes;
ALTER TABLE public.session_sync_runs
    DROP COLUMN purchases_deferred, DROP COLUMN purchases_retried, DROP COLUMN retry_reason;
"""
DOWNGRADE_LAST = """
DROP FUNCTION public.session_sync_write(uuid[], bigint, text);
DROP FUNCTION public.session_sync_write_batch(uuid[]);
DROP FUNCTION public.session_sync_commit_trigger();
DROP FUNCTION public.session_sync_flush();
DROP FUNCTION public.session_sync_note(text);
DROP FUNCTION public.session_sync_protected(text);
DROP FUNCTION public.session_sync_owner(jsonb);
"""
RESTORED_INTERNAL = [
    "FUNCTION public.session_sync_apply(uuid[], uuid[], uuid[])",
    "FUNCTION public.session_sync_process(uuid[], bigint, boolean, text)",
]


def upgrade() -> None:
    run_snapshot(__file__, FILES, SHA256)
    execute("DROP FUNCTION public.session_sync_process(uuid[], bigint, boolean, text)")
    execute("DROP FUNCTION public.session_sync_apply(uuid[], uuid[], uuid[])")
    for routine in INTERNAL:
        execute(f"REVOKE ALL ON {routine} FROM PUBLIC")
    for routine in PURE:
        execute(f"REVOKE ALL ON {routine} FROM PUBLIC")
        execute(f"GRANT EXECUTE ON {routine} TO session_sync_runner")
    execute("REVOKE ALL ON public.session_sync_changes FROM PUBLIC")
    execute("GRANT SELECT ON public.session_sync_changes, public.session_sync_queue TO session_sync_runner")


def downgrade() -> None:
    execute(DOWNGRADE)
    execute_files(VERSIONS / "0008_change_tracking", ["session_sync_queue.sql"])
    execute("GRANT SELECT ON public.session_sync_queue TO session_sync_runner")
    execute(QUEUE_BACK)
    execute_files(VERSIONS / "0009_security", [
        "session_sync_session_state.sql", "session_sync_pending.sql", "session_sync_verify.sql",
        "session_sync_open_failures.sql", "session_sync_process.sql", "session_sync_apply.sql",
        "sync_purchase_sessions.sql", "sync_all_sessions.sql", "session_sync_backfill_start.sql",
        "session_sync_backfill_step.sql"])
    execute("GRANT SELECT ON public.session_sync_session_state, public.session_sync_pending, "
            "public.session_sync_verify, public.session_sync_open_failures TO session_sync_runner")
    execute_files(VERSIONS / "0008_change_tracking", [
        "session_sync_enqueue.sql", "session_sync_trigger_sync.sql", "session_sync_course_purchases_trigger.sql",
        "session_sync_purchase_sessions_trigger.sql"])
    for routine in RESTORED_INTERNAL:
        execute(f"REVOKE ALL ON {routine} FROM PUBLIC, session_sync_runner")
    execute(DOWNGRADE_LAST)
