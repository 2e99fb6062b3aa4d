"""Security: pinned search_path everywhere, no takeover of rows the sync does not own, least privilege.

* ``sync_all_sessions_batched`` (a procedure, so it runs with the caller's rights and cannot
  carry ``SET search_path``) pins its own search_path and leaves the work to two SECURITY
  DEFINER functions, ``session_sync_backfill_start`` and ``session_sync_backfill_step``.
  The advisory locks any role could take are replaced by row locks in the package's table
  ``session_sync_locks``; a backfill cut off mid-run no longer blocks the next one
  (``session_sync_runs`` gains ``outcome``, ``backend_pid`` and the backfill's progress).
* A tutoring session belongs to a purchase only when its ``metadata.purchaseId`` is that
  purchase; any other row with the id is a SESSION_CONFLICT on every path, and the writes
  re-check it on the row they lock.
* Messages and diagnose quote the first student's id and the coordinates as given, never
  contact details; the messages already recorded are scrubbed.
* ``session_sync_runner`` may execute the documented API only; internals are executable by
  nobody but the owner; it may no longer write ``session_sync_runs``.
* Views and SQL-standard helpers are recreated under the pinned search_path (migrations/env.py),
  so a look-alike operator planted in ``public`` before this revision no longer binds.

Revision ID: 0009_security
Revises: 0008_change_tracking
"""

from pathlib import Path

from session_sync.migration_sql import execute, execute_files, run_snapshot

revision = "0009_security"
down_revision = "0008_change_tracking"
branch_labels = None
depends_on = None

FILES = [
    'session_sync_lock_platform.sql',
    'session_sync_locks.sql',
    'session_sync_runs_outcome.sql',
    'session_sync_uuid.sql',
    'session_sync_coordinate.sql',
    'session_sync_location_problem.sql',
    'session_sync_primary_student.sql',
    'session_sync_home_location.sql',
    'session_sync_students_problem.sql',
    'session_sync_location_detail.sql',
    'session_sync_reasons.sql',
    'session_sync_purchase_check.sql',
    'session_sync_expected.sql',
    'session_sync_session_state.sql',
    'session_sync_pending.sql',
    'session_sync_verify.sql',
    'session_sync_open_failures.sql',
    'session_sync_failure_message.sql',
    'session_sync_reap_backfills.sql',
    'session_sync_process.sql',
    'session_sync_apply.sql',
    'sync_purchase_sessions.sql',
    'session_sync_diagnose.sql',
    'sync_all_sessions.sql',
    'session_sync_backfill_start.sql',
    'session_sync_backfill_step.sql',
    'sync_all_sessions_batched.sql',
    'session_sync_scrub_failures.sql',
]
SHA256 = 'ed617d77fd716ad9d6aa44c2c5d0ac1f1e2c0733ff6de04997f15feeb0f25c13'

# The documented API: what session_sync_runner may execute (the pure helpers are listed
# because the views it reads call them).
API = [
    "FUNCTION public.sync_all_sessions(boolean, text)",
    "FUNCTION public.sync_purchase_sessions(uuid)",
    "PROCEDURE public.sync_all_sessions_batched(integer, boolean, bigint)",
    "FUNCTION public.session_sync_backfill_start(integer, boolean)",
    "FUNCTION public.session_sync_backfill_step(bigint, boolean)",
    "FUNCTION public.session_sync_diagnose(uuid)",
    "FUNCTION public.session_sync_enqueue(uuid[])",
    "FUNCTION public.session_sync_reasons()",
    "FUNCTION public.session_sync_uuid(text)",
    "FUNCTION public.session_sync_coordinate(jsonb)",
    "FUNCTION public.session_sync_location_problem(jsonb)",
    "FUNCTION public.session_sync_home_location(jsonb)",
    "FUNCTION public.session_sync_primary_student(jsonb)",
]
# Internals: executable by the owner only (the SECURITY DEFINER API calls them as the owner;
# triggers fire without an EXECUTE check).
INTERNAL = [
    "FUNCTION public.session_sync_failure_message(text, uuid, text)",
    "FUNCTION public.session_sync_raise(text, uuid, text)",
    "FUNCTION public.session_sync_apply(uuid[], uuid[], uuid[])",
    "FUNCTION public.session_sync_process(uuid[], bigint, boolean, text)",
    "FUNCTION public.session_sync_setting(text, boolean)",
    "FUNCTION public.session_sync_trigger_sync(uuid[])",
    "FUNCTION public.session_sync_course_purchases_trigger()",
    "FUNCTION public.session_sync_purchase_sessions_trigger()",
    "FUNCTION public.session_sync_tutoring_sessions_trigger()",
    "FUNCTION public.session_sync_allocations_trigger()",
]
NEW_INTERNAL = [
    "FUNCTION public.session_sync_reap_backfills()",
    "FUNCTION public.session_sync_students_problem(jsonb)",
    "FUNCTION public.session_sync_location_detail(jsonb)",
]
NEW_API = [
    "FUNCTION public.session_sync_backfill_start(integer, boolean)",
    "FUNCTION public.session_sync_backfill_step(bigint, boolean)",
]

VERSIONS = Path(__file__).parent
# What stood before this revision: the latest landed copy of each replaced file, in an order
# that creates what a file depends on first.
EARLIER = [
    ("0002_sync_core", ["session_sync_uuid.sql", "session_sync_coordinate.sql",
                        "session_sync_location_problem.sql", "session_sync_primary_student.sql",
                        "session_sync_reasons.sql"]),
    ("0004_sync_core_v2", ["session_sync_home_location.sql", "session_sync_purchase_check.sql"]),
    ("0008_change_tracking", ["session_sync_expected.sql", "session_sync_session_state.sql"]),
    ("0006_operator_surface", ["session_sync_pending.sql", "session_sync_verify.sql",
                               "session_sync_open_failures.sql", "session_sync_diagnose.sql"]),
    ("0004_sync_core_v2", ["session_sync_failure_message.sql", "session_sync_apply.sql",
                           "sync_purchase_sessions.sql"]),
    ("0008_change_tracking", ["session_sync_process.sql", "sync_all_sessions.sql",
                              "sync_all_sessions_batched.sql"]),
]

DOWNGRADE = """
DROP FUNCTION public.session_sync_backfill_step(bigint, boolean);
DROP FUNCTION public.session_sync_backfill_start(integer, boolean);
DROP FUNCTION public.session_sync_reap_backfills();
"""
DOWNGRADE_LAST = """
DROP FUNCTION public.session_sync_location_detail(jsonb);
DROP FUNCTION public.session_sync_students_problem(jsonb);
DROP TABLE public.session_sync_locks;
ALTER TABLE public.session_sync_runs
    DROP COLUMN outcome, DROP COLUMN backend_pid, DROP COLUMN backend_start, DROP COLUMN backend_query_start,
    DROP COLUMN batch_size,
    DROP COLUMN purchases_queued, DROP COLUMN batches, DROP COLUMN resume_after;
"""


def upgrade() -> None:
    run_snapshot(__file__, FILES, SHA256)
    for routine in INTERNAL + NEW_INTERNAL:
        execute(f"REVOKE ALL ON {routine} FROM PUBLIC, session_sync_runner")
    for routine in NEW_API:
        execute(f"REVOKE ALL ON {routine} FROM PUBLIC")
        execute(f"GRANT EXECUTE ON {routine} TO session_sync_runner")
    execute("REVOKE ALL ON public.session_sync_locks FROM PUBLIC")
    execute("REVOKE INSERT, UPDATE ON public.session_sync_runs FROM session_sync_runner")


def downgrade() -> None:
    execute("GRANT INSERT, UPDATE ON public.session_sync_runs TO session_sync_runner")
    for routine in INTERNAL:
        execute(f"GRANT EXECUTE ON {routine} TO session_sync_runner")
    execute(DOWNGRADE)
    for folder, names in EARLIER:
        execute_files(VERSIONS / folder, names)
    execute(DOWNGRADE_LAST)
