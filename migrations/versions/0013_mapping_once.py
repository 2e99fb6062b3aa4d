"""The mapped columns listed once: the drift test and the write rendered from the mapping's list.

``sql/views/session_sync_expected.sql`` names in its header the columns it maps and the
purchase_sessions columns it reads; the files that list them (the drift test of
``session_sync_session_state``, ``session_sync_write_batch``'s column lists, the WHEN clauses
of the note and tracking triggers) are rendered from those two lines
(``session_sync.mapping``). What this revision installs behaves as 0012's did:

* ``session_sync_session_state``: the same columns and classification; its drift test no longer
  casts the expected time to varchar (both sides are varchar already), and the descriptions of
  its mapped columns are generated ("the expected <column> (a mapped column ...)").
* ``session_sync_write_batch``: the same statements, its column lists one column per line.
* The triggers render to exactly what 0011 installed, so they are not replaced.
* Descriptions: the mapping's (its header now carries the two lists) and the state view's
  mapped columns.
* Starts by locking the view it replaces (and so the tables it reads), as 0012 does.

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
    'session_sync_session_state.sql',
    'session_sync_write_batch.sql',
    'session_sync_contracts.sql',
]
SHA256 = '8648fb0f26f115a4fc13eeef1c4109e10069e24cf04aa9735518c883e40eb4ad'

HERE = Path(__file__).with_suffix("")
PREVIOUS = Path(__file__).parent / "0012_write_cost"
# What 0012 installed of what this revision replaces, reinstalled by the downgrade.
REPLACED = ["session_sync_session_state.sql", "session_sync_write_batch.sql"]


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
    execute_files(HERE, FILES[:1])  # its lock first
    execute_files(PREVIOUS, REPLACED)
    execute(previous_comments())
