"""Bulk writes: linear on statistics that predate their rows, and no 64 KB search per row in the notes.

* ``session_sync_write``: a batch of more than 64 purchases whose tables the planner's
  statistics count fewer than half as many rows in as the batch has purchases
  (``pg_class.reltuples`` of ``course_purchases`` or ``purchase_sessions``: never analyzed, or
  analyzed while nearly empty) is written with ``enable_nestloop`` and ``jit`` off (before
  PostgreSQL 18 a disabled join type adds 1e10 to the cost, and JIT compiled every plan: 8.7 s
  for 100 purchases on 15), restored after the write, also when it is cancelled; then
  ``DISCARD PLANS`` drops the plans the session cached meanwhile, so that no plan
  made without nested loops (the one-purchase sync's generic plan, say) outlives it. Such
  statistics are what a first import meets, and what a bulk statement's own rows look like when
  the statement-level trigger syncs them inside its transaction: the planner expected a few
  rows in each of the write's CTEs and joined them by nested loops, whose time grew with the
  square of the batch (``bench/fresh_load.py``, 200,000 sessions of 10,000 purchases:
  ``sync_all_sessions()`` right after the load 94 s, the bulk INSERT synced in its statement
  149 s; 11 s and 14 s now, as with statistics). With statistics that count at least half the
  batch's rows, nothing changes.
* ``session_sync_write_batch``: its CTEs are looked up, never joined to one another: the
  locked rows and the purchases to write become jsonb objects read per session, and the rows to
  lock or forget are found by ``= ANY`` of an array (an index scan). Before PostgreSQL 17 a CTE
  is estimated without its columns' statistics, so ``ok`` was one row whatever the tables held,
  and the sessions were joined to it by a nested loop even with statistics: on PostgreSQL 15,
  3,000 purchases in one write rejected 90 million rows (9.8 s). Same statements otherwise.
* The note triggers' WHEN clauses (``session_sync_note_triggers.sql``): the size of the notes
  is read first, with ``octet_length`` (no scan of the text), and the search for the purchase's
  id in them only while they are below 64 KB. Past 64 KB every row searched the whole 64 KB
  before the size check said no: a 200,000-row INSERT spent 54-57 s in WHEN clauses (6 s now;
  3.3-3.9 s without the package). What they note is unchanged.
* Descriptions: ``session_sync_write``'s and the note triggers', which state this.
* Starts by locking course_purchases and purchase_sessions (SHARE ROW EXCLUSIVE, both at once
  or neither, NOWAIT attempts every 100 ms, as 0011 does); so does the downgrade.

Revision ID: 0014_stale_statistics
Revises: 0013_mapping_once
"""

from pathlib import Path

from session_sync.migration_sql import execute, execute_files, previous_comments, run_snapshot, snapshot_digest

revision = "0014_stale_statistics"
down_revision = "0013_mapping_once"
branch_labels = None
depends_on = None

FILES = [
    'session_sync_lock_0014.sql',
    'session_sync_note_triggers.sql',
    'session_sync_write.sql',
    'session_sync_write_batch.sql',
    'session_sync_contracts.sql',
]
SHA256 = '4b8fe186611b4adabf4f384ddf2b85e11e5ccf75d485920484b424fb8608a2e7'

HERE = Path(__file__).with_suffix("")
# What the revisions before installed of what this one replaces, reinstalled by the downgrade.
REPLACED = [Path(__file__).parent / "0011_contracts_health" / "session_sync_note_triggers.sql",
            Path(__file__).parent / "0012_write_cost" / "session_sync_write.sql",
            Path(__file__).parent / "0013_mapping_once" / "session_sync_write_batch.sql"]


def upgrade() -> None:
    run_snapshot(__file__, FILES, SHA256)


def downgrade() -> None:
    actual = snapshot_digest(HERE, FILES)
    if actual != SHA256:
        raise RuntimeError(f"{HERE.name}/ does not match its revision (sha256 {actual}): "
                           "landed revisions are immutable; restore the folder with git")
    execute_files(HERE, ["session_sync_lock_0014.sql"])
    for path in REPLACED:
        execute_files(path.parent, [path.name])
    execute(previous_comments(HERE))
