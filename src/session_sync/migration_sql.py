"""Helpers the Alembic revisions use to run SQL.

A revision that installs package objects keeps its own frozen copy of the SQL in a
folder named like the revision file (``versions/0002_sync_core/``). Editing
``sql/functions/`` later never changes what that revision installs; a checksum in the
revision refuses a snapshot that was edited after it landed.

Keep this module backwards compatible: landed revisions call it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import sqlalchemy as sa
from alembic import op


def execute(sql: str) -> None:
    """Run ``sql`` verbatim (online or in ``--sql`` mode): no bind parameters."""
    op.execute(sa.text(sql.replace(":", r"\:")))


def snapshot_digest(directory: Path, files: list[str]) -> str:
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update((directory / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def run_snapshot(revision_file: str, files: list[str], sha256: str) -> None:
    """Execute the revision's frozen SQL files in order, after checking their checksum."""
    directory = Path(revision_file).with_suffix("")
    actual = snapshot_digest(directory, files)
    if actual != sha256:
        raise RuntimeError(
            f"the SQL snapshot {directory.name}/ does not match its revision (sha256 {actual}, "
            f"expected {sha256}): landed revisions are immutable; restore the folder with git "
            "and put the change in a new revision"
        )
    for name in files:
        execute((directory / name).read_text())


def execute_files(directory: Path, files: list[str]) -> None:
    """Execute some files of a landed revision's frozen folder, in order (downgrades use it to
    reinstall the versions that revision installed)."""
    for name in files:
        execute((directory / name).read_text())


def previous_comments(directory: Path) -> str:
    """The descriptions the revisions before ``directory``'s left on the objects whose description
    its ``session_sync_contracts.sql`` sets (each target's latest statement, in revision order),
    for its downgrade to put back. A target no earlier revision described is left out."""
    ours = (directory / "session_sync_contracts.sql").read_text()
    earlier = sorted(p for p in directory.parent.glob("*/session_sync_contracts.sql") if p.parent.name < directory.name)
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
