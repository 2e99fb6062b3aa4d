"""Keys a purchase session's metadata drops leave its tutoring session; the apps' keys stay.

Issue 11 item 5: the sync copies a purchase session's metadata keys onto its tutoring session,
and the apps add keys of their own there. A key the purchase session drops is the sync's to
remove (session_sync_dropped_keys remembers it); a key an app added is never removed.
"""

from __future__ import annotations

import json
import uuid

from factories import purchase, sessions


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
