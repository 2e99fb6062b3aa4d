"""The mapped columns listed once: the drift test and the write rendered from the mapping's list.

``sql/views/session_sync_expected.sql`` names in its header the columns it maps and the
purchase_sessions columns it reads; the files that list them (the drift test and the select
list of ``session_sync_session_state``, ``session_sync_write_batch``'s column lists, the WHEN
clauses of the note and tracking triggers) are rendered from those two lines
(``session_sync.mapping``). What this revision installs behaves as 0012's did:

* ``session_sync_session_state``: the same columns and classification, its mapped columns last
  (so that a revision adding one appends a column, as CREATE OR REPLACE VIEW allows); its drift
  test no longer casts the expected time to varchar (both sides are varchar already). The
  column order changes, so the view is dropped and created again with the three views that
  read it (``session_sync_pending``, ``session_sync_verify``, ``session_sync_open_failures``,
  unchanged); their privileges, whoever granted them, are granted again, and their
  descriptions installed again. A view of someone else's that reads them stops the migration.
* ``session_sync_write_batch``: the same statements, its column lists one column per line.
* The triggers render to exactly what 0011 installed, so they are not replaced.
* Descriptions: the mapping's (its header now carries the two lists), and all of the four views.
* Starts by locking the four views (and so the tables they read), as 0012 does; so does the
  downgrade.

Revision ID: 0013_mapping_once
Revises: 0012_write_cost
"""

import re
from pathlib import Path

from session_sync.migration_sql import execute, execute_files, run_snapshot, snapshot_digest

revision = "0013_mapping_once"
down_revision = "0012_write_cost"
branch_labels = None
depends_on = None

FILES = [
    'session_sync_lock_0013.sql',
    'session_sync_drop_views_0013.sql',
    'session_sync_session_state.sql',
    'session_sync_pending.sql',
    'session_sync_verify.sql',
    'session_sync_open_failures.sql',
    'session_sync_regrant_0013.sql',
    'session_sync_write_batch.sql',
    'session_sync_contracts.sql',
]
SHA256 = 'fa59583aa22b59dc7f22510d822dd100c077b2dfc57d4742f55c46e1eb1ebdfb'

HERE = Path(__file__).with_suffix("")
PREVIOUS = Path(__file__).parent / "0012_write_cost"
VERSIONS = Path(__file__).parent
# What the revisions before installed of what this one replaces, reinstalled by the downgrade
# (in this order, between the drop and the grants).
REPLACED = [VERSIONS / "0012_write_cost" / "session_sync_session_state.sql",
            VERSIONS / "0010_write_path" / "session_sync_pending.sql",
            VERSIONS / "0011_contracts_health" / "session_sync_verify.sql",
            VERSIONS / "0011_contracts_health" / "session_sync_open_failures.sql"]


def previous_comments() -> str:
    """The descriptions the revisions before this one left on the objects whose description it
    changed (each target's latest statement, in revision order)."""
    ours = (HERE / "session_sync_contracts.sql").read_text()
    earlier = sorted(p for p in HERE.parent.glob("*/session_sync_contracts.sql") if p.parent.name < HERE.name)
    statements = []
    for target in re.findall(r"^(COMMENT ON .+?) IS '", ours, flags=re.MULTILINE):
        found = None
        for path in earlier:
            theirs = "\n" + path.read_text()
            match = re.search(r"\n(" + re.escape(target) + r" IS '.*?';)\n(?=COMMENT ON |--|\Z)", theirs,
                              flags=re.DOTALL)
            if match:
                found = match.group(1)
        if found:
            statements.append(found)
    return "\n".join(statements)


def upgrade() -> None:
    run_snapshot(__file__, FILES, SHA256)


def downgrade() -> None:
    actual = snapshot_digest(HERE, FILES)
    if actual != SHA256:
        raise RuntimeError(f"{HERE.name}/ does not match its revision (sha256 {actual}): "
                           "landed revisions are immutable; restore the folder with git")
    execute_files(HERE, ["session_sync_lock_0013.sql", "session_sync_drop_views_0013.sql"])
    for path in REPLACED:
        execute_files(path.parent, [path.name])
    execute_files(HERE, ["session_sync_regrant_0013.sql"])
    execute_files(PREVIOUS, ["session_sync_write_batch.sql"])
    execute(previous_comments())
