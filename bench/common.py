"""What the benchmarks share (they need the package installed: `pip install -e '.[bench]'`).

Speed is never asserted in tests; it is measured here, as ratios to a floor of the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from session_sync import embedded, migrate
from session_sync.urls import libpq_conninfo
from workload import generate

ROOT = Path(__file__).resolve().parents[1]
SYNC_ALL = "SELECT * FROM sync_all_sessions()"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parser(doc: str, output: str) -> argparse.ArgumentParser:
    """The script's options, with --database-url and --output (bench/results/``output``)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a server of your own (creates and drops databases); "
                                               "default: a throwaway embedded PostgreSQL")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / output)
    return parser


class Server:
    """The server at ``url``, or a throwaway embedded one: the benchmark creates its databases there."""

    def __init__(self, url: str | None) -> None:
        self.url = libpq_conninfo(url) if url else embedded.start_temporary("session-sync-bench-")

    def admin(self, sql: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql)

    def create(self, name: str, template: str | None = None) -> str:
        """A new database ``name`` (a copy of ``template``); returns its connection string."""
        self.drop(name)
        self.admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        if template:
            # The copy is written through the WAL; without a checkpoint here, the one it triggers
            # lands in whichever variant runs next and its figure swings by a third.
            self.admin("CHECKPOINT")
        return make_conninfo(self.url, dbname=name)

    def drop(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}"')

    def workload(self, name: str, sessions: int) -> tuple[str, dict[str, int]]:
        """A database at head holding bench/workload.py's data set, analyzed."""
        url = self.create(name)
        migrate.upgrade(url)
        start = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            counts = generate(conn, sessions)
            conn.execute("VACUUM ANALYZE")
        log(f"generated {counts} in {time.perf_counter() - start:.1f}s")
        return url, counts


def timed(url: str, *statements: str, setup: tuple[str, ...] = (), rollback: bool = False) -> float:
    """Seconds taken by ``statements`` after the untimed ``setup``, on a new connection: autocommit,
    or with ``rollback`` one transaction rolled back."""
    with psycopg.connect(url, autocommit=not rollback) as conn:
        conn.execute("SET client_min_messages = warning")
        for statement in setup:
            conn.execute(statement)
        start = time.perf_counter()
        for statement in statements:
            conn.execute(statement)
        took = time.perf_counter() - start
        if rollback:
            conn.rollback()
    return took


def medians(samples: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in samples.items()}


def report(title: str, figures: dict[str, str], ratios: dict[str, float]) -> None:
    print(f"\n== {title} ==")
    for name, figure in figures.items():
        print(f"  {name:<32}{figure}")
    for name, ratio in ratios.items():
        print(f"  {name}: {ratio:.2f}")


def write(path: Path, figures: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2))
    print(f"\nfigures written to {path}")
