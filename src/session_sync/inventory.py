"""What session-sync has in a database: its objects, the triggers and indexes it put on the
platform's tables, and the platform's tables; taken before and after a migration to say what it did."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import psycopg

PLATFORM_TABLES = ("course_purchases", "purchase_sessions", "trainer_allocations", "tutoring_sessions")

# (kind, name) of every object of the package: whatever lives in schema session_sync; in public, the
# routines, views and tables named session_sync_* or sync_* (its API); on the platform's tables,
# the triggers and indexes named session_sync_*.
_OBJECTS = r"""
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, n.nspname || '.' || p.proname
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
WHERE n.nspname OPERATOR(pg_catalog.=) 'session_sync'
   OR (n.nspname OPERATOR(pg_catalog.=) 'public' AND (p.proname OPERATOR(pg_catalog.~) '^(session_sync_|sync_)'))
UNION ALL
SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END, n.nspname || '.' || c.relname
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{r,v,p}'::pg_catalog."char"[])
  AND (n.nspname OPERATOR(pg_catalog.=) 'session_sync'
       OR (n.nspname OPERATOR(pg_catalog.=) 'public' AND c.relname OPERATOR(pg_catalog.~) '^session_sync_'))
UNION ALL
SELECT 'trigger', t.tgname || ' on ' || c.relname
FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.tgrelid
WHERE NOT t.tgisinternal AND t.tgname OPERATOR(pg_catalog.~) '^session_sync_'
  AND c.relnamespace OPERATOR(pg_catalog.=) 'public'::pg_catalog.regnamespace
  AND c.relname OPERATOR(pg_catalog.=) ANY (%(platform)s::pg_catalog.name[])
UNION ALL
SELECT 'index', i.relname || ' on ' || c.relname
FROM pg_catalog.pg_index x
JOIN pg_catalog.pg_class i ON i.oid OPERATOR(pg_catalog.=) x.indexrelid
JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) x.indrelid
WHERE i.relname OPERATOR(pg_catalog.~) '^session_sync_'
  AND c.relnamespace OPERATOR(pg_catalog.=) 'public'::pg_catalog.regnamespace
  AND c.relname OPERATOR(pg_catalog.=) ANY (%(platform)s::pg_catalog.name[])
UNION ALL
SELECT 'platform table', c.relname
FROM pg_catalog.pg_class c
WHERE c.relnamespace OPERATOR(pg_catalog.=) 'public'::pg_catalog.regnamespace
  AND c.relname OPERATOR(pg_catalog.=) ANY (%(platform)s::pg_catalog.name[])
"""

# How each kind is counted in a sentence (one, many), in this order.
_KINDS = {"function": ("function", "functions"), "procedure": ("procedure", "procedures"),
          "view": ("view", "views"), "table": ("table", "tables"),
          "trigger": ("trigger on the platform's tables", "triggers on the platform's tables"),
          "index": ("index on the platform's tables", "indexes on the platform's tables")}


@dataclass(frozen=True)
class Inventory:
    objects: frozenset[tuple[str, str]]

    def platform_tables(self) -> list[str]:
        return sorted(name for kind, name in self.objects if kind == "platform table")

    def __sub__(self, other: Inventory) -> Inventory:
        return Inventory(self.objects - other.objects)


def take(conn: psycopg.Connection) -> Inventory:
    rows = conn.execute(_OBJECTS, {"platform": list(PLATFORM_TABLES)}).fetchall()
    return Inventory(frozenset((kind, name) for kind, name in rows))


def counts(inventory: Inventory) -> str:
    """``"52 functions, 1 procedure, 8 views, ..."`` (kinds with none left out), else ``"nothing"``."""
    counted = Counter(kind for kind, _ in inventory.objects)
    return ", ".join(f"{counted[kind]} {one if counted[kind] == 1 else many}"
                     for kind, (one, many) in _KINDS.items() if counted[kind]) or "nothing"
