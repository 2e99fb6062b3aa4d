"""The real `session-sync` command in a subprocess, against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from factories import purchase, sessions


def run(*args: str, env: dict | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "session_sync.cli", *args], capture_output=True, text=True,
                          env=environment, timeout=timeout)


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
    proc = subprocess.Popen([sys.executable, "-m", "session_sync.cli", "--database-url", db.url, "sync",
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
