"""The package's internal settings (session_sync.pending, session_sync.applying) take effect only
with the value the package set in the current transaction.

A session-level SET of one of them (by hand, or left by another client behind a transaction-mode
pooler) neither breaks a later COMMIT of that session nor turns tracking off. The public settings
are session_sync.enabled and session_sync.strict.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from factories import purchase, sessions, sync_all


def queued(db) -> set[uuid.UUID]:
    return {r[0] for r in db.rows("SELECT purchase_id FROM session_sync_queue")}


@pytest.mark.parametrize("value", ["garbage", ",garbage", "," + "x" * 36, "{not-a-uuid},", ",,"])
def test_a_session_level_pending_value_does_not_break_a_commit(db, value):
    pid = purchase(db)
    sessions(db, pid, 2)
    with db.connect(autocommit=True) as app:
        app.execute("SELECT set_config('session_sync.pending', %s, false)", (value,))
        notices: list[str] = []
        app.add_notice_handler(lambda d: notices.append(d.message_primary))
        for _ in range(2):  # every later COMMIT of the session too
            app.execute("UPDATE purchase_sessions SET session_time = '09:00' WHERE purchase_id = %s", (pid,))
        assert app.execute("SHOW session_sync.pending").fetchone()[0] == value
    # the purchase was synced at COMMIT; the stray value was ignored, saying so at most once a COMMIT
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE metadata->>'purchaseId' = %s "
                    "AND scheduled_time = '09:00'", str(pid)) == 2
    assert len(notices) <= 2 and all("session_sync.pending" in n for n in notices)


def test_a_session_level_applying_does_not_turn_tracking_off(db):
    pid = purchase(db)
    ids = sessions(db, pid, 2)
    sync_all(db)
    assert queued(db) == set()
    with db.connect(autocommit=True) as app:
        app.execute("SET session_sync.applying = on")
        app.execute("UPDATE tutoring_sessions SET scheduled_time = '12:00' WHERE id = %s", (ids[0],))
    assert queued(db) == {pid}
    db.execute("DELETE FROM session_sync_changes")
    with db.connect() as app:
        app.execute("SET LOCAL session_sync.applying = on")
        app.execute("DELETE FROM tutoring_sessions WHERE id = %s", (ids[1],))
        app.commit()
    assert queued(db) == {pid}
    assert sync_all(db)["sessions_created"] == 1 and queued(db) == set()


def test_a_session_level_applying_does_not_hide_an_allocation_change(db):
    pid = purchase(db)
    [sid] = sessions(db, pid, 1)
    sync_all(db)
    allocation = db.value("SELECT allocation_id FROM tutoring_sessions WHERE id = %s", sid)
    with db.connect(autocommit=True) as app:
        app.execute("SET session_sync.applying = on")
        app.execute("UPDATE trainer_allocations SET status = 'cancelled' WHERE id = %s", (allocation,))
    assert queued(db) == {pid}


def test_the_syncs_own_writes_still_queue_nothing(db):
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    sessions(db, pid, 2)
    with db.connect(autocommit=True) as app:
        app.execute("SET session_sync.applying = on")  # stray, and irrelevant to the sync's own marker
        app.execute("UPDATE course_purchases SET trainer_id = gen_random_uuid(), status = 'ASSIGNED' "
                    "WHERE id = %s", (pid,))
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE metadata->>'purchaseId' = %s", str(pid)) == 2
    assert queued(db) == set()
