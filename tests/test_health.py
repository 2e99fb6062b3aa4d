"""Health and retention (issue 13 items 7 and 9): session_sync_status, failures that do not pile
up, and summaries that account for every purchase examined."""

from __future__ import annotations

import uuid

from factories import purchase, sessions

BAD_LOCATION = {"latitude": "12abc", "longitude": 77.5}


def test_status_on_a_fresh_database(db):
    status = db.dict("SELECT * FROM session_sync_status")
    assert status["queued_purchases"] == 0 and status["oldest_queued_seconds"] == 0
    assert status["failing_purchases"] == 0 and status["last_run_id"] is None
    assert status["backfill_running"] is False and status["dropped_keys_pending"] == 0


def test_status_reports_the_queue_failures_and_the_last_run(db):
    good = purchase(db)
    sessions(db, good, 2)
    bad = purchase(db, student_location=BAD_LOCATION)
    sessions(db, bad, 1)
    db.execute("UPDATE session_sync_changes SET queued_at = now() - interval '10 minutes'")
    status = db.dict("SELECT * FROM session_sync_status")
    assert status["queued_purchases"] == 2 and status["oldest_queued_seconds"] >= 600
    run = db.dict("SELECT * FROM sync_all_sessions(p_source => 'cron')")
    status = db.dict("SELECT * FROM session_sync_status")
    assert status["queued_purchases"] == 1  # the failing purchase stays queued
    assert status["failing_purchases"] == 1
    assert (status["last_run_id"], status["last_run_source"], status["last_run_outcome"]) \
        == (run["run_id"], "cron", "finished")
    assert status["last_run_purchases_failed"] == 1 and status["last_run_purchases_deferred"] == 0


def test_status_sees_a_running_backfill_only_while_its_backend_lives(db):
    db.execute("""INSERT INTO session_sync_runs (source, outcome, backend_pid, backend_start)
                  SELECT 'batched', 'running', pg_backend_pid(), backend_start
                  FROM pg_stat_activity WHERE pid = pg_backend_pid()""")
    assert db.value("SELECT backfill_running FROM session_sync_status") is True
    db.execute("UPDATE session_sync_runs SET backend_pid = 0")
    assert db.value("SELECT backfill_running FROM session_sync_status") is False


def test_the_runner_can_poll_the_status(db):
    role = f"test_monitor_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE ROLE {role} NOLOGIN IN ROLE session_sync_runner")
    try:
        with db.connect(autocommit=True) as conn:
            conn.execute(f"SET ROLE {role}")
            assert conn.execute("SELECT queued_purchases FROM session_sync_status").fetchone() == (0,)
    finally:
        db.execute(f"DROP ROLE {role}")


def test_a_purchase_failing_a_thousand_times_keeps_one_row(db):
    bad = purchase(db, student_location=BAD_LOCATION)
    sessions(db, bad, 1)
    for _ in range(1000):
        db.execute("SELECT session_sync_enqueue(ARRAY[%s]::uuid[])", bad)
        db.execute("SELECT session_sync.session_sync_write(ARRAY[%s]::uuid[], NULL, 'trigger')", bad)
    rows = db.rows("SELECT reason, occurrences, first_failed_at < failed_at FROM session_sync_failures")
    assert rows == [("INVALID_COORDINATES", 1000, True)]
    # every run, too: one row per purchase and reason, carrying the latest run
    for _ in range(3):
        run = db.dict("SELECT * FROM sync_all_sessions()")
    assert db.rows("SELECT run_id, occurrences FROM session_sync_failures") == [(run["run_id"], 1003)]
    assert db.value("SELECT occurrences FROM session_sync_open_failures") == 1003


def test_a_new_reason_gets_its_own_row(db):
    bad = purchase(db, student_location=BAD_LOCATION)
    sessions(db, bad, 1)
    db.execute("SELECT * FROM sync_all_sessions()")
    db.execute("UPDATE course_purchases SET student_location = '{}' WHERE id = %s", bad)
    db.execute("SELECT * FROM sync_all_sessions()")
    db.execute("SELECT * FROM sync_all_sessions()")
    assert db.rows("SELECT reason, occurrences FROM session_sync_failures ORDER BY failure_id") \
        == [("INVALID_COORDINATES", 1), ("MISSING_LOCATION", 2)]
    assert db.value("SELECT reason FROM session_sync_open_failures") == "MISSING_LOCATION"


def test_a_run_accounts_for_every_purchase_it_examined(db):
    in_sync = purchase(db)
    sessions(db, in_sync, 2)
    db.execute("SELECT * FROM sync_all_sessions()")
    missing = purchase(db)
    sessions(db, missing, 3)
    bad = purchase(db, student_location=BAD_LOCATION)
    sessions(db, bad, 1)
    db.execute("SELECT session_sync_enqueue()")  # all three queued again, as `sync --full` does
    dry = db.dict("SELECT * FROM sync_all_sessions(p_dry_run => true)")
    run = db.dict("SELECT * FROM sync_all_sessions()")
    for summary in (dry, run):
        assert (summary["purchases_examined"], summary["purchases_synced"], summary["purchases_in_sync"],
                summary["purchases_failed"], summary["purchases_deferred"]) == (3, 1, 1, 1, 0)
        assert summary["sessions_created"] == 3
    recorded = db.dict("SELECT * FROM session_sync_runs WHERE run_id = %s", run["run_id"])
    assert (recorded["purchases_examined"], recorded["purchases_in_sync"]) == (3, 1)


def test_a_backfill_accounts_for_every_purchase_it_examined(db):
    in_sync = purchase(db)
    sessions(db, in_sync, 2)
    db.execute("SELECT * FROM sync_all_sessions()")
    for _ in range(3):
        sessions(db, purchase(db), 1)
    db.execute("SELECT session_sync_enqueue()")
    with db.connect(autocommit=True) as conn:
        run_id = conn.execute("CALL sync_all_sessions_batched(p_batch_size => 2, p_quiet => true)").fetchone()[0]
    run = db.dict("SELECT * FROM session_sync_runs WHERE run_id = %s", run_id)
    assert (run["purchases_examined"], run["purchases_synced"], run["purchases_in_sync"],
            run["purchases_failed"], run["purchases_deferred"], run["batches"]) == (4, 3, 1, 0, 0, 2)
