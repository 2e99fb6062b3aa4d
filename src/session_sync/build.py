"""Build the install script from ``sql/``: the files ``sql/manifest.txt`` lists, in its order,
concatenated (pg_partman's way). Each file is one object, valid SQL as stored, its ``COMMENT ON``
at its foot, so the script is plain SQL read top to bottom. After 1.0 a change to ``sql/`` goes in
an update revision holding only what it changes (docs/development.md).

    python -m session_sync.build              # the install script of sql/ as it is, to stdout
    python -m session_sync.build --freeze     # write it as revision 0002's frozen script (1.0 only)
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


def install_script(sql_dir: Path = SQL_DIR) -> str:
    parts = ["-- session-sync: the install script, built by python -m session_sync.build from sql/ in the\n"
             "-- order of sql/manifest.txt. Each part is one file of sql/, as stored.\n"]
    for path in files(sql_dir):
        parts.append(f"\n-- sql/{path.relative_to(sql_dir)}\n{path.read_text().rstrip()}\n")
    return "".join(parts)


def freeze(sql_dir: Path = SQL_DIR, versions: Path = VERSIONS) -> None:
    """Write the install and uninstall scripts as revision 0002's frozen files and their SHA256s
    into the revision (only before 1.0 is released: a landed revision never changes)."""
    from session_sync.migration_sql import digest

    revision = versions / "0002_install.py"
    text = revision.read_text()
    for name, content in (("0002_install.sql", install_script(sql_dir)),
                          ("0002_uninstall.sql", (sql_dir / "uninstall.sql").read_text())):
        (versions / name).write_text(content)
        constant = "INSTALL_SHA256" if "uninstall" not in name else "UNINSTALL_SHA256"
        text = re.sub(rf'^{constant} = "[0-9a-f]*"$', f'{constant} = "{digest(versions / name)}"', text,
                      flags=re.MULTILINE)
    revision.write_text(text)


if __name__ == "__main__":
    if sys.argv[1:] == ["--freeze"]:
        freeze()
    elif sys.argv[1:]:
        sys.exit("usage: python -m session_sync.build [--freeze]")
    else:
        sys.stdout.write(install_script())
