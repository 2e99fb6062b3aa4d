"""Printing query results: rich tables for people, JSON for scripts.

Tables never break an id or a word: on a terminal they fit its width by wrapping text between
words (a table whose words cannot fit is printed as wide as they need); off a terminal (logs,
pipes, cron mail) every row is printed on one line, full width, as psql does.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from rich.console import Console
from rich.rule import Rule
from rich.segment import Segment
from rich.table import Table

# Off a terminal nothing is wrapped: lines are as long as their content.
UNLIMITED = 1_000_000
RULE_WIDTH = 80


def fetch(conn: psycopg.Connection, query: str, params: Any = None) -> tuple[list[str], list[tuple]]:
    with conn.cursor() as cur:
        cur.execute(query, params)
        names = [c.name for c in cur.description] if cur.description else []
        return names, cur.fetchall() if cur.description else []


def _plain(value: Any) -> Any:
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def console(stderr: bool = False) -> Console:
    """A console for stdout (or stderr) that never wraps output off a terminal."""
    made = Console(stderr=stderr, highlight=False)
    return made if made.is_terminal else Console(stderr=stderr, highlight=False, width=UNLIMITED)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def table(names: list[str], rows: list[tuple], title: str | None = None) -> Table:
    """A table that wraps text between words only: no column is narrower than its longest word
    (an id, alone or inside a message), and id columns never wrap."""
    cells = [[_text(v) for v in row] for row in rows]
    result = Table(title=title, title_justify="left", show_lines=False)
    for i, name in enumerate(names):
        is_id = any(isinstance(row[i], UUID) for row in rows)
        longest_word = max((len(word) for row in cells for word in row[i].split()), default=0)
        result.add_column(name, no_wrap=is_id, overflow="fold", min_width=max(longest_word, len(name)))
    for row in cells:
        result.add_row(*row)
    return result


def _rendered_width(out: Console, renderable: Table, width: int) -> int:
    """How wide ``renderable`` comes out when laid out for ``width`` columns (before any cropping)."""
    lines = Segment.split_lines(out.render(renderable, out.options.update_width(width)))
    return max((Segment.get_line_length(line) for line in lines), default=0)


def print_table(out: Console, renderable: Table) -> None:
    """Print a table without breaking a word: wider than the terminal when it must be."""
    needed = out.measure(renderable, options=out.options.update(width=UNLIMITED))
    width = max(out.width, needed.minimum) if out.is_terminal else needed.maximum
    for _ in range(5):  # rich lays columns out for a width, then widens those with a min_width
        actual = _rendered_width(out, renderable, width)
        if actual <= width:
            break
        width = actual
    if width <= out.width:
        out.print(renderable)
        return
    wide = Console(file=out.file, width=width, highlight=False, force_terminal=out.is_terminal,
                   color_system=out.color_system, no_color=out.no_color)
    wide.print(renderable)


def heading(out: Console, title: str) -> None:
    """A horizontal rule with a title, at most 80 columns wide off a terminal."""
    out.print(Rule(title), width=None if out.is_terminal else RULE_WIDTH)


def show_rows(out: Console, conn: psycopg.Connection, query: str, title: str, params: Any = None) -> None:
    names, rows = fetch(conn, query, params)
    if rows:
        print_table(out, table(names, rows, title))
    else:
        out.print(f"[bold]{title}[/bold]: none")


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=_plain))
