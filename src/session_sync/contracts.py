"""The contracts of the package's objects, as COMMENT ON statements, from the headers of sql/.

Each file under ``sql/`` defines one object (a trigger file may define several triggers) and
opens with a comment block that states its contract. That block is the one source of the
object's description: ``python -m session_sync.contracts`` prints a ``COMMENT ON`` statement for
every object, from the header of its file, and a revision freezes that output
(``session_sync_contracts.sql``) beside its SQL, so that ``\\df+``, ``\\dv+`` and ``\\d+`` show the
same text as the file. A table's columns are described by the comment that ends each column's
line in its ``CREATE TABLE``; a view's columns by the comment that ends the line naming the
column in its select list (``... AS name, -- text``).

    python -m session_sync.contracts [SQL_DIR]     # the statements, to stdout
    python -m session_sync.contracts --since migrations/versions/0011_contracts_health
                                                   # only those a revision after 0011 must add
    python -m session_sync.contracts --since migrations/versions/0012_write_cost \
        --recreated public.session_sync_pending,...   # and all of the views a revision drops and creates

CREATE OR REPLACE keeps an object's description, so a revision after the first that installs
contracts freezes only the statements that are new or changed since the revision it follows
(``--since``: the ``session_sync_contracts.sql`` of that revision's folder and of every earlier
one, in revision order, a later description of an object replacing an earlier one): its
migration then locks nothing to describe objects it did not touch.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from session_sync import mapping

# The checkout's sql/ (editable install), else the copy a wheel ships as session_sync/sql.
_CHECKOUT_SQL = Path(__file__).resolve().parents[2] / "sql"
SQL_DIR = _CHECKOUT_SQL if (_CHECKOUT_SQL / "functions").is_dir() else Path(__file__).resolve().parent / "sql"
# Directories whose files carry contracts; grants/ sets privileges and describes nothing.
DIRECTORIES = ["schemas", "tables", "indexes", "functions", "api", "views", "procedures", "triggers"]

_CREATE = re.compile(
    r"^CREATE\s+(?:OR\s+REPLACE\s+)?(?:UNIQUE\s+)?(?P<kind>SCHEMA|TABLE|INDEX|FUNCTION|PROCEDURE|VIEW)"
    r"\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>[\w.]+)", re.IGNORECASE | re.MULTILINE)
_INDEX_TABLE = re.compile(r"\bON\s+(?P<table>[\w.]+)", re.IGNORECASE)
_TRIGGER = re.compile(
    r"^CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?TRIGGER\s+(?P<name>\w+)\b.*?\bON\s+(?P<table>[\w.]+)",
    re.IGNORECASE | re.MULTILINE | re.DOTALL)
_IDENTIFIER = re.compile(r"\b[a-z_][a-z0-9_]*\b")


@dataclass
class Contract:
    kind: str  # SCHEMA, TABLE, INDEX, FUNCTION, PROCEDURE, VIEW, TRIGGER
    name: str  # schema-qualified, as the file names it (a trigger: "name ON table")
    text: str
    columns: dict[str, str] = field(default_factory=dict)


def header(sql: str) -> str:
    """The comment block a file opens with, without its ``--`` markers."""
    lines = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[3:] if line.startswith("-- ") else line[2:])
    return "\n".join(lines).strip()


def _body_of(sql: str, start: int) -> list[str]:
    """The lines of the statement that starts at ``start`` (up to the line ending in ';')."""
    lines = []
    for line in sql[start:].splitlines()[1:]:
        lines.append(line)
        if line.rstrip().endswith(";"):
            break
    return lines


def parse(path: Path, sql_dir: Path | None = None) -> list[Contract]:
    sql = mapping.read(path, sql_dir)  # rendered: a view's mapped columns have their lines
    text = header(sql)
    if not text:
        raise ValueError(f"{path}: no header comment (the object's contract) at the top of the file")
    triggers = list(_TRIGGER.finditer(sql))
    if triggers:
        return [Contract("TRIGGER", f"{t['name']} ON {t['table']}", text) for t in triggers]
    match = _CREATE.search(sql)
    if match is None:
        raise ValueError(f"{path}: no CREATE statement found")
    kind, name = match["kind"].upper(), match["name"]
    contract = Contract(kind, name, text)
    if kind == "INDEX":
        schema = _INDEX_TABLE.search(sql, match.end())["table"].split(".")[0]
        contract.name = f"{schema}.{name}" if "." not in name else name
    if kind in ("TABLE", "VIEW"):
        for line in _body_of(sql, match.start()):
            if kind == "VIEW" and line.startswith("FROM"):
                break  # a view's columns are its outer select list
            code, marker, text = line.partition("--")
            if not marker or not code.strip():
                continue
            names = _IDENTIFIER.findall(code)
            if names:
                # a table's column opens its line; a view's column ends it (its alias)
                contract.columns[names[0] if kind == "TABLE" else names[-1]] = text.strip()
    return [contract]


def contracts(sql_dir: Path = SQL_DIR) -> list[Contract]:
    found = []
    for directory in DIRECTORIES:
        for path in sorted((sql_dir / directory).glob("*.sql")):
            found.extend(parse(path, sql_dir))
    return found


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_STATEMENT = re.compile(r"^(COMMENT ON .+?) IS '.*?';$(?=\n(?:COMMENT ON |--)|\n?\Z)", re.MULTILINE | re.DOTALL)


def installed(revision_dir: Path) -> dict[str, str]:
    """The description statement of each target as the revision of ``revision_dir`` (a folder
    under migrations/versions) leaves it: its contracts file and those of the revisions before
    it, in revision order, a later statement for a target replacing an earlier one."""
    found: dict[str, str] = {}
    for path in sorted(revision_dir.parent.glob("*/session_sync_contracts.sql")):
        if path.parent.name > revision_dir.name:
            continue
        for match in _STATEMENT.finditer(path.read_text()):
            found[match.group(1)] = match.group(0)
    return found


def statements(sql_dir: Path = SQL_DIR, since: dict[str, str] | None = None,
               recreated: frozenset[str] = frozenset()) -> str:
    """COMMENT ON statements for every object under ``sql_dir``, in a stable order; with
    ``since`` (see :func:`installed`), only those that differ from it, and all of those of the
    objects named in ``recreated`` (dropped and created again by the revision: DROP takes the
    descriptions with it)."""
    out = ["-- Generated by python -m session_sync.contracts from the headers of sql/: do not edit.",
           "-- Each object's description is its file's header comment (columns: the comment ending",
           "-- the column's line)."]
    if since is not None:
        out.append("-- Only the descriptions that are new or changed since an earlier revision's.")
    for contract in contracts(sql_dir):
        found = {f"COMMENT ON {contract.kind} {contract.name}": contract.text}
        for column, text in contract.columns.items():
            found[f"COMMENT ON COLUMN {contract.name}.{column}"] = text
        for target, text in found.items():
            statement = f"{target} IS {_literal(text)};"
            if since is None or since.get(target) != statement or contract.name in recreated:
                out.append(statement)
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    usage = "usage: python -m session_sync.contracts [--since REVISION_DIR [--recreated NAME,...]] [SQL_DIR]"
    since = None
    recreated: frozenset[str] = frozenset()
    if argv[:1] == ["--since"]:
        if len(argv) < 2 or not Path(argv[1]).is_dir():
            sys.exit(usage)
        since, argv = installed(Path(argv[1])), argv[2:]
        if argv[:1] == ["--recreated"]:
            if len(argv) < 2:
                sys.exit(usage)
            recreated, argv = frozenset(argv[1].split(",")), argv[2:]
    sys.stdout.write(statements(Path(argv[0]) if argv else SQL_DIR, since, recreated))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
