"""Keys a purchase session's metadata drops leave its tutoring session; the apps' keys stay.

The sync copies a purchase session's metadata keys onto its tutoring session,
and the apps add keys of their own there. A key the purchase session drops is the sync's to
remove (session_sync_dropped_keys remembers it); a key an app added is never removed.
"""

from __future__ import annotations

import json
import uuid

import psycopg

from factories import purchase, sessions, sync


def metadata(db, session_id):
    return db.value("SELECT metadata FROM tutoring_sessions WHERE id = %s", session_id)


def synced_with_flags(db):
    """An assigned purchase with one session carrying HYBRID flags, synced by the trigger, and an app's key."""
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    sid = sessions(db, pid, 1, metadata={"requiresBooking": True, "isBookable": False})[0]
    with db.connect(autocommit=True) as conn:
        conn.execute("UPDATE course_purchases SET trainer_id = %s, status = 'ASSIGNED' WHERE id = %s",
                     (uuid.uuid4(), pid))
        conn.execute("UPDATE tutoring_sessions SET metadata = metadata || '{\"otpSentAt\": \"x\"}' WHERE id = %s",
                     (sid,))
    assert metadata(db, sid)["requiresBooking"] is True
    return pid, sid


def test_a_dropped_key_is_removed_at_commit_and_the_apps_keys_stay(db):
    pid, sid = synced_with_flags(db)
    with db.connect(autocommit=True) as conn:
        conn.execute("UPDATE purchase_sessions SET metadata = metadata - 'requiresBooking' WHERE id = %s", (sid,))
    got = metadata(db, sid)
    assert "requiresBooking" not in got
    assert got["isBookable"] is False and got["otpSentAt"] == "x" and got["purchaseId"] == str(pid)
    assert db.value("SELECT count(*) FROM session_sync_dropped_keys") == 0
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


def test_with_the_sync_off_verify_reports_the_drift_and_a_run_removes_the_key(db):
    pid, sid = synced_with_flags(db)
    # db's own connection has session_sync.enabled = off: the write is only queued.
    db.execute("UPDATE purchase_sessions SET metadata = '{\"isBookable\": true}' WHERE id = %s", sid)
    assert db.rows("SELECT session_id, key FROM session_sync_dropped_keys") == [(sid, "requiresBooking")]
    assert db.one("SELECT drifted FROM session_sync_verify") == (1,)
    assert db.value("SELECT state FROM session_sync_session_state WHERE session_id = %s", sid) == "drifted"
    result = db.dict("SELECT * FROM sync_all_sessions()")
    assert (result["purchases_synced"], result["sessions_updated"]) == (1, 1)
    got = metadata(db, sid)
    assert "requiresBooking" not in got and got["isBookable"] is True and got["otpSentAt"] == "x"
    assert db.value("SELECT count(*) FROM session_sync_dropped_keys") == 0
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


def test_a_key_dropped_and_added_again_before_the_sync_stays(db):
    pid, sid = synced_with_flags(db)
    db.execute("UPDATE purchase_sessions SET metadata = metadata - 'requiresBooking' WHERE id = %s", sid)
    db.execute("UPDATE purchase_sessions SET metadata = metadata || '{\"requiresBooking\": false}' WHERE id = %s", sid)
    db.execute("SELECT * FROM sync_all_sessions()")
    assert metadata(db, sid)["requiresBooking"] is False
    assert db.value("SELECT count(*) FROM session_sync_dropped_keys") == 0
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


def test_canonical_keys_and_unchanged_or_growing_metadata_record_nothing(db):
    pid, sid = synced_with_flags(db)
    with db.connect(autocommit=True) as conn:
        conn.execute("UPDATE purchase_sessions SET metadata = metadata || '{\"isFixedTime\": true}' WHERE id = %s",
                     (sid,))
        conn.execute("UPDATE purchase_sessions SET session_time = '10:00' WHERE id = %s", (sid,))
        conn.execute("UPDATE purchase_sessions SET metadata = metadata || '{\"purchaseId\": \"p\"}' WHERE id = %s",
                     (sid,))
        conn.execute("UPDATE purchase_sessions SET metadata = metadata - 'purchaseId' WHERE id = %s", (sid,))
    assert db.value("SELECT count(*) FROM session_sync_dropped_keys") == 0
    got = metadata(db, sid)
    assert got["isFixedTime"] is True and got["purchaseId"] == str(pid) and got["otpSentAt"] == "x"


def test_metadata_set_to_null_drops_every_key_of_the_purchase_session(db):
    pid, sid = synced_with_flags(db)
    with db.connect(autocommit=True) as conn:
        conn.execute("UPDATE purchase_sessions SET metadata = NULL WHERE id = %s", (sid,))
    got = metadata(db, sid)
    assert "requiresBooking" not in got and "isBookable" not in got
    assert got["otpSentAt"] == "x" and got["sessionNumber"] == 1


def test_a_protected_session_keeps_the_key(db):
    pid, sid = synced_with_flags(db)
    db.execute("UPDATE tutoring_sessions SET status = 'completed' WHERE id = %s", sid)
    with db.connect(autocommit=True) as conn:
        conn.execute("UPDATE purchase_sessions SET metadata = metadata - 'requiresBooking' WHERE id = %s", (sid,))
    assert metadata(db, sid)["requiresBooking"] is True  # it happened: never changed


def test_a_role_that_may_only_update_purchase_sessions_drops_a_key(db):
    pid, sid = synced_with_flags(db)
    role = f"test_writer_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE ROLE {role} NOLOGIN")
    try:
        db.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        db.execute(f"GRANT SELECT, UPDATE ON purchase_sessions TO {role}")
        with db.connect(autocommit=True) as conn:
            conn.execute(f"SET ROLE {role}")
            conn.execute("UPDATE purchase_sessions SET metadata = %s::jsonb WHERE id = %s",
                         (json.dumps({"isBookable": False}), sid))
        assert "requiresBooking" not in metadata(db, sid)
    finally:
        db.execute(f"DROP OWNED BY {role}")
        db.execute(f"DROP ROLE {role}")


# --- records never outlive their use -----------------------------------------------------------

def records(db, session_id) -> list[str]:
    return [r[0] for r in db.rows("SELECT key FROM session_sync_dropped_keys WHERE session_id = %s ORDER BY key",
                                  session_id)]


def assigned_with_flags(db, count: int = 3):
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    ids = sessions(db, pid, count, metadata={"requiresBooking": True, "isBookable": False})
    with db.connect(autocommit=True) as conn:
        conn.execute("UPDATE course_purchases SET trainer_id = %s, status = 'ASSIGNED' WHERE id = %s",
                     (uuid.uuid4(), pid))
    return pid, ids


def test_records_with_nothing_left_to_do_are_deleted_by_the_next_sync(db):
    """A key dropped and put back (same value) in one transaction, and a flag toggled again and
    again on a completed (protected) session, leave records no write of a session needs: the
    next sync examining the purchase deletes them, so none remain while verify says missing 0,
    drifted 0 (session_sync_status.dropped_keys_pending returns to 0)."""
    pid, (s1, s2, _) = assigned_with_flags(db)
    db.execute("UPDATE tutoring_sessions SET status = 'completed' WHERE id = %s", s2)
    with db.connect(autocommit=True) as plat:
        with plat.transaction():
            plat.execute("UPDATE purchase_sessions SET metadata = metadata - 'requiresBooking' WHERE id = %s", (s1,))
            plat.execute("UPDATE purchase_sessions SET metadata = metadata || '{\"requiresBooking\": true}'"
                         " WHERE id = %s", (s1,))
        for _ in range(5):
            plat.execute("UPDATE purchase_sessions SET metadata = metadata - 'isBookable' WHERE id = %s", (s2,))
            plat.execute("UPDATE purchase_sessions SET metadata = metadata || '{\"isBookable\": false}'"
                         " WHERE id = %s", (s2,))
    db.execute("SELECT * FROM sync_all_sessions()")
    db.execute("SELECT * FROM sync_all_sessions()")
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)
    assert db.value("SELECT count(*) FROM session_sync_dropped_keys") == 0


def test_records_of_deleted_purchase_sessions_go(db):
    """A key dropped from a session of a purchase not assigned yet (recorded), then the purchase's
    sessions are deleted (a cancelled booking) and the purchase is assigned later: the next sync
    that examines the purchase deletes the records, and dropped_keys_pending returns to 0."""
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    sessions(db, pid, 2, metadata={"requiresBooking": True})
    with db.connect(autocommit=True) as plat:
        plat.execute("UPDATE purchase_sessions SET metadata = metadata - 'requiresBooking' WHERE purchase_id = %s",
                     (pid,))
        plat.execute("DELETE FROM purchase_sessions WHERE purchase_id = %s", (pid,))
        plat.execute("UPDATE course_purchases SET trainer_id = gen_random_uuid(), status = 'ASSIGNED' WHERE id = %s",
                     (pid,))
    db.execute("SELECT session_sync_enqueue()")
    db.execute("SELECT * FROM sync_all_sessions()")
    db.execute("SELECT * FROM sync_all_sessions()")
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)
    assert db.value("SELECT dropped_keys_pending FROM session_sync_status") == 0


def relation_rows(plan: dict, relation: str) -> int:
    """Rows the nodes scanning ``relation`` returned in an EXPLAIN (ANALYZE, FORMAT JSON) plan."""
    own = plan.get("Actual Rows", 0) * plan.get("Actual Loops", 1) if plan.get("Relation Name") == relation else 0
    return own + sum(relation_rows(child, relation) for child in plan.get("Plans", []))


def test_stale_records_do_not_slow_every_commit(db):
    """session_sync_session_state looks the keys up by session (an index probe per session, and
    none at all while the table is empty), never aggregating the whole table: with 50,000
    unrelated records, classifying one purchase reads a row or two of the table (each copy of
    the EXISTS reads one), not 50,000, with custom plans and with the cached generic plans the
    write path uses."""
    pid, ids = assigned_with_flags(db)
    db.execute("INSERT INTO session_sync_dropped_keys (session_id, key)"
               " SELECT gen_random_uuid(), 'isBookable' FROM generate_series(1, 50000)")
    db.execute("ANALYZE session_sync_dropped_keys")
    for generic in (False, True):  # custom plans, and the cached generic ones the write path uses
        db.execute(f"SET plan_cache_mode = {'force_generic_plan' if generic else 'auto'}")
        db.execute("PREPARE classify(uuid) AS SELECT state, dropped_keys FROM session_sync_session_state"
                   " WHERE purchase_id = $1")
        plan = db.value(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE classify('{pid}')")[0]["Plan"]
        db.execute("DEALLOCATE classify")
        assert relation_rows(plan, "session_sync_dropped_keys") <= 10, plan  # one per EXISTS, not 50,000
    db.execute("RESET plan_cache_mode")
    with db.connect(autocommit=True) as plat:
        plat.execute("UPDATE purchase_sessions SET session_time = '10:00' WHERE id = %s", (ids[0],))
    assert db.value("SELECT scheduled_time FROM tutoring_sessions WHERE id = %s", ids[0]) == "10:00"


# --- records under concurrent writes ------------------------------------------------------------

def test_rr_commit_that_removes_a_dropped_key_keeps_no_stale_record_and_a_later_app_key_stays(db):
    """A REPEATABLE READ writer's sync at COMMIT removes the dropped key K from S1's tutoring
    session while a concurrent sync deleted the stale record of another session of the same
    COMMIT after its snapshot. The record of K goes in the same statement as K itself (the write
    deletes the records of the keys it removes), so a 40001 in a later clean-up cannot leave it
    behind. Then an app puts its own key K on S1 (the copied one is gone): the next run leaves
    the app's key alone."""
    # P1: S1 carried K (copied by the sync), then the purchase session dropped it (queued, recorded).
    p1 = purchase(db)
    (s1,) = sessions(db, p1, 1, metadata={"K": 1})
    sync(db, p1)
    assert metadata(db, s1)["K"] == 1
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
    assert "K" not in metadata(db, s1)  # the sync removed the copied key
    stale = records(db, s1)

    # The student app now sets its own key K on S1, and the next run goes.
    db.execute("""UPDATE tutoring_sessions SET metadata = metadata || '{"K": "app"}' WHERE id = %s""", s1)
    db.dict("SELECT * FROM sync_all_sessions()")
    assert metadata(db, s1).get("K") == "app", (
        f"the app's own key was removed by the run (record left behind after the COMMIT: {stale})")


def test_a_sync_at_commit_keeps_the_record_of_a_key_a_concurrent_sync_is_writing(db):
    """READ COMMITTED. A run (T2) copies K onto S's tutoring session, still open. The platform
    (T3) drops K from S's purchase session and commits: its sync at COMMIT sees the committed
    version of the tutoring session (without K) and finds S in sync. Its clean-up skips the
    record of K, whose tutoring session another transaction is writing (its xmax), so once T2
    commits the record is still there and the next sync removes K."""
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
    after_commit = (metadata(db, s).get("K"), records(db, s),
                    db.rows("SELECT purchase_id FROM session_sync_queue"))
    db.dict("SELECT * FROM sync_all_sessions()")
    sync(db, p)
    assert "K" not in metadata(db, s), (
        f"K stays on the tutoring session the purchase session dropped it from "
        f"(after the commits: K={after_commit[0]}, records={after_commit[1]}, queued={after_commit[2]})")
    assert records(db, s) == []
