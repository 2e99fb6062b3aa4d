"""Change tracking: sync_all_sessions() examines the purchases in session_sync_queue, and every
write that may put a purchase out of sync queues it."""

from __future__ import annotations

import threading
import time
import uuid

from factories import purchase, sessions, sync_all
from session_sync import migrate


def queued(db) -> set[uuid.UUID]:
    return {r[0] for r in db.rows("SELECT purchase_id FROM session_sync_queue")}


def synced_purchase(db) -> tuple[uuid.UUID, list[uuid.UUID]]:
    pid = purchase(db)
    ids = sessions(db, pid, 3)
    sync_all(db)
    assert queued(db) == set()
    return pid, ids


def test_the_install_queues_every_eligible_purchase_written_before(empty_db):
    """What the platform wrote before the install is unknown: every eligible purchase starts
    queued, and the first run syncs them."""
    migrate.upgrade(empty_db.url, "0001_platform_baseline")
    eligible, waitlisted = purchase(empty_db), purchase(empty_db, trainer_id=None, status="WAITLISTED")
    sessions(empty_db, eligible, 2)
    migrate.upgrade(empty_db.url)
    assert queued(empty_db) == {eligible}
    assert sync_all(empty_db)["sessions_created"] == 2
    assert queued(empty_db) == set()


def test_sync_leaves_failures_queued_and_reports_them_again(db):
    good, bad = purchase(db), purchase(db, student_location={"latitude": "12abc", "longitude": 77})
    sessions(db, good, 2)
    sessions(db, bad, 2)
    assert queued(db) == {good, bad}
    first = sync_all(db)
    assert (first["purchases_synced"], first["purchases_failed"]) == (1, 1)
    assert queued(db) == {bad}
    second = sync_all(db)
    assert (second["purchases_synced"], second["purchases_failed"], second["sessions_created"]) == (0, 1, 0)
    # one row per purchase and reason, counting both failures
    assert db.rows("SELECT occurrences FROM session_sync_failures WHERE purchase_id = %s", bad) == [(2,)]


def test_the_syncs_own_writes_queue_nothing(db):
    synced_purchase(db)
    with db.connect(autocommit=True) as live:  # triggers on
        pid = purchase(db, trainer_id=None, status="WAITLISTED")
        sessions(db, pid, 3)
        live.execute("UPDATE course_purchases SET trainer_id = gen_random_uuid(), status = 'ASSIGNED' WHERE id = %s",
                     (pid,))
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE metadata->>'purchaseId' = %s", str(pid)) == 3
    assert queued(db) == set()


def test_an_app_edit_of_a_tutoring_session_is_queued_and_repaired(db):
    pid, ids = synced_purchase(db)
    db.execute("UPDATE tutoring_sessions SET scheduled_time = '09:00' WHERE id = %s", ids[0])
    assert queued(db) == {pid}
    result = sync_all(db)
    assert (result["purchases_synced"], result["sessions_updated"]) == (1, 1)
    assert db.value("SELECT scheduled_time FROM tutoring_sessions WHERE id = %s", ids[0]) == "16:00"
    assert queued(db) == set()


def test_an_edit_of_a_column_the_sync_does_not_write_is_not_queued(db):
    _, ids = synced_purchase(db)
    db.execute("UPDATE tutoring_sessions SET notes = 'brought a calculator' WHERE id = %s", ids[0])
    assert queued(db) == set()


def test_a_deleted_tutoring_session_is_queued_and_recreated(db):
    pid, ids = synced_purchase(db)
    db.execute("DELETE FROM tutoring_sessions WHERE id = %s", ids[1])
    assert queued(db) == {pid}
    assert sync_all(db)["sessions_created"] == 1
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 3


def test_truncating_tutoring_sessions_queues_every_eligible_purchase(db):
    pid, _ = synced_purchase(db)
    other, _ = synced_purchase(db)
    db.execute("TRUNCATE tutoring_sessions")
    assert queued(db) == {pid, other}
    assert sync_all(db)["sessions_created"] == 6


def test_writes_with_sync_disabled_are_queued(db):
    # The `db` fixture's connection has session_sync.enabled = off.
    pid, ids = synced_purchase(db)
    db.execute("UPDATE purchase_sessions SET session_time = '18:00' WHERE id = %s", ids[2])
    assert queued(db) == {pid}
    waiting = purchase(db, trainer_id=None, status="WAITLISTED")
    sessions(db, waiting, 2)
    db.execute("UPDATE course_purchases SET trainer_id = gen_random_uuid(), status = 'ASSIGNED' WHERE id = %s",
               waiting)
    assert waiting in queued(db)
    result = sync_all(db)
    assert (result["sessions_updated"], result["sessions_created"]) == (1, 2)
    assert queued(db) == set()


def test_cancelling_the_allocation_in_use_queues_its_purchases(db):
    pid, ids = synced_purchase(db)
    old = db.value("SELECT allocation_id FROM tutoring_sessions WHERE id = %s", ids[0])
    db.execute("UPDATE trainer_allocations SET status = 'cancelled' WHERE id = %s", old)
    assert queued(db) == {pid}
    assert sync_all(db)["sessions_updated"] == 3
    new = db.value("SELECT allocation_id FROM tutoring_sessions WHERE id = %s", ids[0])
    assert new != old
    assert db.value("SELECT status FROM trainer_allocations WHERE id = %s", new) == "approved"


def test_a_new_approved_allocation_replaces_an_active_one(db):
    student, trainer, course = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    active = db.value(
        """INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status)
           VALUES (%s, %s, %s, %s, 'active') RETURNING id""", student, trainer, course, student)
    pid = purchase(db, student_id=student, trainer_id=trainer, course_id=course)
    [sid] = sessions(db, pid, 1)
    sync_all(db)
    assert db.value("SELECT allocation_id FROM tutoring_sessions WHERE id = %s", sid) == active
    approved = db.value(
        """INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status)
           VALUES (%s, %s, %s, %s, 'approved') RETURNING id""", student, trainer, course, student)
    assert queued(db) == {pid}
    sync_all(db)
    assert db.value("SELECT allocation_id FROM tutoring_sessions WHERE id = %s", sid) == approved


def test_writes_behind_disabled_triggers_need_an_explicit_enqueue(db):
    pid, ids = synced_purchase(db)
    db.execute("ALTER TABLE tutoring_sessions DISABLE TRIGGER USER")
    db.execute("UPDATE tutoring_sessions SET duration = 90 WHERE id = %s", ids[0])
    db.execute("ALTER TABLE tutoring_sessions ENABLE TRIGGER USER")
    assert sync_all(db)["sessions_updated"] == 0  # nothing queued: the run does not see it
    assert db.value("SELECT count(*) FROM session_sync_pending") == 1  # the full check does
    assert db.value("SELECT session_sync_enqueue()") == 1
    assert sync_all(db)["sessions_updated"] == 1
    assert db.value("SELECT duration FROM tutoring_sessions WHERE id = %s", ids[0]) == 40


def test_a_purchase_queued_again_during_a_sync_stays_queued(db):
    pid, ids = synced_purchase(db)
    db.execute("UPDATE tutoring_sessions SET scheduled_time = '09:00' WHERE id = %s", ids[0])
    with db.connect() as editor, db.connect(autocommit=True, options="-c lock_timeout=2s") as syncer:
        # An app's edit, not yet committed, queues the purchase again.
        editor.execute("UPDATE tutoring_sessions SET duration = 90 WHERE id = %s", (ids[1],))
        # The sync neither waits for the editor nor sees its edit: it repairs what it can see ...
        assert syncer.execute("SELECT sessions_updated FROM sync_all_sessions()").fetchone() == (1,)
        editor.commit()
    assert queued(db) == {pid}    # ... and the purchase stays queued for the edit it could not see
    assert sync_all(db)["sessions_updated"] == 1
    assert db.value("SELECT duration FROM tutoring_sessions WHERE id = %s", ids[1]) == 40
