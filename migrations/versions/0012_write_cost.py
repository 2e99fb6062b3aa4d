"""Cheaper classification and write: ownership without a regular expression per row, a smaller write statement.

* ``session_sync_owned_by(metadata, purchase_id)``: whether a tutoring session belongs to a
  purchase, comparing the text of ``purchaseId`` first and validating any other spelling as
  ``session_sync_owner`` does. The classification (``session_sync_session_state``), the write
  and the dropped-keys cleanup read it instead of ``session_sync_owner(...) = id``, whose UUID
  regular expression cost about 6 µs per session.
* ``session_sync_write``'s cleanup of dropped-keys records skips a record whose tutoring
  session another transaction is writing: a sync copying the key right then would have left it
  behind with no record (a race 0011 had, found by this revision's review).
* ``session_sync_write_batch``: the allocation insert finds the purchases that lack their
  allocation first, and checks sessions and conflicts for those only (at 1M sessions it probed
  the tutoring session of every session of the batch).
* ``session_sync_write``: the change-log delete removes the rows it locked by their ctid (a TID
  scan), not by joining half a million change_ids back, which spilled to disk.
* ``session_sync_session_state``: the dropped-keys lookup is one subquery (``OFFSET 0``), not a
  copy per expression that reads it.
* The NOTICEs of runs and backfill batches say "N with nothing to write" (in sync already, or not
  eligible), the meaning of ``purchases_in_sync``, instead of "already in sync".
* Descriptions: only those new or changed since 0011 (CREATE OR REPLACE keeps the others).
* Starts by locking the view it replaces (and so the tables it reads), all at once or none,
  NOWAIT attempts every 100 ms, as 0011 does.

Revision ID: 0012_write_cost
Revises: 0011_contracts_health
"""

import re
from pathlib import Path

from session_sync.migration_sql import execute, execute_files, run_snapshot, snapshot_digest

revision = "0012_write_cost"
down_revision = "0011_contracts_health"
branch_labels = None
depends_on = None

FILES = [
    'session_sync_lock_0012.sql',
    'session_sync_owned_by.sql',
    'session_sync_session_state.sql',
    'session_sync_write_batch.sql',
    'session_sync_write.sql',
    'sync_all_sessions.sql',
    'session_sync_backfill_step.sql',
    'session_sync_runner.sql',
    'session_sync_contracts.sql',
]
SHA256 = '4472df1c34977bdb49ec9f651172c04092f780dd864f55ecf7f1b527dbad9144'

HERE = Path(__file__).with_suffix("")
PREVIOUS = Path(__file__).parent / "0011_contracts_health"
# What 0011 installed of what this revision replaces, reinstalled by the downgrade.
REPLACED = ["session_sync_session_state.sql", "session_sync_write_batch.sql", "session_sync_write.sql",
            "sync_all_sessions.sql", "session_sync_backfill_step.sql"]


def previous_comments() -> str:
    """0011's descriptions of the objects whose description this revision changed (a new
    object's goes with it)."""
    ours = (HERE / "session_sync_contracts.sql").read_text()
    theirs = "\n" + (PREVIOUS / "session_sync_contracts.sql").read_text()
    statements = []
    for target in re.findall(r"^(COMMENT ON .+?) IS '", ours, flags=re.MULTILINE):
        match = re.search(r"\n(" + re.escape(target) + r" IS '.*?';)\n(?=COMMENT ON |\Z)", theirs, flags=re.DOTALL)
        if match:
            statements.append(match.group(1))
    return "\n".join(statements)


def upgrade() -> None:
    run_snapshot(__file__, FILES, SHA256)


def downgrade() -> None:
    actual = snapshot_digest(HERE, FILES)
    if actual != SHA256:
        raise RuntimeError(f"{HERE.name}/ does not match its revision (sha256 {actual}): "
                           "landed revisions are immutable; restore the folder with git")
    execute_files(HERE, FILES[:1])  # its lock first
    execute_files(PREVIOUS, REPLACED)
    execute("DROP FUNCTION session_sync.session_sync_owned_by(jsonb, uuid);")
    execute(previous_comments())
