"""The real `session-sync` command in a subprocess, against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from factories import purchase, sessions


# The installed entry point, run as a user runs it (off a terminal: subprocess's pipes).
SESSION_SYNC = str(Path(sys.executable).parent / "session-sync")


def run(*args: str, env: dict | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(env or {})
    return subprocess.run([SESSION_SYNC, *args], capture_output=True, text=True, env=environment, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_demo_on_a_throwaway_embedded_server():
    result = run("demo", "--purchases", "60")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Before: the guide's problem" in out and "sync_all_sessions()" in out
    assert "INVALID_COORDINATES" in out and "MISSING_LOCATION" in out
    assert "Traceback" not in result.stderr


def test_demo_reproduces_the_guides_problem_then_fixes_it(empty_db):
    result = run("--database-url", empty_db.url, "demo", "--purchases", "100")
    assert result.returncode == 0, result.stderr
    run_row = empty_db.dict("SELECT * FROM session_sync_runs ORDER BY run_id LIMIT 1")
    # Most purchases predate the sync: a large backlog, some drift, a few bad ones.
    assert run_row["sessions_created"] > 1000
    assert run_row["sessions_updated"] > 0
    assert run_row["purchases_failed"] > 0
    assert {r[0] for r in empty_db.rows("SELECT DISTINCT reason FROM session_sync_failures")} == {
        "INVALID_COORDINATES", "MISSING_LOCATION"}
    pending = empty_db.dict("SELECT missing, drifted FROM session_sync_verify")
    assert pending["drifted"] == 0
    assert pending["missing"] == empty_db.value(
        "SELECT coalesce(sum(missing_count), 0) FROM session_sync_pending WHERE reason IS NOT NULL")


def test_demo_refuses_a_database_with_purchases(db):
    purchase(db)
    result = run("--database-url", db.url, "demo")
    assert result.returncode == 2
    assert "needs an empty database" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_sql_prints_the_script():
    result = run("migrate", "--sql")
    assert result.returncode == 0, result.stderr
    assert "CREATE OR REPLACE FUNCTION public.sync_all_sessions" in result.stdout


def test_migrate_then_sync_with_database_url(empty_db):
    assert run("--database-url", empty_db.url, "migrate").returncode == 0
    pid = purchase(empty_db)
    sessions(empty_db, pid, 3)
    dry = run("--database-url", empty_db.url, "--json", "sync", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)[0]["sessions_created"] == 3
    assert empty_db.value("SELECT count(*) FROM tutoring_sessions") == 0
    real = run("--json", "sync", env={"DATABASE_URL": empty_db.url})
    assert real.returncode == 0, real.stderr
    assert json.loads(real.stdout)[0]["sessions_created"] == 3


def test_sync_one_purchase_and_its_failure_exit_code(db):
    good = purchase(db)
    sessions(db, good, 2)
    result = run("--database-url", db.url, "--json", "sync", str(good))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["sessions_created"] == 2
    bad = purchase(db, trainer_id=None)
    failed = run("--database-url", db.url, "sync", str(bad))
    assert failed.returncode == 1
    assert f"NO_TRAINER: purchase {bad}" in failed.stdout.replace("\n", "")
    assert "hint:" in failed.stdout


def test_sync_all_exit_code_one_when_a_purchase_fails(db):
    sessions(db, purchase(db, student_location={"latitude": "x", "longitude": 1}), 1)
    result = run("--database-url", db.url, "--json", "sync")
    assert result.returncode == 1
    assert json.loads(result.stdout)[0]["purchases_failed"] == 1


def test_usage_and_connection_errors_exit_two_in_one_line(db):
    bad_id = run("--database-url", db.url, "sync", "not-a-uuid")
    assert bad_id.returncode == 2 and "is not a purchase id" in bad_id.stderr
    unreachable = run("--database-url", "postgresql://nobody@127.0.0.1:1/none", "sync")
    assert unreachable.returncode == 2
    assert unreachable.stderr.startswith("session-sync: cannot connect")
    assert len(unreachable.stderr.strip().splitlines()) == 1
    unknown = run("frobnicate")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert run("--database-url", "mysql://x/y", "sync").returncode == 2


def test_sync_on_a_database_without_the_package(empty_db):
    result = run("--database-url", empty_db.url, "sync", str(uuid.uuid4()))
    assert result.returncode == 2
    assert "run `session-sync migrate` first" in result.stderr


def test_pending_verify_failures_and_diagnose_commands(db):
    good = purchase(db)
    sessions(db, good, 2)
    bad = purchase(db, student_location={"latitude": 95, "longitude": 10})
    sessions(db, bad, 1)
    pending = run("--database-url", db.url, "--json", "pending")
    assert pending.returncode == 0, pending.stderr
    assert {r["purchase_id"] for r in json.loads(pending.stdout)} == {str(good), str(bad)}
    verify = run("--database-url", db.url, "--json", "verify")
    assert verify.returncode == 1 and json.loads(verify.stdout)[0]["missing"] == 3
    assert run("--database-url", db.url, "sync").returncode == 1  # bad fails, good syncs
    failures = run("--database-url", db.url, "--json", "failures")
    assert failures.returncode == 1
    assert [(r["purchase_id"], r["reason"]) for r in json.loads(failures.stdout)] == [(str(bad), "INVALID_COORDINATES")]
    diagnosed = run("--database-url", db.url, "--json", "diagnose", str(bad))
    assert diagnosed.returncode == 1
    checks = {r["check_name"]: r for r in json.loads(diagnosed.stdout)}
    assert checks["coordinates"]["ok"] is False and checks["coordinates"]["hint"]
    healthy = run("--database-url", db.url, "diagnose", str(good))
    assert healthy.returncode == 0 and "sessions_in_sync" in healthy.stdout
    assert run("--database-url", db.url, "diagnose", "nope").returncode == 2


def test_sync_all_shows_batch_progress(db):
    for _ in range(5):
        sessions(db, purchase(db), 2)
    result = run("--database-url", db.url, "--json", "sync", "--batch-size", "2")
    assert result.returncode == 0, result.stderr
    assert "batch 3/3" in result.stderr
    assert json.loads(result.stdout)[0]["sessions_created"] == 10


def test_ctrl_c_keeps_committed_batches_and_never_half_syncs(db):
    import signal
    import time

    for _ in range(30):
        sessions(db, purchase(db), 3)
    db.execute("CREATE FUNCTION test_slow() RETURNS trigger LANGUAGE plpgsql AS "
               "$$ BEGIN PERFORM pg_sleep(0.4); RETURN NULL; END $$")
    db.execute("CREATE TRIGGER test_slow AFTER INSERT ON tutoring_sessions FOR EACH STATEMENT EXECUTE FUNCTION test_slow()")
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.Popen([SESSION_SYNC, "--database-url", db.url, "sync",
                             "--batch-size", "3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment)
    deadline = time.monotonic() + 60
    while db.value("SELECT count(*) FROM tutoring_sessions") == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    time.sleep(0.5)
    done = db.value("SELECT count(*) FROM tutoring_sessions")
    assert 0 < done < 90
    assert db.value("SELECT count(*) FROM (SELECT metadata->>'purchaseId' FROM tutoring_sessions "
                    "GROUP BY 1 HAVING count(*) <> 3) x") == 0
    db.execute("DROP TRIGGER test_slow ON tutoring_sessions")
    again = run("--database-url", db.url, "sync")
    assert again.returncode == 0, again.stderr
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 90


def test_sync_full_examines_writes_the_triggers_did_not_see(db):
    pid = purchase(db)
    [sid] = sessions(db, pid, 1)
    assert run("--database-url", db.url, "sync").returncode == 0
    db.execute("ALTER TABLE tutoring_sessions DISABLE TRIGGER USER")
    db.execute("UPDATE tutoring_sessions SET duration = 90 WHERE id = %s", sid)
    db.execute("ALTER TABLE tutoring_sessions ENABLE TRIGGER USER")
    plain = run("--database-url", db.url, "--json", "sync")
    assert json.loads(plain.stdout)[0]["sessions_updated"] == 0
    full = run("--database-url", db.url, "--json", "sync", "--full")
    assert full.returncode == 0, full.stderr
    assert "queued 1 eligible purchase for examination" in full.stderr
    assert json.loads(full.stdout)[0]["sessions_updated"] == 1
    assert db.value("SELECT duration FROM tutoring_sessions WHERE id = %s", sid) == 40
    assert run("--database-url", db.url, "sync", str(pid), "--full").returncode == 2


# --- issue 13: connection strings, option order, tables in logs, the local server, small ones ---

import pty
import re
import shutil
import tempfile

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from session_sync.connection import connect

PASSWORD = "s3cret-Pa55"


def conninfo_with_password(url: str) -> str:
    """``url`` as libpq key=value pairs, with a password (the test server trusts every role)."""
    return make_conninfo(**conninfo_to_dict(url), password=PASSWORD)


def without_libpq_environment(extra: dict | None = None) -> dict:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PG")}
    environment.update(extra or {})
    return environment


def test_every_command_takes_a_key_value_conninfo_and_never_prints_its_password(empty_db):
    conninfo = conninfo_with_password(empty_db.url)
    assert "=" in conninfo and "://" not in conninfo
    migrated = run("--database-url", conninfo, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "Traceback" not in migrated.stderr and PASSWORD not in migrated.stdout + migrated.stderr
    for command in (["verify"], ["pending"], ["failures"], ["sync"], ["sync", "--dry-run"]):
        result = run("--database-url", conninfo, "--json", *command)
        assert result.returncode == 0, (command, result.stderr)
        assert PASSWORD not in result.stdout + result.stderr
    # SQLAlchemy's spelling, and DATABASE_URL in key=value form, work as well.
    sqlalchemy_form = "postgresql+psycopg://" + empty_db.url.split("://", 1)[1]
    assert run("--database-url", sqlalchemy_form, "migrate").returncode == 0
    assert run("verify", env={"DATABASE_URL": conninfo}).returncode == 0


def test_connection_errors_never_show_the_password():
    unreachable = run("--database-url", f"host=127.0.0.1 port=1 dbname=none user=nobody password={PASSWORD}",
                      "migrate")
    assert unreachable.returncode == 2
    assert unreachable.stderr.startswith("session-sync: cannot connect to host=127.0.0.1 port=1 dbname=none")
    assert PASSWORD not in unreachable.stderr and len(unreachable.stderr.strip().splitlines()) == 1
    as_url = run("--database-url", f"postgresql://nobody:{PASSWORD}@127.0.0.1:1/none", "verify")
    assert as_url.returncode == 2 and PASSWORD not in as_url.stderr
    garbled = run("--database-url", "host=localhost password=hunter 2extra", "migrate")
    assert garbled.returncode == 2 and "cannot parse the connection string" in garbled.stderr
    assert "hunter" not in garbled.stderr and "2extra" not in garbled.stderr and "Traceback" not in garbled.stderr
    other = run("--database-url", f"mysql://root:{PASSWORD}@localhost/db", "migrate")
    assert other.returncode == 2 and "unsupported database URL scheme 'mysql'" in other.stderr
    assert PASSWORD not in other.stderr


def test_the_pg_variables_choose_the_database_as_for_psql(empty_db):
    params = conninfo_to_dict(empty_db.url)
    environment = {"PGDATABASE": params["dbname"], "PGUSER": params.get("user", ""),
                   "PGHOST": params.get("host", ""), "PGPORT": params.get("port", "")}
    migrated = run("migrate", env={k: v for k, v in environment.items() if v})
    assert migrated.returncode == 0, migrated.stderr
    assert "in the database from the environment (PGHOST" in migrated.stdout
    assert empty_db.value("SELECT count(*) FROM public.alembic_version") == 1
    verify = run("--json", "verify", env={k: v for k, v in environment.items() if v})
    assert verify.returncode == 0 and json.loads(verify.stdout)[0]["missing"] == 0


def test_global_options_before_or_after_the_command(db):
    sessions(db, purchase(db), 2)
    for args in (["verify", "--json", "--database-url", db.url],
                 ["--json", "verify", "--database-url", db.url],
                 ["--database-url", db.url, "verify", "--json"]):
        result = run(*args)
        assert result.returncode == 1, (args, result.stderr)  # 2 sessions missing
        assert json.loads(result.stdout)[0]["missing"] == 2
    synced = run("sync", "--database-url", db.url, "--batch-size", "5", "--json")
    assert synced.returncode == 0, synced.stderr
    assert json.loads(synced.stdout)[0]["sessions_created"] == 2
    # An option given after the command wins over the same option before it.
    assert run("--database-url", "postgresql://nobody@127.0.0.1:1/none", "verify",
               "--database-url", db.url).returncode == 0


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def test_tables_off_a_terminal_print_each_row_on_one_line(db):
    bad = [purchase(db, student_location={"latitude": 95, "longitude": 10}) for _ in range(3)]
    for pid in bad:
        sessions(db, pid, 1)
    assert run("--database-url", db.url, "sync").returncode == 1
    for command in ("pending", "failures"):
        result = run("--database-url", db.url, command, env={"COLUMNS": ""})
        lines = result.stdout.splitlines()
        for pid in bad:
            [row] = [line for line in lines if str(pid) in line]  # the whole id, on one line
            assert "INVALID_COORDINATES" in row or command == "pending", row
        assert max(len(line) for line in lines) > 80  # full width, not wrapped at 80 columns


def test_tables_on_a_narrow_terminal_never_break_an_id(db):
    bad = purchase(db, student_location={"latitude": 95, "longitude": 10})
    sessions(db, bad, 1)
    assert run("--database-url", db.url, "sync").returncode == 1
    main_fd, terminal_fd = pty.openpty()
    proc = subprocess.Popen([SESSION_SYNC, "--database-url", db.url, "failures"],
                            stdout=terminal_fd, stderr=subprocess.PIPE, env=without_libpq_environment(
                                {"COLUMNS": "50", "TERM": "xterm"}))
    os.close(terminal_fd)
    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:  # EIO once the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main_fd)
    assert proc.wait(timeout=60) == 1
    screen = strip_ansi(b"".join(chunks).decode())
    assert str(bad) in screen  # the id column is never folded ...
    assert screen.count(str(bad)) == 2  # ... nor the id inside the message
    assert "│" in screen


def test_demo_rejects_a_number_of_purchases_below_one():
    for value in ("-3", "0", "many"):
        result = run("demo", "--purchases", value)
        assert result.returncode == 2, value
        assert result.stderr.startswith("session-sync: argument --purchases:") and "Traceback" not in result.stderr
    assert run("sync", "--batch-size", "0").returncode == 2


def test_every_command_has_a_description_in_its_help():
    from session_sync.cli import COMMANDS

    for name, command in COMMANDS.items():
        result = run(name, "--help", env={"COLUMNS": "1000"})  # argparse wraps at hyphens
        assert result.returncode == 0, name
        paragraphs = result.stdout.split("\n\n")
        assert paragraphs[0].startswith(f"usage: session-sync {name}")
        assert " ".join(paragraphs[1].split()) == command.description, name
        assert "--database-url" in result.stdout and "--json" in result.stdout


def test_a_sync_with_failures_points_at_the_failures_command(db):
    sessions(db, purchase(db, student_location={"latitude": "x", "longitude": 1}), 1)
    sessions(db, purchase(db, student_location={"latitude": "y", "longitude": 1}), 1)
    dry = run("--database-url", db.url, "sync", "--dry-run")
    assert dry.returncode == 1 and "2 purchases would fail; `session-sync pending`" in dry.stderr
    result = run("--database-url", db.url, "sync")
    assert result.returncode == 1
    assert "session-sync: 2 purchases could not be synced: `session-sync failures` lists why" in result.stderr
    clean = run("--database-url", db.url, "failures")
    assert clean.returncode == 1


def test_temporary_servers_leave_no_folder_behind():
    scratch = Path(tempfile.mkdtemp(prefix="ss-"))  # short: the server's socket lives under it
    try:
        result = run("demo", "--purchases", "5", env={"TMPDIR": str(scratch), "XDG_RUNTIME_DIR": str(scratch)})
        assert result.returncode == 0, result.stderr
        assert [p.name for p in scratch.iterdir() if p.name.startswith("session-sync")] == []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def on_terminal(*args: str, env: dict, answer: str | None = None) -> tuple[int, str, str]:
    """Run the command as a person at a terminal (stdin and stdout a pty; stderr a pipe), typing
    ``answer`` if given: (exit code, what the terminal showed, stderr)."""
    main_fd, terminal_fd = pty.openpty()
    proc = subprocess.Popen([SESSION_SYNC, *args], stdin=terminal_fd, stdout=terminal_fd, stderr=subprocess.PIPE,
                            env=env, text=True)
    os.close(terminal_fd)
    if answer is not None:
        os.write(main_fd, (answer + "\n").encode())
    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:  # EIO once the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main_fd)
    stderr = proc.stderr.read()
    return proc.wait(timeout=180), strip_ansi(b"".join(chunks).decode()), stderr


def test_server_status_stop_and_url_manage_the_local_embedded_server(tmp_path):
    environment = without_libpq_environment({"XDG_DATA_HOME": str(tmp_path / "data")})
    environment.pop("XDG_RUNTIME_DIR", None)  # as under cron: no RuntimeDirWarning either way
    data_dir = tmp_path / "data" / "session-sync" / "pgdata"

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([SESSION_SYNC, *args], capture_output=True, text=True, env=environment, timeout=180,
                              stdin=subprocess.DEVNULL)

    assert cli("server", "status", "--database-url", "postgresql://x@y/z").returncode == 2
    absent = cli("server", "status")
    assert absent.returncode == 1 and "not created yet" in absent.stdout and str(data_dir) in absent.stdout
    try:
        code, screen, stderr = on_terminal("migrate", env=environment)  # a person at a terminal: the local server
        assert code == 0, stderr
        assert f"started a local PostgreSQL; its data is in {data_dir}" in stderr
        assert "`session-sync server stop` stops it" in stderr and "Warning" not in stderr
        code, screen, stderr = on_terminal("--json", "verify", env=environment)
        assert code == 0, stderr
        assert "started" not in stderr  # said once, when it starts
        cron = cli("--json", "verify")  # off a terminal, even with it running: never the local server
        assert cron.returncode == 2 and cron.stdout == ""
        status = cli("server", "status", "--json")
        assert status.returncode == 0, status.stderr
        state = json.loads(status.stdout)
        assert state["running"] is True and state["data_directory"] == str(data_dir)
        url = cli("server", "url")
        assert url.returncode == 0 and url.stdout.strip() == state["url"]
        with psycopg.connect(url.stdout.strip()) as conn:
            assert conn.execute("SELECT count(*) FROM public.alembic_version").fetchone()[0] == 1
    finally:
        stopped = cli("server", "stop")
    assert stopped.returncode == 0 and "stopped the local PostgreSQL" in stopped.stdout, stopped.stderr
    after = cli("server", "status")
    assert after.returncode == 1 and "not running" in after.stdout
    assert cli("server", "stop").stdout.startswith("the local PostgreSQL is not running")
    assert (data_dir / "PG_VERSION").exists()  # stopping keeps the data
    assert not any("Warning" in result.stderr for result in (absent, status, url, stopped, after))


def test_cli_connections_pin_search_path_against_a_hostile_schema(db):
    """No statement of the command line resolves a name through the role's or database's search_path."""
    with connect(db.url) as conn:
        assert conn.execute("SHOW search_path").fetchone()[0] == "pg_catalog,pg_temp"  # fixed when it started
    dbname = conninfo_to_dict(db.url)["dbname"]
    db.execute("CREATE SCHEMA evil")
    for right in ("smallint", "integer", "bigint"):  # bigint = <parameter>: always false
        db.execute(f"CREATE FUNCTION evil.never(bigint, {right}) RETURNS boolean LANGUAGE sql "
                   "AS 'SELECT false'")
        db.execute(f"CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = {right}, FUNCTION = evil.never)")
    db.execute("CREATE VIEW evil.session_sync_verify AS SELECT 0 AS purchase_sessions, 0 AS tutoring_sessions, "
               "0 AS missing, 0 AS drifted, 0 AS conflicts, 0 AS protected, 0 AS orphaned")
    db.execute("CREATE FUNCTION evil.uuid(text) RETURNS uuid LANGUAGE sql AS "
               "$$SELECT '00000000-0000-0000-0000-000000000000'::pg_catalog.uuid$$")
    db.execute(f'ALTER DATABASE "{dbname}" SET search_path = evil, pg_catalog, public')
    # The trap is live for a connection that does not pin search_path:
    with psycopg.connect(db.url) as unpinned:
        assert unpinned.execute("SELECT count(*) FROM public.session_sync_runs WHERE 1::bigint = %s",
                                (1,)).fetchone()[0] == 0
        assert unpinned.execute("SELECT missing FROM session_sync_verify").fetchone()[0] == 0
    sessions(db, purchase(db), 2)
    verify = run("--database-url", db.url, "--json", "verify")
    assert verify.returncode == 1 and json.loads(verify.stdout)[0]["missing"] == 2
    synced = run("--database-url", db.url, "--json", "sync")
    assert synced.returncode == 0, synced.stderr
    assert json.loads(synced.stdout)[0]["sessions_created"] == 2
    assert run("--database-url", db.url, "--json", "sync", "--full").returncode == 0
    assert run("--database-url", db.url, "verify").returncode == 0


# --- issue 13 items 7 and 9: numbers that add up, health -------------------------------------

def test_sync_accounts_for_every_purchase_it_examined(db):
    synced = purchase(db)
    sessions(db, synced, 2)
    db.execute("SELECT * FROM sync_all_sessions()")
    sessions(db, purchase(db), 2)
    bad = purchase(db, student_location={"latitude": "12abc", "longitude": 7})
    sessions(db, bad, 1)
    result = run("--database-url", db.url, "--json", "sync", "--full")
    assert result.returncode == 1  # one purchase failed
    row = json.loads(result.stdout)[0]
    assert (row["purchases_examined"], row["purchases_synced"], row["purchases_in_sync"], row["purchases_failed"],
            row["purchases_deferred"]) == (3, 1, 1, 1, 0)
    assert "3 purchase(s) examined: 1 synced, 1 with nothing to write, 1 failed, 0 deferred" in result.stderr
    dry = json.loads(run("--database-url", db.url, "--json", "sync", "--dry-run").stdout)[0]
    assert dry["purchases_examined"] == dry["purchases_synced"] + dry["purchases_in_sync"] \
        + dry["purchases_failed"] + dry["purchases_deferred"] == 1


def test_demo_explains_every_number_and_they_add_up():
    result = run("demo", "--purchases", "60")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    match = re.search(r"The run examined the (\d+) purchases the load queued \(every purchase it wrote\): (\d+) synced "
                      r"\(the (\d+) of Option 3 that could be, plus (\d+) with drifted sessions only\), (\d+) with nothing "
                      r"to write \((\d+) already in sync, (\d+) not assigned yet\), (\d+) failed, (\d+) deferred: "
                      r"\2 \+ \5 \+ \8 \+ \9 = \1\.", text)
    assert match, text[-3000:]
    examined, synced, option3, drifted, nothing, in_sync, waiting, failed, deferred = map(int, match.groups())
    assert synced + nothing + failed + deferred == examined and option3 + drifted == synced
    assert in_sync + waiting == nothing
    assert "protected grew from" in text and "Option 3 counts the" in text


def test_health_is_one_row_and_exits_one_when_a_queued_purchase_fails(db):
    healthy = run("--database-url", db.url, "--json", "health")
    assert healthy.returncode == 0, healthy.stderr
    assert json.loads(healthy.stdout)[0]["queued_purchases"] == 0
    bad = purchase(db, student_location={"latitude": "12abc", "longitude": 7})
    sessions(db, bad, 1)
    run("--database-url", db.url, "sync")
    failing = run("--database-url", db.url, "--json", "health")
    assert failing.returncode == 1
    row = json.loads(failing.stdout)[0]
    assert (row["queued_purchases"], row["failing_purchases"], row["last_run_outcome"]) == (1, 1, "finished")
    table = run("--database-url", db.url, "health")
    assert "failing_purchases" in table.stdout and table.returncode == 1
