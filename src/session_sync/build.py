"""Build the install script from ``sql/``: the files ``sql/manifest.txt`` lists, in its order,
concatenated (pg_partman's way). Each file is one object, valid SQL as stored, its ``COMMENT ON``
at its foot, so the script is plain SQL read top to bottom. After 1.0 a change to ``sql/`` goes in
an update revision holding only what it changes (docs/development.md).

    python -m session_sync.build              # the install script of sql/ as it is, to stdout
    python -m session_sync.build --freeze 0003_name sql/functions/x.sql ...   # an update's frozen scripts
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_CHECKOUT_SQL = Path(__file__).resolve().parents[2] / "sql"
# The checkout's sql/ (editable install), else the copy a wheel ships as session_sync/sql.
SQL_DIR = _CHECKOUT_SQL if (_CHECKOUT_SQL / "manifest.txt").is_file() else Path(__file__).resolve().parent / "sql"
VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def files(sql_dir: Path = SQL_DIR) -> list[Path]:
    """The files of ``sql_dir``'s manifest, in install order."""
    names = [line.strip() for line in (sql_dir / "manifest.txt").read_text().splitlines()]
    return [sql_dir / name for name in names if name and not name.startswith("#")]


def section(name: str, text: str) -> str:
    """One part of a built script: sql/``name``'s ``text`` under its ``-- sql/<name>`` line (``part`` reads it)."""
    return f"\n-- sql/{name}\n{text.rstrip()}\n"


def install_script(sql_dir: Path = SQL_DIR) -> str:
    return ("-- session-sync: the install script, built by python -m session_sync.build from sql/ in the\n"
            "-- order of sql/manifest.txt. Each part is one file of sql/, as stored.\n"
            + "".join(section(path.relative_to(sql_dir).as_posix(), path.read_text()) for path in files(sql_dir)))


def part(script: str, name: str) -> str | None:
    """The part of a built script that came from ``sql/<name>``, as it was (None if it has none)."""
    found = re.search(rf"^-- sql/{re.escape(name)}\n(.*?\n)(?=\n-- sql/|\Z)", script, re.DOTALL | re.MULTILINE)
    return found.group(1) if found else None


def freeze(revision: str, names: list[str], sql_dir: Path = SQL_DIR, versions: Path = VERSIONS) -> None:
    """Write ``<revision>.sql`` (sql/``names`` as they are), ``_downgrade.sql`` (as before it) and their SHA256s."""
    from session_sync.migration_sql import digest

    chosen = [n for n in (path.relative_to(sql_dir).as_posix() for path in files(sql_dir)) if n in names]
    if missing := set(names) - set(chosen):
        sys.exit(f"not in sql/manifest.txt: {', '.join(sorted(missing))}")
    earlier = sorted((p for p in versions.glob("0*.sql") if p.stem < revision
                      and not p.stem.endswith(("_downgrade", "_uninstall"))), reverse=True)
    old = [next((text for p in earlier if (text := part(p.read_text(), name))), None) for name in chosen]
    if None in old:
        sys.exit(f"sql/{chosen[old.index(None)]} is new: write its drop into the downgrade by hand")
    text = (module := versions / f"{revision}.py").read_text()
    for suffix, parts, constant in (("", [(sql_dir / n).read_text() for n in chosen], "SHA256"),
                                    ("_downgrade", old, "DOWNGRADE_SHA256")):
        script = versions / f"{revision}{suffix}.sql"
        script.write_text(f"-- {revision}{suffix}: built by python -m session_sync.build --freeze\n"
                          + "".join(section(n, body) for n, body in zip(chosen, parts)))
        text = re.sub(rf'^{constant} = "[0-9a-f]*"$', f'{constant} = "{digest(script)}"', text, flags=re.MULTILINE)
    module.write_text(text)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--freeze"] and len(sys.argv) > 3:
        freeze(sys.argv[2], [name.removeprefix("sql/") for name in sys.argv[3:]])
    elif sys.argv[1:]:
        sys.exit("usage: python -m session_sync.build [--freeze REVISION sql/FILE ...]")
    else:
        sys.stdout.write(install_script())
