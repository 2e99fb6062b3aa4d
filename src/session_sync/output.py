"""Printing query results: rich tables for people, JSON for scripts."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from rich.console import Console
from rich.table import Table


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


def as_dicts(names: list[str], rows: list[tuple]) -> list[dict[str, Any]]:
    return [{n: _plain(v) for n, v in zip(names, row)} for row in rows]


def table(names: list[str], rows: list[tuple], title: str | None = None) -> Table:
    result = Table(title=title, title_justify="left", show_lines=False)
    for name in names:
        result.add_column(name, overflow="fold")
    for row in rows:
        result.add_row(*("" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else str(v)) for v in row))
    return result


def show_rows(console: Console, conn: psycopg.Connection, query: str, title: str, params: Any = None) -> None:
    names, rows = fetch(conn, query, params)
    if rows:
        console.print(table(names, rows, title))
    else:
        console.print(f"[bold]{title}[/bold]: none")


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=_plain))
