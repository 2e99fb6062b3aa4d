"""What an adversarial review of revision 0012 broke, and now holds: the dropped-keys records.

The first 0012 took the delete of the records of removed keys out of the write statement
(session_sync_write's cleanup forgot them right after); in REPEATABLE READ that cleanup can be
given up whole (40001), and a record then outlived its key. 0012 keeps the delete in the write
statement, as 0011 did. The second test is a race 0011 had too: the cleanup now skips a record
whose tutoring session another transaction is writing.

Promise: a key a purchase session's metadata dropped is removed from its tutoring session by the
next sync; a record is never lost while its key is still on the tutoring session; apps' own keys
stay.
"""

from __future__ import annotations

import json

import psycopg

from factories import purchase, sessions, sync


def tmeta(db, session_id) -> dict:
    return db.value("SELECT metadata FROM tutoring_sessions WHERE id = %s", session_id)


def records(db, session_id) -> list[str]:
    return [r[0] for r in db.rows("SELECT key FROM session_sync_dropped_keys WHERE session_id = %s ORDER BY key",
                                  session_id)]


def test_rr_commit_that_removes_a_dropped_key_keeps_its_record_and_a_later_app_key_is_removed(db):
    """REPEATABLE READ writer. Its sync at COMMIT removes the dropped key K from S1's tutoring
    session, but the cleanup (now the only delete of S1's record) also meets the stale record of
    another session of the same COMMIT that a concurrent sync deleted after the snapshot: 40001,
    the whole cleanup is given up, S1's record stays although K is gone from S1. In 0011 the write
    statement itself deleted S1's record (and deferred only the other purchase).

    Then an app puts its own key K on S1 (its key: the sync already removed the copied one);
    the next run reads the stale record and removes the app's key.
    Observed on the first 0012: K (the app's value) removed by the run. Now the app's key stays."""
    # P1: S1 carried K (copied by the sync), then the purchase session dropped it (queued, recorded).
    p1 = purchase(db)
    (s1,) = sessions(db, p1, 1, metadata={"K": 1})
    sync(db, p1)
    assert tmeta(db, s1)["K"] == 1
    db.execute("UPDATE purchase_sessions SET metadata = metadata - 'K' WHERE id = %s", s1)
    assert records(db, s1) == ["K"]
    # P2: S2's purchase session gained and lost K2 while the sync was off: a record with nothing
    # left to do (S2's tutoring session never had K2), which any sync of P2 deletes.
    p2 = purchase(db)
    (s2,) = sessions(db, p2, 1, metadata={})
    sync(db, p2)
    db.execute("""UPDATE purchase_sessions SET metadata = '{"K2": 1}' WHERE id = %s""", s2)
    db.execute("UPDATE purchase_sessions SET metadata = '{}' WHERE id = %s", s2)
    assert records(db, s2) == ["K2"]

    t1 = db.connect()
    t1.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        # T1 (the booking service, REPEATABLE READ): reschedules S1 (snapshot taken here) ...
        t1.execute("UPDATE purchase_sessions SET session_time = '17:00' WHERE id = %s", (s1,))
        # ... a sync of P2 commits meanwhile and forgets S2's stale record ...
        sync(db, p2)
        assert records(db, s2) == []
        # ... T1 also touches S2, and commits: its sync writes S1 (K removed) and S2.
        t1.execute("""UPDATE purchase_sessions SET metadata = '{"y": 1}' WHERE id = %s""", (s2,))
        t1.commit()
    finally:
        t1.close()
    assert db.value("SELECT scheduled_time FROM tutoring_sessions WHERE id = %s", s1) == "17:00"
    assert "K" not in tmeta(db, s1)  # the sync removed the copied key
    stale = records(db, s1)

    # The student app now sets its own key K on S1, and the next run goes.
    db.execute("""UPDATE tutoring_sessions SET metadata = metadata || '{"K": "app"}' WHERE id = %s""", s1)
    db.dict("SELECT * FROM sync_all_sessions()")
    assert tmeta(db, s1).get("K") == "app", (
        f"the app's own key was removed by the run (record left behind after the COMMIT: {stale})")


def test_a_sync_at_commit_forgets_the_record_of_a_key_a_concurrent_sync_is_writing(db):
    """READ COMMITTED. A run (T2) copies K onto S's tutoring session, still open. The platform
    (T3) drops K from S's purchase session and commits: its sync at COMMIT classifies S as in
    sync (it sees the committed version of the tutoring session, without K) and its cleanup
    deletes the record of K ("its tutoring session no longer has it"). T2 commits: K is on the
    tutoring session, the purchase session has dropped it, no record, nothing queued.
    Observed on 0011 and the first 0012: K stays after every later sync. Now the cleanup skips a
    record whose tutoring session another transaction is writing (its xmax), and the next sync
    removes K."""
    p = purchase(db)
    (s,) = sessions(db, p, 1, metadata={})
    sync(db, p)
    db.execute("""UPDATE purchase_sessions SET metadata = '{"K": 1}' WHERE id = %s""", s)  # sync off: queued

    t2 = db.connect()
    t3 = db.connect(autocommit=True)
    try:
        assert t2.execute("SELECT sessions_updated FROM sync_purchase_sessions(%s)", (p,)).fetchone()[0] == 1
        t3.execute("UPDATE purchase_sessions SET metadata = metadata - 'K' WHERE id = %s", (s,))
        t2.commit()
    finally:
        t2.close()
        t3.close()
    after_commit = (tmeta(db, s).get("K"), records(db, s),
                    db.rows("SELECT purchase_id FROM session_sync_queue"))
    db.dict("SELECT * FROM sync_all_sessions()")
    sync(db, p)
    assert "K" not in tmeta(db, s), (
        f"K stays on the tutoring session the purchase session dropped it from "
        f"(after the commits: K={after_commit[0]}, records={after_commit[1]}, queued={after_commit[2]})")
    assert json.loads(json.dumps(records(db, s))) == []


def test_control_the_same_rr_interleaving_keeps_the_app_key_on_0011(db):
    """Control: the interleaving of the first test on revision 0011, whose write statement
    deleted the records of the keys it removed: the app's key stays there too."""
    from session_sync import migrate
    migrate.downgrade(db.url, "0011_contracts_health")
    assert db.value("SELECT version_num FROM alembic_version") == "0011_contracts_health"
    test_rr_commit_that_removes_a_dropped_key_keeps_its_record_and_a_later_app_key_is_removed(db)
