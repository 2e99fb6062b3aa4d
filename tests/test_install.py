"""The install (revision 0002_install) and its uninstall (its downgrade), as operators run them.

The install adopts the platform's tables as they are, adds the package and nothing else; the
uninstall takes away every object of the package and leaves the platform's tables, columns and
rows as they were. ``sql/`` installed fresh gives the same database as the revisions up to head
(the check that keeps sql/ and later update revisions from drifting apart). Both directions lock
the platform's tables all at once or not at all: they wait for open platform transactions while
holding nothing, hold up no other write, never get a platform transaction killed, and give up
within ``session_sync.lock_wait`` having changed nothing.

isolationtester runs SQL steps only, and a migration is Alembic running Python and a frozen
script, so the interleavings are driven here: a platform transaction on a psycopg connection,
``alembic upgrade``/``downgrade`` in a subprocess as an operator runs it, and pg_locks /
pg_stat_activity to see who waits for whom.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from datetime import date

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from conftest import Db, _janitor, url_for
from factories import purchase, sessions
from helpers import (PLATFORM_TABLES, ROOT, alembic, commit_error, describe, finish, migration_backend,
                     platform_rows, schema, schema_diff, server_binary, start_alembic, stop, table_locks,
                     wait_until_retrying)
from session_sync import build, migrate
from session_sync.migration_sql import digest, run_script

BASELINE = "0001_platform_baseline"
INSTALL = "0002_install"
VERSIONS = ROOT / "migrations" / "versions"


def head() -> str:
    return ScriptDirectory.from_config(migrate.config()).get_current_head()


def columns(db):
    return db.rows("""SELECT table_name, column_name, data_type, is_nullable, column_default
                      FROM information_schema.columns WHERE table_schema = 'public'
                        AND table_name = ANY(%s) ORDER BY 1, 2""", PLATFORM_TABLES)


def package_objects(db) -> list[tuple]:
    """Whatever of the package a database holds: relations, routines, triggers, the schema."""
    return db.rows("""SELECT 'relation', relname::text FROM pg_class
                      WHERE relname LIKE 'session\\_sync%%' AND relname NOT LIKE 'session\\_sync\\_baseline\\_tables%%'
                        AND relnamespace = 'public'::regnamespace
                      UNION ALL SELECT 'routine', oid::regprocedure::text FROM pg_proc
                      WHERE proname LIKE 'session\\_sync%%' OR proname LIKE 'sync\\_%%'
                      UNION ALL SELECT 'trigger', tgname::text FROM pg_trigger WHERE tgname LIKE 'session\\_sync%%'
                      UNION ALL SELECT 'schema', nspname::text FROM pg_namespace WHERE nspname = 'session_sync'
                      ORDER BY 1, 2""")


def synced_platform(db) -> None:
    """Rows in every platform table, synced: two purchases, one with a completed session."""
    done = purchase(db)
    sessions(db, done, 2)
    sessions(db, purchase(db), 3)
    db.execute("SELECT * FROM sync_all_sessions()")
    db.execute("UPDATE tutoring_sessions SET status = 'completed'"
               " WHERE metadata ->> 'purchaseId' = %s::text AND metadata -> 'sessionNumber' = '1'", done)
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


@pytest.fixture
def baseline_db(server_url, server, fresh_db_name):
    """A database migrated to revision 0001 only (the platform's tables, no package); beside
    ``db`` and ``empty_db`` when a test has them too."""
    name = fresh_db_name + "_baseline"
    with _janitor(server, name):
        handle = Db(url_for(server_url, name))
        try:
            migrate.upgrade(handle.url, BASELINE)
            yield handle
        finally:
            handle.close()


# --- installing ---------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["postgresql://", "postgresql+psycopg://"])
def test_alembic_cli_installs_on_an_empty_database_with_either_url(empty_db, scheme):
    url = scheme + empty_db.url.split("://", 1)[1]
    result = alembic(url, "upgrade", "head")
    assert result.returncode == 0, result.stderr
    assert empty_db.value("SELECT version_num FROM alembic_version") == head()
    assert {r[0] for r in empty_db.rows("SELECT table_name FROM session_sync_baseline_tables")} == set(PLATFORM_TABLES)
    assert empty_db.value("SELECT count(*) FROM pg_indexes WHERE indexname = 'trainer_allocations_unique_approved'") == 1
    pid = purchase(empty_db)
    sessions(empty_db, pid, 2)
    assert empty_db.dict("SELECT * FROM sync_purchase_sessions(%s)", pid)["sessions_created"] == 2


def test_adopts_a_populated_platform_schema_without_changing_it(empty_db):
    empty_db.execute((ROOT / "tests" / "platform_schema.sql").read_text())
    cols, rows = columns(empty_db), platform_rows(empty_db)
    indexes = empty_db.rows("SELECT indexname FROM pg_indexes WHERE tablename = 'trainer_allocations' ORDER BY 1")
    migrate.upgrade(empty_db.url)
    assert columns(empty_db) == cols
    assert platform_rows(empty_db) == rows
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


def test_sql_installed_fresh_equals_the_migrations_to_head(db, baseline_db):
    """``sql/`` (the files of sql/manifest.txt, as session_sync.build concatenates them) installed
    on a database at 0001 gives exactly the database the revisions give up to head: tables,
    columns, constraints, indexes, views, routines, triggers (WHEN clauses included), privileges
    and descriptions, as pg_dump --schema-only shows them. A change to sql/ without its update
    revision, or a revision sql/ does not have, fails here."""
    with psycopg.connect(baseline_db.url, autocommit=True) as conn:
        conn.execute("SET search_path = pg_catalog, pg_temp")  # as env.py pins it for the migrations
        with conn.transaction():
            conn.execute(build.install_script())
    migrated, fresh = schema(db.url), schema(baseline_db.url)
    if migrated != fresh:
        pytest.fail("sql/ and the migrations disagree: put the change of sql/ in an update revision (or sql/ "
                    "lacks what a revision added):\n" + schema_diff(migrated, fresh, "migrated to head",
                                                                        "installed from sql/"))


def test_every_update_revision_downgrades_to_the_schema_before_it(db, baseline_db):
    """An update's downgrade puts back exactly what the revision before it installed (pg_dump
    --schema-only of head, downgraded one step at a time, against a fresh upgrade to each)."""
    script = ScriptDirectory.from_config(migrate.config())
    for revision in script.walk_revisions(INSTALL, "heads"):
        if revision.revision == INSTALL:
            break
        migrate.downgrade(db.url, revision.down_revision)
        migrate.upgrade(baseline_db.url, revision.down_revision)
        before, after = schema(baseline_db.url), schema(db.url)
        assert before == after, schema_diff(before, after, f"upgraded to {revision.down_revision}",
                                            f"downgraded from {revision.revision}")


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
        UNION ALL
        SELECT 'trigger ' || t.tgname || ' on ' || t.tgrelid::regclass::text FROM pg_trigger t
        WHERE t.tgname LIKE 'session\\_sync%%' AND obj_description(t.oid, 'pg_trigger') IS NULL
        ORDER BY 1""")
    assert undocumented == []
    # The description is the COMMENT ON at the foot of the object's file, word for word.
    text = (ROOT / "sql" / "functions" / "sync_all_sessions.sql").read_text()
    literal = re.search(r"COMMENT ON FUNCTION public\.sync_all_sessions IS '((?:[^']|'')*)';", text)
    assert literal, "sql/functions/sync_all_sessions.sql: no COMMENT ON FUNCTION public.sync_all_sessions at its foot"
    assert db.value("SELECT obj_description('public.sync_all_sessions'::regproc, 'pg_proc')") \
        == literal.group(1).replace("''", "'")


def test_editing_sql_does_not_change_what_the_revision_installs(empty_db, tmp_path):
    """The revision runs its frozen script: an edit of sql/ reaches a database only through a
    new revision."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "migrations", copy / "migrations")
    shutil.copytree(ROOT / "sql", copy / "sql")
    shutil.copy(ROOT / "alembic.ini", copy / "alembic.ini")
    edited = copy / "sql" / "functions" / "sync_all_sessions.sql"
    text = edited.read_text()
    assert text.count("One run at a time") == 1
    edited.write_text(text.replace("One run at a time", "EDITED LATER"))
    cfg = Config(str(copy / "alembic.ini"))
    cfg.attributes["url"] = empty_db.url
    command.upgrade(cfg, "head")
    definition = empty_db.value("SELECT pg_get_functiondef('sync_all_sessions'::regproc)")
    assert "One run at a time" in definition and "EDITED LATER" not in definition


def test_an_edited_frozen_script_is_refused(tmp_path):
    script = tmp_path / "0099_x.sql"
    script.write_text("SELECT 1;")
    sha256 = digest(script)
    script.write_text("SELECT 2;")
    with pytest.raises(RuntimeError, match="does not match its revision"):
        run_script(script, sha256)


# Every file of a landed revision, as it landed: a revision is history once on main (deployed
# databases ran it), so a change goes into a new update revision. Landing one adds its files here.
LANDED = {
    "0001_platform_baseline.py": "b527c35dde55fc5b685a88c85dfddcc8b4985bb58ccd4ebb680f7aefb9b4a6ce",
    "0002_install.py": "bd9b4ac37dc1a613676a1f18b32138761baf622faad032d074e36077503f1de5",
    "0002_install.sql": "98c0d36993722e925da536296b1cee313d8c066845775328f779e47f1e6e8343",
    "0002_uninstall.sql": "c5cc542ed02522fb7d6e109a1fbe418fd7d441976c8c38fd6b25be048a93a75a",
    "0003_write_path.py": "0c2c5807e5d7c31c21db32b2a03217bf05adee9fc9fd63681d7c72fb12fc4efb",
    "0003_write_path.sql": "b47557de4f76b1bcde3d17344027e1fc9043a233c8d1c7389a613836a8e5441f",
    "0003_write_path_downgrade.sql": "e7b37d362a4fa64692ac47126f07800c692fe65632a97147abd43f8a2b4924cc",
}


@pytest.mark.parametrize("name", sorted(LANDED))
def test_a_landed_revision_is_never_edited(name):
    assert digest(VERSIONS / name) == LANDED[name], (
        f"{name} belongs to a landed revision: put the change in a new update revision (docs/development.md)")


def test_the_offline_script_applies_with_psql_and_the_install_stays_under_3500_lines(empty_db, tmp_path):
    def offline(target: str) -> str:
        result = subprocess.run([sys.executable, "-m", "alembic", "upgrade", target, "--sql"], cwd=ROOT,
                                env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    lines = len(offline(INSTALL).splitlines())
    assert lines < 3500, f"alembic upgrade {INSTALL} --sql is {lines} lines: keep the SQL and its contracts short"
    # an update holds only the objects it changes, never the install again
    install_parts = (VERSIONS / f"{INSTALL}.sql").read_text().count("\n-- sql/")
    for update in sorted(VERSIONS.glob("0*.sql")):
        if update.stem > INSTALL and not update.stem.endswith(("_downgrade", "_uninstall")):
            assert update.read_text().count("\n-- sql/") < install_parts / 4, f"{update.name} repeats the install"
    script = tmp_path / "upgrade.sql"
    script.write_text(offline("head"))
    applied = subprocess.run([server_binary(empty_db.url, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                              "-d", empty_db.url, "-f", str(script)], capture_output=True, text=True, timeout=120)
    assert applied.returncode == 0, applied.stderr
    assert empty_db.value("SELECT version_num FROM alembic_version") == head()
    pid = purchase(empty_db)
    sessions(empty_db, pid, 2)
    assert empty_db.dict("SELECT * FROM sync_purchase_sessions(%s)", pid)["sessions_created"] == 2


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


# --- uninstalling -------------------------------------------------------------------------------

def test_uninstall_removes_every_object_of_the_package_and_keeps_every_row(baseline_db):
    """Downgraded to 0001, a database is what 0001 left, object for object (pg_dump
    --schema-only: nothing of the package, not a grant, a description or an index left over),
    and the platform's rows are those it had, byte for byte."""
    at_baseline = schema(baseline_db.url)
    migrate.upgrade(baseline_db.url)
    synced_platform(baseline_db)
    rows = platform_rows(baseline_db)
    migrate.downgrade(baseline_db.url, BASELINE)
    assert package_objects(baseline_db) == []
    uninstalled = schema(baseline_db.url)
    assert uninstalled == at_baseline, "the uninstall left something of the package:\n" + schema_diff(
        at_baseline, uninstalled, "at 0001", "installed and uninstalled")
    assert platform_rows(baseline_db) == rows


def test_uninstall_to_base_leaves_an_adopted_platform_schema_as_it_was(empty_db):
    """The platform's own schema (tables, columns, indexes, constraints), installed on and
    uninstalled to base: exactly as before, its rows (the sync's included) identical."""
    empty_db.execute((ROOT / "tests" / "platform_schema.sql").read_text())
    before = schema(empty_db.url)
    migrate.upgrade(empty_db.url)
    empty_db.execute("SELECT * FROM sync_all_sessions()")
    rows = platform_rows(empty_db)
    migrate.downgrade(empty_db.url, "base")
    assert package_objects(empty_db) == []
    after = schema(empty_db.url)
    assert after == before, "install and uninstall changed the platform's schema:\n" + schema_diff(
        before, after, "the platform's", "installed and uninstalled")
    assert platform_rows(empty_db) == rows


@pytest.mark.parametrize("target", [BASELINE, "base"])
def test_upgrade_downgrade_upgrade_loses_no_row(empty_db, target):
    migrate.upgrade(empty_db.url)
    synced_platform(empty_db)
    rows = platform_rows(empty_db)
    migrate.downgrade(empty_db.url, target)
    assert platform_rows(empty_db) == rows
    assert package_objects(empty_db) == []
    migrate.upgrade(empty_db.url)
    assert platform_rows(empty_db) == rows
    result = empty_db.dict("SELECT * FROM sync_all_sessions()")
    assert (result["sessions_created"], result["sessions_updated"]) == (0, 0)
    assert empty_db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


def test_downgrade_to_base_drops_only_empty_tables_the_baseline_created(empty_db):
    migrate.upgrade(empty_db.url)
    empty_db.execute("INSERT INTO trainer_allocations (student_id, requested_by)"
                     " VALUES (gen_random_uuid(), gen_random_uuid())")
    migrate.downgrade(empty_db.url, "base")
    remaining = {r[0] for r in empty_db.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert remaining == {"trainer_allocations", "alembic_version"}


def test_downgrade_to_base_never_drops_adopted_tables(empty_db):
    empty_db.execute((ROOT / "tests" / "platform_schema.sql").read_text())
    empty_db.execute("TRUNCATE tutoring_sessions, trainer_allocations, purchase_sessions, course_purchases")
    migrate.upgrade(empty_db.url)
    migrate.downgrade(empty_db.url, "base")
    remaining = {r[0] for r in empty_db.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert set(PLATFORM_TABLES) <= remaining


# --- installing and uninstalling while the platform writes --------------------------------------

class Migration:
    """One direction of revision 0002 raced by the tests below, on a database holding P and Q
    (two sessions each): ``install`` from 0001 (P and Q written before it, not synced yet), or
    ``uninstall`` from 0002_install (P and Q synced)."""

    def __init__(self, db, name: str) -> None:
        self.db, self.name = db, name
        self.app = f"session-sync-{name}-{uuid.uuid4().hex[:12]}"
        if name == "install":
            migrate.downgrade(db.url, BASELINE)
            self.before, self.after, self.args = BASELINE, INSTALL, ("upgrade", INSTALL)
        else:
            migrate.downgrade(db.url, INSTALL)
            self.before, self.after, self.args = INSTALL, BASELINE, ("downgrade", BASELINE)
        self.p, self.q = purchase(db), purchase(db)
        self.p_sessions, self.q_sessions = sessions(db, self.p, 2), sessions(db, self.q, 2)
        if name == "uninstall":
            db.execute("SELECT * FROM sync_all_sessions()")
            assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)

    def start(self, options: str = ""):
        return start_alembic(self.db.url, *self.args, application_name=self.app, options=options)

    def installed(self) -> bool:
        return self.db.value("SELECT to_regprocedure('public.sync_all_sessions(boolean, text)') IS NOT NULL")

    def version(self) -> str:
        return self.db.value("SELECT version_num FROM alembic_version")

    def finished(self) -> None:
        """Where it went, all in: the package there (then synced by a run) or gone."""
        assert self.version() == self.after
        assert self.installed() == (self.name == "install")
        if self.name == "install":
            self.db.execute("SELECT * FROM sync_all_sessions()")
            assert self.db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)
        else:
            assert package_objects(self.db) == []


def dates(db, session_id) -> tuple:
    """(purchase session's date, its tutoring session's date)."""
    return db.one("SELECT ps.session_date, t.scheduled_date FROM purchase_sessions ps"
                  " LEFT JOIN tutoring_sessions t ON t.id = ps.id WHERE ps.id = %s", session_id)


@pytest.fixture(params=["install", "uninstall"])
def migration(request, db) -> Migration:
    return Migration(db, request.param)


def test_a_migration_waits_for_an_open_platform_transaction_and_holds_up_no_other_write(db, migration):
    p1, q1 = migration.p_sessions[0], migration.q_sessions[0]
    process = None
    platform = db.connect()  # the booking service: triggers on (once installed), one open transaction
    late = db.connect(autocommit=True, options="-c statement_timeout=30s")
    try:
        platform.execute("UPDATE purchase_sessions SET session_date = '2026-03-03' WHERE id = %s", (p1,))
        process = migration.start()
        pid = migration_backend(db, process, migration.app)
        wait_until_retrying(db, pid, process)
        # Between attempts it holds none of the platform's tables, and nothing has changed.
        assert table_locks(db, pid) == []
        assert migration.version() == migration.before

        # Another write meanwhile waits for nobody (and, installed, is synced at its COMMIT).
        late.execute("UPDATE purchase_sessions SET session_date = '2026-03-04' WHERE id = %s", (q1,))
        assert dates(db, q1) == (date(2026, 3, 4), date(2026, 3, 4) if migration.name == "uninstall" else None)
        assert process.poll() is None

        # The open transaction commits (synced by the package while it is there); the next attempt wins.
        platform.commit()
        result = finish(process)
        assert result.returncode == 0, result.stderr
    finally:
        platform.close()
        late.close()
        stop(process)
    migration.finished()
    assert dates(db, p1) == (date(2026, 3, 3), date(2026, 3, 3))
    assert dates(db, q1) == (date(2026, 3, 4), date(2026, 3, 4))


@pytest.mark.parametrize("deadlock_timeout", ["100ms", "1s"])
def test_a_platform_transaction_writing_a_second_table_during_the_migration_commits(db, migration,
                                                                                  deadlock_timeout):
    """A platform transaction that wrote purchase_sessions, then, while the migration waits for it
    and past its deadlock_timeout, writes course_purchases: it neither waits nor dies (the lock
    helper never holds one table while it waits for another); it commits, and the migration
    runs after it."""
    p1 = migration.p_sessions[0]
    trainer = uuid.uuid4()
    process = None
    platform = db.connect(options=f"-c deadlock_timeout={deadlock_timeout}")
    try:
        platform.execute("UPDATE purchase_sessions SET session_date = '2026-03-03' WHERE id = %s", (p1,))
        process = migration.start()
        pid = migration_backend(db, process, migration.app)
        wait_until_retrying(db, pid, process)
        time.sleep(1.2 if deadlock_timeout == "1s" else 0.3)  # past the platform's deadlock_timeout
        platform.execute("UPDATE course_purchases SET trainer_id = %s WHERE id = %s", (trainer, migration.p))
        error = commit_error(platform)
        result = finish(process)
    finally:
        platform.close()
        stop(process)
    assert error is None, describe(error)
    assert result.returncode == 0, result.stderr
    migration.finished()
    assert dates(db, p1) == (date(2026, 3, 3), date(2026, 3, 3))
    assert db.value("SELECT trainer_id FROM tutoring_sessions WHERE id = %s", p1) == trainer


def test_a_migration_that_cannot_lock_the_tables_in_time_fails_and_changes_nothing(db, migration):
    p1 = migration.p_sessions[0]
    before = schema(db.url)
    platform = db.connect()
    try:
        platform.execute("UPDATE purchase_sessions SET session_date = '2026-03-03' WHERE id = %s", (p1,))
        result = finish(migration.start(options="-c session_sync.lock_wait=1s"))
        assert result.returncode != 0
        assert "LockNotAvailable" in result.stderr, result.stderr  # SQLSTATE 55P03
        assert re.search(r"could not lock [a-z_, ]+ within 00:00:01; nothing was changed", result.stderr), \
            result.stderr
        assert str(platform.info.backend_pid) in result.stderr  # DETAIL names the backend holding them
        platform.commit()
    finally:
        platform.close()
    assert migration.version() == migration.before
    assert schema(db.url) == before
    synced = date(2026, 3, 3) if migration.name == "uninstall" else None
    assert dates(db, p1) == (date(2026, 3, 3), synced)


@pytest.mark.parametrize("reads, deadlock_timeout", [("purchase_sessions", "1s"), ("session_sync_verify", "1s"),
                                                     ("session_sync_verify", "100ms")])
def test_uninstall_never_kills_a_platform_transaction_that_read_and_then_writes(db, reads, deadlock_timeout):
    """The booking service's transaction read a platform table or a package view (ACCESS SHARE,
    which the uninstall's ACCESS EXCLUSIVE waits for); past its deadlock_timeout it writes a
    purchase session. The uninstall retries holding nothing, so there is no cycle: the write
    commits (synced), and the uninstall completes after it."""
    migration = Migration(db, "uninstall")
    s1 = migration.p_sessions[0]
    process = None
    platform = db.connect(options=f"-c deadlock_timeout={deadlock_timeout}")
    try:
        platform.execute(f"SELECT * FROM public.{reads}").fetchall()
        process = migration.start()
        pid = migration_backend(db, process, migration.app)
        wait_until_retrying(db, pid, process)
        assert table_locks(db, pid) == []
        time.sleep(1.2)  # past the platform's deadlock_timeout: nothing to detect
        error = None
        try:
            platform.execute("UPDATE purchase_sessions SET session_time = '09:00' WHERE id = %s", (s1,))
        except psycopg.Error as caught:
            error = caught
            platform.rollback()
        error = error or commit_error(platform)
        result = finish(process)
    finally:
        platform.close()
        stop(process)
    assert error is None, f"the platform transaction was killed: {describe(error)}"
    assert result.returncode == 0, result.stderr
    migration.finished()
    assert db.value("SELECT scheduled_time FROM tutoring_sessions WHERE id = %s", s1) == "09:00"


@pytest.mark.parametrize("name, analyzed", [("install", "purchase_sessions"), ("uninstall", "session_sync_changes")])
def test_a_migration_waiting_for_an_analyze_holds_up_no_platform_write(db, name, analyzed):
    """An ANALYZE (or VACUUM) open on a table the migration locks holds SHARE UPDATE EXCLUSIVE,
    which platform writes do not conflict with but the migration does: it retries holding
    nothing, a platform write commits at once, and the migration completes when the ANALYZE
    ends."""
    migration = Migration(db, name)
    s1 = migration.p_sessions[0]
    process = None
    holder = db.connect()
    writer = db.connect(autocommit=True, options="-c statement_timeout=30s")
    try:
        holder.execute(f"ANALYZE public.{analyzed}")  # its transaction stays open
        process = migration.start()
        pid = migration_backend(db, process, migration.app)
        wait_until_retrying(db, pid, process)
        assert table_locks(db, pid) == []
        writer.execute("UPDATE purchase_sessions SET session_time = '09:00' WHERE id = %s", (s1,))
        assert migration.version() == migration.before
        holder.rollback()
        result = finish(process)
    finally:
        holder.close()
        writer.close()
        stop(process)
    assert result.returncode == 0, result.stderr
    migration.finished()
    assert db.value("SELECT scheduled_time FROM tutoring_sessions WHERE id = %s", s1) == "09:00"


@pytest.mark.parametrize("direction", ["upgrade", "downgrade"])
def test_an_update_waits_for_a_reader_of_the_views_it_replaces_holding_nothing(db, direction):
    """0003_write_path replaces views a run or a monitoring query reads. While one is open (here
    a transaction that read session_sync_verify), it retries holding none of the platform's tables
    (the lock helper also asks for session_sync_dropped_keys, which every reader of those views
    holds), a platform write commits meanwhile, and it completes once the reader ends."""
    if direction == "upgrade":
        migrate.downgrade(db.url, INSTALL)
    before, target = (INSTALL, "0003_write_path") if direction == "upgrade" else ("0003_write_path", INSTALL)
    pid = purchase(db)
    [s1] = sessions(db, pid, 1)
    app = f"session-sync-update-{uuid.uuid4().hex[:12]}"
    reader = db.connect()
    writer = db.connect(autocommit=True, options="-c statement_timeout=30s")
    process = None
    try:
        reader.execute("SELECT * FROM session_sync_verify").fetchall()  # its transaction stays open
        process = start_alembic(db.url, direction, target, application_name=app)
        backend = migration_backend(db, process, app)
        wait_until_retrying(db, backend, process)
        assert table_locks(db, backend) == []
        writer.execute("UPDATE purchase_sessions SET session_time = '09:00' WHERE id = %s", (s1,))
        assert db.value("SELECT version_num FROM alembic_version") == before
        reader.rollback()
        result = finish(process)
    finally:
        reader.close()
        writer.close()
        stop(process)
    assert result.returncode == 0, result.stderr
    assert db.value("SELECT version_num FROM alembic_version") == target
