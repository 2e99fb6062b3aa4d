"""The mapped columns, listed once, and the SQL sources rendered from that list.

``sql/views/session_sync_expected.sql`` (the mapping) names, in its header, the columns it maps
and the ``purchase_sessions`` columns it reads::

    -- mapped: allocation_id student_id ... student_home_location
    -- reads purchase_sessions: id purchase_id ... metadata

Every other file that must list them (the drift test of the state view, the write's column
lists, the WHEN clauses of the note and tracking triggers) says so with a placeholder, and
every tool that reads ``sql/`` (sources, contracts, snapshot, the latency bench) reads it
rendered, so a revision freezes plain SQL:

``/*@mapped TEMPLATE*/`` / ``/*@reads TEMPLATE*/``
    TEMPLATE once per column, ``%`` standing for the column's name. Alone on its line, each copy
    is a line of its own with the placeholder's indentation (TEMPLATE carries its own comma);
    within a line, the copies are joined by ", ".
"""

from __future__ import annotations

import re
from pathlib import Path

EXPECTED = Path("views") / "session_sync_expected.sql"
_LISTS = {"mapped": re.compile(r"^-- mapped: (.+)$", re.MULTILINE),
          "reads": re.compile(r"^-- reads purchase_sessions: (.+)$", re.MULTILINE)}
_PLACEHOLDER = re.compile(r"/\*@(\w+) (.*?)\*/")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def columns(sql_dir: Path) -> dict[str, list[str]]:
    """The two lists of the mapping's header: ``mapped`` and ``reads`` (purchase_sessions)."""
    path = sql_dir / EXPECTED
    text = path.read_text()
    found: dict[str, list[str]] = {}
    for name, pattern in _LISTS.items():
        matches = pattern.findall(text)
        if len(matches) != 1:
            raise ValueError(f"{path}: expected one '-- {name}' line in the header, found {len(matches)}")
        names = matches[0].split()
        bad = [n for n in names if not _NAME.match(n)]
        if bad or not names or len(set(names)) != len(names):
            raise ValueError(f"{path}: '-- {name}' must list distinct lower-case column names, got {matches[0]!r}")
        found[name] = names
    return found


def _render_line(line: str, lists: dict[str, list[str]], where: str) -> list[str]:
    match = _PLACEHOLDER.search(line)
    if match is None:
        return [line]
    if match.group(1) not in lists:
        raise ValueError(f"{where}: unknown placeholder /*@{match.group(1)} ...*/ (known: {', '.join(lists)})")
    if line.strip() == match.group(0):  # alone on its line: a line per column
        indent = line[:len(line) - len(line.lstrip())]
        return [indent + match.group(2).replace("%", name) for name in lists[match.group(1)]]

    def expand(found: re.Match[str]) -> str:
        if found.group(1) not in lists:
            raise ValueError(f"{where}: unknown placeholder /*@{found.group(1)} ...*/ (known: {', '.join(lists)})")
        return ", ".join(found.group(2).replace("%", name) for name in lists[found.group(1)])

    return [_PLACEHOLDER.sub(expand, line)]


def render(sql: str, sql_dir: Path, where: str = "SQL") -> str:
    """``sql`` with every placeholder replaced by the lists of ``sql_dir``'s mapping."""
    if "/*@" not in sql:
        return sql
    lists = columns(sql_dir)
    lines: list[str] = []
    for line in sql.split("\n"):
        lines.extend(_render_line(line, lists, where))
    return "\n".join(lines)


def read(path: Path, sql_dir: Path | None = None) -> str:
    """A file of ``sql/`` as it is installed (rendered). ``sql_dir`` defaults to the ``sql``
    folder the file is in."""
    if sql_dir is None:
        sql_dir = next((p for p in path.resolve().parents if (p / EXPECTED).is_file()), path.resolve().parent)
    return render(path.read_text(), sql_dir, str(path))
