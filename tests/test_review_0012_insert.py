"""What a review of a change in 0012 broke, and holds since it was reverted: inserting the missing
sessions without ON CONFLICT and mapping a unique_violation on tutoring_sessions' primary key to
SS010 (deferred). Observed with that change: a platform trigger's rejection on a same-named
table's key was deferred forever instead of recorded (SESSION_WRITE_FAILED), and a conflict
committed during the write brought back a 50 ms wait per purchase another transaction held.
0012 keeps ON CONFLICT DO NOTHING and its count check (SS010), as 0011 had."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from factories import purchase, sessions


def _archive_trigger(db) -> None:
    """A platform's audit trail: every inserted tutoring session is copied to
    archive.tutoring_sessions (keyed by id, default constraint name tutoring_sessions_pkey, the
    same name as public.tutoring_sessions' primary key). A session deleted and created again is
    rejected by the platform's trigger: a genuine platform rejection, not a concurrent insert."""
    db.execute("CREATE SCHEMA archive")
    db.execute("CREATE TABLE archive.tutoring_sessions (id uuid PRIMARY KEY, archived_at timestamptz DEFAULT now())")
    db.execute("""CREATE FUNCTION public.archive_session() RETURNS trigger LANGUAGE plpgsql AS $$
                  BEGIN INSERT INTO archive.tutoring_sessions (id) VALUES (NEW.id); RETURN NULL; END $$""")
    db.execute("CREATE TRIGGER archive_session AFTER INSERT ON public.tutoring_sessions"
               " FOR EACH ROW EXECUTE FUNCTION public.archive_session()")


def test_platform_trigger_rejecting_on_a_same_named_tables_primary_key_is_recorded(db):
    bad, good = purchase(db), purchase(db)
    bad_ids = sessions(db, bad, 2)
    sessions(db, good, 2)
    _archive_trigger(db)
    db.execute("SELECT * FROM sync_purchase_sessions(%s)", bad)  # archived once
    db.execute("DELETE FROM tutoring_sessions WHERE id = %s", bad_ids[0])  # an app deletes it
    db.execute("SELECT session_sync_enqueue()")
    outcome = db.dict("SELECT * FROM sync_all_sessions()")
    # expected: the platform's trigger rejected the write: SESSION_WRITE_FAILED for `bad` only,
    # with the platform's message; `good` synced
    assert outcome["purchases_synced"] == 1
    assert (outcome["purchases_failed"], outcome["purchases_deferred"]) == (1, 0), outcome
    reason, message = db.one("SELECT reason, message FROM session_sync_failures WHERE purchase_id = %s", bad)
    assert reason == "SESSION_WRITE_FAILED"
    assert "tutoring_sessions_pkey" in message


def test_platform_trigger_rejection_raises_session_write_failed_from_sync_purchase_sessions(db):
    pid = purchase(db)
    ids = sessions(db, pid, 2)
    _archive_trigger(db)
    db.execute("SELECT * FROM sync_purchase_sessions(%s)", pid)
    db.execute("DELETE FROM tutoring_sessions WHERE id = %s", ids[0])
    started = time.monotonic()
    with pytest.raises(psycopg.Error) as caught:
        db.execute("SELECT * FROM sync_purchase_sessions(%s)", pid)
    elapsed = time.monotonic() - started
    # expected SS009 SESSION_WRITE_FAILED at once; observed: 20 tries, then 55P03 "another
    # transaction is changing one of its tutoring sessions right now"
    assert caught.value.sqlstate == "SS009", (caught.value.sqlstate, str(caught.value), elapsed)


def test_commit_path_records_the_platform_trigger_rejection(db):
    pid = purchase(db)
    ids = sessions(db, pid, 2)
    _archive_trigger(db)
    db.execute("SELECT * FROM sync_purchase_sessions(%s)", pid)
    db.execute("DELETE FROM tutoring_sessions WHERE id = %s", ids[0])
    with db.connect() as app:  # triggers on: the sync runs at its COMMIT
        app.execute("UPDATE purchase_sessions SET session_time = '17:00' WHERE id = %s", (ids[1],))
        app.commit()
    assert db.rows("SELECT reason FROM session_sync_failures WHERE purchase_id = %s", pid) == [
        ("SESSION_WRITE_FAILED",)]


def test_a_committed_conflict_first_does_not_bring_back_a_50ms_wait_per_purchase(db):
    """READ COMMITTED run. U1 (an open transaction) inserted the session with the lowest id, U2
    (another open transaction, an operator's run) inserted the sessions of K other purchases.
    The run's set-based insert waits on U1; U1 commits during that wait. Before 0012 (ON CONFLICT
    DO NOTHING) the row was skipped, the insert then waited 50 ms on U2 and everything was
    deferred at once (55P03, the 0011 fix). Now the first conflict raises 23505 -> SS010, and the
    one-by-one retry waits 50 ms again for every purchase U2 holds."""
    k = 12
    pids = [purchase(db) for _ in range(k + 1)]
    ids = {p: sessions(db, p, 1)[0] for p in pids}
    for p in pids:
        db.execute("SELECT * FROM sync_purchase_sessions(%s)", p)  # the allocations exist from now on
    db.execute("DELETE FROM tutoring_sessions")
    db.execute("SELECT session_sync_enqueue()")
    first = min(pids, key=lambda p: ids[p])
    held = [p for p in pids if p != first]
    u1 = db.connect(options="-c session_sync.enabled=off")
    u2 = db.connect(options="-c session_sync.enabled=off")
    runner = db.connect(autocommit=True)
    watcher = db.connect(autocommit=True)
    outcome: dict = {}
    try:
        u1.execute("SELECT * FROM sync_purchase_sessions(%s)", (first,)).fetchall()
        for p in held:
            u2.execute("SELECT * FROM sync_purchase_sessions(%s)", (p,)).fetchall()
        run_pid = runner.info.backend_pid

        def run() -> None:
            started = time.monotonic()
            cur = runner.cursor(row_factory=psycopg.rows.dict_row)
            outcome["row"] = cur.execute("SELECT * FROM sync_all_sessions()").fetchone()
            outcome["elapsed"] = time.monotonic() - started

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if watcher.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                               (run_pid,)).fetchone()[0]:
                break
        u1.commit()  # U1 commits while the run's insert waits on it
        thread.join(30)
        u2.rollback()
    finally:
        for conn in (u1, u2, runner, watcher):
            conn.close()
    row = outcome["row"]
    run = db.dict("SELECT * FROM session_sync_runs WHERE run_id = %s", row["run_id"])
    assert db.value("SELECT count(*) FROM session_sync_failures") == 0
    # expected (as before 0012, and as the 0011 review fixed): one 50 ms wait, all deferred at once
    assert run["purchases_retried"] == 0, (run["retry_reason"], run["purchases_retried"], outcome["elapsed"])
    assert outcome["elapsed"] < 0.3, outcome["elapsed"]
