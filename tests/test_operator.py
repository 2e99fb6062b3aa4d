"""The operator surface: session_sync_pending, _verify, _open_failures, _diagnose, and the batched backfill."""

from __future__ import annotations

import threading
import time

import uuid

import psycopg
import pytest

from factories import purchase, sessions, sync, sync_all


def test_pending_lists_eligible_purchases_with_missing_or_drifted_sessions(db):
    missing = purchase(db)
    sessions(db, missing, 4)
    drifted = purchase(db)
    ids = sessions(db, drifted, 3)
    sync(db, drifted)
    db.execute("UPDATE purchase_sessions SET session_time = '06:30' WHERE id = %s", ids[0])
    in_sync = purchase(db)
    sessions(db, in_sync, 2)
    sync(db, in_sync)
    sessions(db, purchase(db, trainer_id=None), 2)  # not eligible: never pending
    bad = purchase(db, student_location={"latitude": "north", "longitude": 1})
    sessions(db, bad, 1)
    rows = {r["purchase_id"]: r for r in db.conn.execute(
        "SELECT * FROM session_sync_pending").fetchall() for r in [dict(zip(
            [c.name for c in db.conn.execute("SELECT * FROM session_sync_pending LIMIT 0").description], r))]}
    assert set(rows) == {missing, drifted, bad}
    m = rows[missing]
    assert (m["purchase_sessions_count"], m["tutoring_sessions_count"], m["missing_count"], m["drifted_count"]) == (
        4, 0, 4, 0)
    d = rows[drifted]
    assert (d["purchase_sessions_count"], d["tutoring_sessions_count"], d["missing_count"], d["drifted_count"]) == (
        3, 3, 0, 1)
    assert rows[bad]["reason"] == "INVALID_COORDINATES" and m["reason"] is None
    assert m["trainer_id"] is not None and m["course_id"] is not None


def test_verify_counts_and_zero_after_a_clean_sync_all(db):
    for _ in range(3):
        sessions(db, purchase(db), 5)
    before = db.dict("SELECT * FROM session_sync_verify")
    assert (before["purchase_sessions"], before["tutoring_sessions"], before["missing"], before["drifted"]) == (
        15, 0, 15, 0)
    assert sync_all(db)["purchases_failed"] == 0
    after = db.dict("SELECT * FROM session_sync_verify")
    assert (after["purchase_sessions"], after["tutoring_sessions"], after["missing"], after["drifted"],
            after["orphaned"]) == (15, 15, 0, 0, 0)


def test_verify_counts_protected_and_orphaned(db):
    pid = purchase(db)
    ids = sessions(db, pid, 3)
    sync(db, pid)
    db.execute("UPDATE tutoring_sessions SET status = 'completed' WHERE id = %s", ids[0])
    db.execute("DELETE FROM purchase_sessions WHERE id = %s", ids[1])  # its tutoring session is now orphaned
    other = purchase(db)
    sessions(db, other, 2)
    sync(db, other)
    db.execute("UPDATE course_purchases SET status = 'INVALID_PURCHASE' WHERE id = %s", other)  # 2 more orphans
    row = db.dict("SELECT * FROM session_sync_verify")
    assert (row["purchase_sessions"], row["tutoring_sessions"], row["protected"], row["orphaned"]) == (2, 5, 1, 3)


def test_open_failures_shows_latest_failure_until_fixed(db):
    pid = purchase(db, student_location={"latitude": "12abc", "longitude": 1})
    sessions(db, pid, 2)
    sync_all(db)
    db.execute("UPDATE course_purchases SET student_location = '{}' WHERE id = %s", pid)
    sync_all(db)
    row = db.dict("SELECT * FROM session_sync_open_failures")
    assert (row["purchase_id"], row["reason"], row["missing_count"]) == (pid, "MISSING_LOCATION", 2)
    db.execute("UPDATE course_purchases SET student_location = '{\"latitude\": 1, \"longitude\": 2}' WHERE id = %s",
               pid)
    sync_all(db)
    assert db.rows("SELECT * FROM session_sync_open_failures") == []


def diagnose(db, pid) -> dict[str, tuple]:
    return {r[0]: (r[1], r[2], r[3]) for r in db.rows("SELECT * FROM session_sync_diagnose(%s)", pid)}


CHECKS = ["purchase_exists", "trainer_assigned", "status_assigned", "primary_student", "coordinates", "allocation",
          "sessions_present", "sessions_in_sync", "last_failure"]


def test_diagnose_healthy_purchase_passes_every_check_in_order(db):
    pid = purchase(db)
    sessions(db, pid, 2)
    sync(db, pid)
    rows = db.rows("SELECT check_name, ok FROM session_sync_diagnose(%s)", pid)
    assert [r[0] for r in rows] == CHECKS
    assert all(r[1] for r in rows)


def test_diagnose_pinpoints_each_problem_and_changes_nothing(db):
    pid = purchase(db, trainer_id=None, status="WAITLISTED", students=[{"id": "x"}],
                   student_location={"latitude": "Infinity", "longitude": 1})
    before = db.rows("SELECT count(*) FROM trainer_allocations UNION ALL SELECT count(*) FROM tutoring_sessions")
    result = diagnose(db, pid)
    assert db.rows("SELECT count(*) FROM trainer_allocations UNION ALL SELECT count(*) FROM tutoring_sessions") == before
    for check in ("trainer_assigned", "status_assigned", "primary_student", "coordinates", "allocation",
                  "sessions_present", "sessions_in_sync"):
        assert result[check][0] is False, check
        assert result[check][2], f"{check} needs a hint"
    assert "INVALID_COORDINATES" in result["coordinates"][1]
    assert result["last_failure"][0] is True


def test_diagnose_allocation_creatable_is_tried_and_rolled_back(db):
    pid = purchase(db)
    sessions(db, pid, 1)
    result = diagnose(db, pid)
    assert result["allocation"][0] is True and "will be created" in result["allocation"][1]
    assert result["sessions_in_sync"][0] is False and "sync_purchase_sessions" in result["sessions_in_sync"][2]
    assert db.value("SELECT count(*) FROM trainer_allocations") == 0
    db.execute("ALTER TABLE trainer_allocations ADD CONSTRAINT test_no_new CHECK (status <> 'approved') NOT VALID")
    blocked = diagnose(db, pid)["allocation"]
    assert blocked[0] is False and "test_no_new" in blocked[1] and blocked[2]


def test_diagnose_unknown_purchase_and_null(db):
    rows = db.rows("SELECT * FROM session_sync_diagnose(%s)", uuid.uuid4())
    assert len(rows) == 1 and rows[0][0] == "purchase_exists" and rows[0][1] is False
    with pytest.raises(psycopg.Error) as caught:
        db.rows("SELECT * FROM session_sync_diagnose(NULL)")
    assert caught.value.sqlstate == "22004"


def test_diagnose_reports_last_failure(db):
    pid = purchase(db, student_location=None)
    sessions(db, pid, 1)
    sync_all(db)
    ok, detail, hint = diagnose(db, pid)["last_failure"]
    assert ok is False and detail.startswith("MISSING_LOCATION") and hint


def test_batched_backfill_commits_batches_and_records_one_run(db):
    for _ in range(7):
        sessions(db, purchase(db), 3)
    bad = purchase(db, students=[])
    sessions(db, bad, 1)
    notices: list[str] = []
    with db.connect(autocommit=True) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary))
        run_id = conn.execute("CALL sync_all_sessions_batched(p_batch_size => 3)").fetchone()[0]
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 21
    run = db.dict("SELECT * FROM session_sync_runs WHERE run_id = %s", run_id)
    assert (run["source"], run["purchases_synced"], run["purchases_failed"], run["sessions_created"]) == (
        "batched", 7, 1, 21)
    assert run["finished_at"] is not None
    assert [n.split(" batch ")[1].split(":")[0] for n in notices if " batch " in n] == ["1/3", "2/3", "3/3"]
    assert db.value("SELECT count(*) FROM session_sync_failures WHERE run_id = %s", run_id) == 1


def test_batched_backfill_quiet_and_bad_batch_size(db):
    sessions(db, purchase(db), 1)
    notices: list[str] = []
    with db.connect(autocommit=True) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary))
        conn.execute("CALL sync_all_sessions_batched(p_quiet => true)")
        with pytest.raises(psycopg.Error) as caught:
            conn.execute("CALL sync_all_sessions_batched(p_batch_size => 0)")
    assert notices == []
    assert caught.value.sqlstate == "22023"


def test_batched_backfill_refuses_to_run_twice_at_once(db):
    sessions(db, purchase(db), 1)
    with db.connect(autocommit=True) as blocker, db.connect(autocommit=True) as first, \
            db.connect(autocommit=True) as second:
        # Hold the run lock, so the first backfill waits inside its first batch: really running.
        blocker.execute("BEGIN")
        blocker.execute("SELECT 1 FROM session_sync_locks WHERE name = 'run' FOR UPDATE")
        pid = first.info.backend_pid
        worker = threading.Thread(target=lambda: first.execute("CALL sync_all_sessions_batched(p_quiet => true)"))
        worker.start()
        wait_until(lambda: db.value("SELECT count(*) FROM session_sync_runs WHERE outcome = 'running'") == 1)
        with pytest.raises(psycopg.Error) as caught:
            second.execute("CALL sync_all_sessions_batched()")
        assert caught.value.sqlstate == "55P03"
        assert "already running" in caught.value.diag.message_primary
        assert f"backend {pid}" in caught.value.diag.message_primary
        assert f"SELECT pg_cancel_backend({pid});" in caught.value.diag.message_hint
        blocker.execute("COMMIT")
        worker.join(30)
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 1
    assert db.rows("SELECT outcome FROM session_sync_runs") == [("finished",)]


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_batched_backfill_resumes_after_being_cut_off(db):
    for _ in range(20):
        sessions(db, purchase(db), 2)
    with db.connect(autocommit=True) as conn:
        # Each batch is slowed down by a trigger on tutoring_sessions, so the timeout hits mid-run.
        db.execute("""CREATE FUNCTION test_slow() RETURNS trigger LANGUAGE plpgsql AS
                      $$ BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$""")
        db.execute("CREATE TRIGGER test_slow AFTER INSERT ON tutoring_sessions FOR EACH STATEMENT "
                   "EXECUTE FUNCTION test_slow()")
        conn.execute("SET statement_timeout = '1s'")
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("CALL sync_all_sessions_batched(p_batch_size => 2)")
        done = db.value("SELECT count(*) FROM tutoring_sessions")
        assert 0 < done < 40
        # No purchase is half synced.
        assert db.value("SELECT count(*) FROM (SELECT metadata->>'purchaseId' FROM tutoring_sessions "
                        "GROUP BY 1 HAVING count(*) <> 2) x") == 0
        conn.execute("SET statement_timeout = 0")
        db.execute("DROP TRIGGER test_slow ON tutoring_sessions")
        # Another connection takes over at once, although the cut-off one is still open (idle).
        with db.connect(autocommit=True) as other:
            other.execute("CALL sync_all_sessions_batched(p_batch_size => 5)")
        assert db.rows("SELECT outcome FROM session_sync_runs ORDER BY run_id") == [("interrupted",), ("finished",)]
        conn.execute("CALL sync_all_sessions_batched(p_batch_size => 5)")  # and the cut-off connection too
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 40
