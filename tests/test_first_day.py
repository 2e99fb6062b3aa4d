"""Issue 24, the operator's first day, through the installed `session-sync` as a user runs it:
uninstall, cron without a database, the baseline's adoption check, migrations that talk, the demo
checking first, `migrate --sql --from`, and the small ones (--version, `;;`, `.ci/postgres15`,
no citation of files a user does not have)."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from importlib.metadata import version
from pathlib import Path

from test_cli import SESSION_SYNC, on_terminal, run, without_libpq_environment

from session_sync import migrate

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_SCHEMA = (ROOT / "tests" / "platform_schema.sql").read_text()
PLATFORM_TABLES = ("course_purchases", "purchase_sessions", "trainer_allocations", "tutoring_sessions")
DATA_COMMANDS = (["migrate"], ["uninstall", "--yes"], ["sync"], ["health"], ["verify"], ["pending"], ["failures"],
                 ["diagnose", str(uuid.uuid4())])


def platform_rows(db) -> dict[str, list]:
    return {table: db.rows(f"SELECT to_jsonb(t) FROM public.{table} t ORDER BY t.id") for table in PLATFORM_TABLES}


def package_objects(db) -> int:
    """Triggers, schema, relations and version table of session-sync left in ``db``."""
    return db.value("""
        SELECT (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'session\\_sync\\_%')
             + (SELECT count(*) FROM pg_namespace WHERE nspname = 'session_sync')
             + (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace
                AND (relname LIKE 'session\\_sync\\_%' OR relname = 'alembic_version'))
             + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace
                AND proname LIKE 'sync\\_%')""")


def test_uninstall_asks_first_and_keeps_the_platforms_tables_and_rows(empty_db):
    empty_db.execute(PLATFORM_SCHEMA)
    before = platform_rows(empty_db)
    assert run("--database-url", empty_db.url, "migrate").returncode == 0
    installed = package_objects(empty_db)

    unconfirmed = run("--database-url", empty_db.url, "uninstall")  # off a terminal, no --yes
    assert unconfirmed.returncode == 2 and "pass --yes" in unconfirmed.stderr
    code, _, asked = on_terminal("--database-url", empty_db.url, "uninstall", env=without_libpq_environment(),
                                 answer="n")  # input() prompts on stderr when stdin and stdout are a terminal
    assert code == 1 and "Remove session-sync (" in asked and "[y/N]" in asked and "cancelled" in asked
    assert package_objects(empty_db) == installed  # nothing changed either time

    script = run("--database-url", empty_db.url, "uninstall", "--sql")
    assert script.returncode == 0, script.stderr
    assert "-- Running downgrade 0002_install -> 0001_platform_baseline" in script.stdout
    assert "DROP TRIGGER IF EXISTS session_sync_commit_purchases ON public.course_purchases" in script.stdout
    assert ";;" not in script.stdout

    removed = run("--database-url", empty_db.url, "uninstall", "--yes")
    assert removed.returncode == 0, removed.stderr
    assert "session-sync: reverting 0002_install" in removed.stderr and "Traceback" not in removed.stderr
    assert "NOTICE: session-sync: keeping public.course_purchases" in removed.stderr
    assert "removed " in removed.stdout and " triggers on the platform's tables" in removed.stdout
    assert ("Kept the platform's tables course_purchases, purchase_sessions, trainer_allocations, tutoring_sessions"
            in removed.stdout)
    assert package_objects(empty_db) == 0
    assert platform_rows(empty_db) == before
    assert run("--database-url", empty_db.url, "uninstall", "--yes").stdout.startswith(
        "session-sync is not installed")
    assert run("--database-url", empty_db.url, "migrate").returncode == 0  # and it installs again


def test_off_a_terminal_no_database_means_exit_2_never_the_embedded_server(tmp_path):
    environment = without_libpq_environment({"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")})
    for command in DATA_COMMANDS:  # as cron runs them: `out=$(session-sync health) || mail ...`
        result = run(*command, env=environment)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stdout == ""
        assert all(name in result.stderr for name in ("--database-url", "DATABASE_URL", "PG*")), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # no server was created, let alone started
    status = run("server", "status", env=environment)  # the server command keeps its default
    assert status.returncode == 1 and "not created yet" in status.stdout


def test_the_baseline_checks_the_platforms_tables_before_creating_anything(empty_db):
    empty_db.execute("CREATE TABLE public.course_purchases (id uuid PRIMARY KEY, course_id uuid, status varchar(30), "
                     "trainer_id text, class_type text, total_sessions int, delivery_mode text, start_date date, "
                     "preferred_time_slot text, student_location jsonb, created_at timestamp)")
    empty_db.execute("INSERT INTO public.course_purchases (id) VALUES (gen_random_uuid())")
    result = run("--database-url", empty_db.url, "migrate")
    assert result.returncode == 2
    assert ("session-sync: ERROR: session-sync cannot adopt the platform's tables: course_purchases lacks "
            "booking_id (uuid); course_purchases lacks students (jsonb); course_purchases.trainer_id is text, "
            "not uuid; nothing was changed") in result.stderr
    assert "HINT: session-sync reads these columns" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 4
    assert empty_db.one("SELECT to_regclass('public.purchase_sessions'), to_regclass('public.tutoring_sessions'), "
                        "to_regclass('public.trainer_allocations'), to_regclass('public.alembic_version'), "
                        "to_regclass('public.session_sync_baseline_tables')") == (None,) * 5
    assert empty_db.value("SELECT count(*) FROM public.course_purchases") == 1


def test_migrate_names_each_revision_and_says_what_it_did(empty_db):
    empty_db.execute(PLATFORM_SCHEMA)
    first = run("--database-url", empty_db.url, "migrate")
    assert first.returncode == 0, first.stderr
    steps = [line for line in first.stderr.splitlines() if line.startswith("session-sync: applying")]
    assert [step.split(":")[1].split()[-1] for step in steps] == ["0001_platform_baseline", "0002_install",
                                                                     "0003_write_path"]
    triggers = empty_db.value("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'session\\_sync\\_%'")
    views = empty_db.value("SELECT count(*) FROM pg_views WHERE viewname LIKE 'session\\_sync\\_%'")
    assert first.stdout.startswith(f"session-sync is at {migrate.head()} in the database from --database-url "
                                   "(it was not installed): created ")
    assert f" {views} views, " in first.stdout and f" {triggers} triggers on the platform's tables" in first.stdout
    assert ("Adopted the platform's tables course_purchases, purchase_sessions, trainer_allocations, "
            "tutoring_sessions as they are") in first.stdout
    again = run("--database-url", empty_db.url, "migrate")
    assert again.returncode == 0 and "already up to date, nothing to do" in again.stdout
    assert "applying" not in again.stderr


def test_migrate_says_what_it_waits_for_and_fails_in_a_few_lines(empty_db):
    empty_db.execute(PLATFORM_SCHEMA)
    migrate.upgrade(empty_db.url, "0001_platform_baseline")
    with empty_db.connect() as holder:  # a platform transaction that wrote purchase_sessions, still open
        holder.execute("LOCK TABLE public.purchase_sessions IN ROW EXCLUSIVE MODE")
        pid = holder.info.backend_pid
        result = run("--database-url", empty_db.url, "migrate", env={"PGOPTIONS": "-c session_sync.lock_wait=6s"})
        holder.rollback()
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith("NOTICE: session-sync migration: waiting to lock course_purchases") and str(pid) in line
               for line in lines), lines
    assert ("session-sync: ERROR: session-sync migration: could not lock course_purchases, purchase_sessions, "
            "tutoring_sessions, trainer_allocations within 00:00:06; nothing was changed") in lines
    assert f"DETAIL: Backends holding them: {pid}" in lines and any(line.startswith("HINT: ") for line in lines)
    assert "Traceback" not in result.stderr and len(lines) <= 6
    assert empty_db.value("SELECT version_num FROM public.alembic_version") == "0001_platform_baseline"
    assert empty_db.value("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'session\\_sync\\_%'") == 0
    assert run("--database-url", empty_db.url, "migrate").returncode == 0


def test_the_demo_refuses_a_populated_database_before_migrating_it(empty_db):
    empty_db.execute(PLATFORM_SCHEMA)
    result = run("--database-url", empty_db.url, "demo")
    assert result.returncode == 2 and "needs an empty database" in result.stderr
    assert "Migrating" not in result.stdout and "Traceback" not in result.stderr
    assert package_objects(empty_db) == 0


def test_migrate_sql_starts_from_the_databases_revision(empty_db):
    whole = run("migrate", "--sql", env=without_libpq_environment())
    assert whole.returncode == 0, whole.stderr
    assert "CREATE TABLE public.alembic_version" in whole.stdout and ";;" not in whole.stdout
    assert "-- Running upgrade  -> 0001_platform_baseline" in whole.stdout
    migrate.upgrade(empty_db.url, "0001_platform_baseline")
    rest = run("--database-url", empty_db.url, "migrate", "--sql")
    assert rest.returncode == 0, rest.stderr
    assert re.findall(r"-- Running upgrade .*", rest.stdout) == [
        "-- Running upgrade 0001_platform_baseline -> 0002_install", "-- Running upgrade 0002_install -> 0003_write_path"]
    assert "CREATE TABLE public.alembic_version" not in rest.stdout and ";;" not in rest.stdout
    assert run("--database-url", empty_db.url, "migrate", "--sql", "--from", "base").stdout == whole.stdout
    assert empty_db.value("SELECT version_num FROM public.alembic_version") == "0001_platform_baseline"
    migrate.upgrade(empty_db.url)
    done = run("--database-url", empty_db.url, "migrate", "--sql")
    assert done.returncode == 0 and done.stdout == f"-- session-sync is already at {migrate.head()}: nothing to run\n"


def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout == f"session-sync {version('session-sync')}\n"


def test_nothing_cites_files_a_user_does_not_have():
    cited = "shared" + "/"
    found = subprocess.run(["grep", "-rIl", "--exclude-dir=__pycache__", cited, "src", "tests", "sql", "bench",
                            "migrations"], cwd=ROOT, capture_output=True, text=True)
    assert [path for path in found.stdout.split() if ".egg-info" not in path] == []


def test_ci_installs_only_missing_packages_and_never_upgrades_the_server(tmp_path):
    """.ci/postgres15 with postgresql-15 installed and plpgsql_check missing, on stub commands."""
    calls = tmp_path / "calls"
    stubs = {
        "dpkg": '[ "$2" = postgresql-15 ]',
        "apt-get": f'echo "apt-get $*" >> {calls}',
        "pg_lsclusters": "echo '15 main 5432 online postgres /var/lib/postgresql/15/main log'",
        "runuser": "echo 1",
    }
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    result = subprocess.run(["bash", str(ROOT / ".ci" / "postgres15")], capture_output=True, text=True,
                            env={**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "postgresql:///postgres?host=/var/run/postgresql&port=5432"
    installs = [line.split() for line in calls.read_text().splitlines() if " install " in line]
    assert len(installs) == 1 and "--no-upgrade" in installs[0]
    assert installs[0][-1] == "postgresql-15-plpgsql-check" and "postgresql-15" not in installs[0]
    for script in ("run", "postgres15"):
        assert subprocess.run(["bash", "-n", str(ROOT / ".ci" / script)]).returncode == 0
    assert "trap " in (ROOT / ".ci" / "run").read_text()
