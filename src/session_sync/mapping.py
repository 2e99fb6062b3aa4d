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
    TEMPLATE once per column, ``%`` standing for the column's name. Alone on its line (a comma
    may follow it), each copy is a line of its own with the placeholder's indentation, the copies
    separated by commas put after their code, before a ``--`` comment TEMPLATE ends with (the
    last copy gets one when the placeholder is followed by a comma); within a line, the copies
    are joined by ", ". Every ``%`` of TEMPLATE is the name (there is no literal ``%``),
    TEMPLATE cannot hold ``*/``, and a placeholder is rendered wherever it stands (in a string
    literal or a ``--`` comment too). Anything left that starts with ``/*@`` after rendering (a
    misspelt placeholder, one split over lines) is an error, not a comment.

    python -m session_sync.mapping sql/functions/session_sync_write_batch.sql   # print it rendered

Errors PostgreSQL reports for a rendered file number the rendered lines: print it to read them.
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


def _with_comma(line: str) -> str:
    """The line with a comma after its code, before a ``--`` comment it ends with."""
    code = line.split("--", 1)[0].rstrip()
    return code + "," + line[len(code):]


def _render_line(line: str, lists: dict[str, list[str]], where: str) -> list[str]:
    for found in _PLACEHOLDER.finditer(line):
        if found.group(1) not in lists:
            raise ValueError(f"{where}: unknown placeholder /*@{found.group(1)} ...*/ (known: {', '.join(lists)})")
    match = _PLACEHOLDER.search(line)
    if match is None:
        return [line]
    if line.strip() in (match.group(0), match.group(0) + ","):  # alone on its line: a line per column
        indent = line[:len(line) - len(line.lstrip())]
        copies = [indent + match.group(2).replace("%", name) for name in lists[match.group(1)]]
        last = len(copies) - (0 if line.strip().endswith(",") else 1)
        return [_with_comma(copy) if i < last else copy for i, copy in enumerate(copies)]

    return [_PLACEHOLDER.sub(lambda found: ", ".join(found.group(2).replace("%", name)
                                                  for name in lists[found.group(1)]), line)]


def render(sql: str, sql_dir: Path, where: str = "SQL") -> str:
    """``sql`` with every placeholder replaced by the lists of ``sql_dir``'s mapping."""
    if "/*@" not in sql:
        return sql
    lists = columns(sql_dir)
    lines: list[str] = []
    for number, line in enumerate(sql.split("\n"), start=1):
        rendered = _render_line(line, lists, f"{where}:{number}")
        if any("/*@" in r for r in rendered):
            raise ValueError(f"{where}:{number}: a placeholder that does not render (the form is "
                             f"/*@mapped TEMPLATE*/ or /*@reads TEMPLATE*/ on one line): {line.strip()!r}")
        lines.extend(rendered)
    return "\n".join(lines)


def read(path: Path, sql_dir: Path | None = None) -> str:
    """A file of ``sql/`` as it is installed (rendered). ``sql_dir`` defaults to the ``sql``
    folder the file is in."""
    text = path.read_text()
    if sql_dir is None:
        sql_dir = next((p for p in path.resolve().parents if (p / EXPECTED).is_file()), None)
        if sql_dir is None:
            if "/*@" in text:
                raise ValueError(f"{path}: has placeholders but is not inside a sql/ folder with {EXPECTED}"
                                 " (the mapping they are rendered from)")
            return text
    return render(text, sql_dir, str(path))


if __name__ == "__main__":
    import sys
    if len(sys.argv) != 2:
        sys.exit("usage: python -m session_sync.mapping FILE   (prints FILE of sql/ rendered)")
    sys.stdout.write(read(Path(sys.argv[1])))
