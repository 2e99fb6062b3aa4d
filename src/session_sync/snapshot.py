"""Freeze SQL sources into a revision's snapshot folder (a developer tool).

    python -m session_sync.snapshot migrations/versions/0005_x sql/functions/a.sql sql/views/b.sql

copies the files (in that order) into the folder, rendered (:mod:`session_sync.mapping`: a
revision's copy is plain SQL, the mapped columns spelled out), and prints the ``FILES`` list and
``SHA256`` to paste into the revision. Landed snapshots are never edited again.
"""

from __future__ import annotations

import sys
from pathlib import Path

from session_sync import mapping
from session_sync.migration_sql import snapshot_digest


def freeze(folder: Path, sources: list[Path]) -> tuple[list[str], str]:
    folder.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    for source in sources:
        target = folder / source.name
        if source.resolve() != target.resolve():
            target.write_text(mapping.read(source))
        names.append(source.name)
    return names, snapshot_digest(folder, names)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    names, digest = freeze(Path(args[0]), [Path(a) for a in args[1:]])
    print("FILES = [")
    for name in names:
        print(f"    {name!r},")
    print("]")
    print(f"SHA256 = {digest!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
