"""A platform migration's DDL never makes an app's edit of a tutoring session wait on the package.

Without the package, ``UPDATE tutoring_sessions ... WHERE id = x`` touches no other table (its
foreign key is checked only when allocation_id changes). The package's tracking trigger must
not add a wait on another platform table: a migration holding ACCESS EXCLUSIVE on it (ALTER
TABLE in an open transaction) would make the app wait, and a migration that then touches
tutoring_sessions would deadlock with it. The trigger learns the purchase from the row itself
(metadata.purchaseId, which the sync writes).

The app's connection carries a statement_timeout: its statements must complete, not time out.
"""

from __future__ import annotations

import uuid

import pytest

from factories import purchase, sessions, sync_all

APP = "-c statement_timeout=3s"


def synced(db) -> tuple[uuid.UUID, list[uuid.UUID]]:
    pid = purchase(db)
    ids = sessions(db, pid, 2)
    sync_all(db)
    assert db.rows("SELECT purchase_id FROM session_sync_queue") == []
    return pid, ids


@pytest.mark.parametrize("table", ["purchase_sessions", "course_purchases", "trainer_allocations"])
@pytest.mark.parametrize("edit", [
    "UPDATE tutoring_sessions SET scheduled_time = '12:00' WHERE id = %s",
    "UPDATE tutoring_sessions SET metadata = metadata - 'purchaseId' WHERE id = %s",
    "DELETE FROM tutoring_sessions WHERE id = %s",
])
def test_an_app_edit_of_a_tutoring_session_does_not_wait_behind_a_migration(db, table, edit):
    pid, ids = synced(db)
    with db.connect() as migration, db.connect(autocommit=True, options=APP) as app:
        migration.execute(f"ALTER TABLE {table} ADD COLUMN migrated integer")  # ACCESS EXCLUSIVE, held
        app.execute(edit, (ids[0],))  # completes: the package reads no table the migration holds
        assert app.execute("SELECT purchase_id FROM session_sync_changes").fetchall() == [(pid,)]
        migration.execute("ALTER TABLE tutoring_sessions ADD COLUMN migrated integer")  # no deadlock
        migration.commit()
    assert db.value("SELECT count(*) FROM pg_attribute WHERE attname = 'migrated' AND NOT attisdropped") == 2


def test_an_app_insert_of_a_tutoring_session_does_not_wait_behind_a_migration(db):
    pid, ids = synced(db)
    db.execute("DELETE FROM tutoring_sessions WHERE id = %s", ids[0])
    db.execute("DELETE FROM session_sync_changes")
    with db.connect() as migration, db.connect(autocommit=True, options=APP) as app:
        migration.execute("ALTER TABLE purchase_sessions ADD COLUMN migrated integer")
        app.execute("""INSERT INTO tutoring_sessions (id, allocation_id, student_id, trainer_id, scheduled_date,
                           scheduled_time, metadata)
                       SELECT %s, allocation_id, student_id, trainer_id, scheduled_date, '07:00', metadata
                       FROM tutoring_sessions WHERE id = %s""", (ids[0], ids[1]))
        migration.commit()
    assert db.rows("SELECT purchase_id FROM session_sync_changes") == [(pid,)]
    sync_all(db)
    assert db.value("SELECT scheduled_date > '2026-01-05'::date AND scheduled_time = '16:00' "
                    "FROM tutoring_sessions WHERE id = %s", ids[0])


def test_a_tutoring_session_that_names_no_purchase_queues_nothing(db):
    pid, ids = synced(db)
    allocation = db.value("SELECT allocation_id FROM tutoring_sessions WHERE id = %s", ids[0])
    own = db.value("""INSERT INTO tutoring_sessions (allocation_id, student_id, trainer_id, scheduled_date,
                          scheduled_time, metadata)
                      VALUES (%s, gen_random_uuid(), gen_random_uuid(), '2026-02-01', '10:00', '{"app": 1}')
                      RETURNING id""", allocation)
    db.execute("UPDATE tutoring_sessions SET scheduled_time = '11:00' WHERE id = %s", own)
    db.execute("DELETE FROM tutoring_sessions WHERE id = %s", own)
    assert db.rows("SELECT purchase_id FROM session_sync_changes") == []


@pytest.mark.parametrize("lock", [
    "LOCK TABLE session_sync_changes IN SHARE MODE",                 # CREATE INDEX on the change log
    "LOCK TABLE session_sync_dropped_keys IN ACCESS EXCLUSIVE MODE",  # VACUUM FULL of the dropped keys
])
def test_maintenance_of_the_packages_own_tables_never_fails_a_platform_commit(db, lock):
    """A DBA's CREATE INDEX or VACUUM FULL on one of the package's tables, open while the
    booking service assigns a purchase: its COMMIT succeeds (the write's 50 ms bound applies to
    the write and the clean-ups, which give up or defer past it), and the purchase ends synced
    or queued, then synced by the next run."""
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    sessions(db, pid, 3)
    with db.connect() as maintenance, db.connect(options=APP) as booking:
        maintenance.execute(lock)
        booking.execute("UPDATE course_purchases SET trainer_id = %s, status = 'ASSIGNED' WHERE id = %s",
                        (uuid.uuid4(), pid))
        booking.commit()
        maintenance.rollback()
    synced_now = db.value("SELECT count(*) FROM tutoring_sessions WHERE metadata->>'purchaseId' = %s", str(pid))
    queued = db.value("SELECT count(*) FROM session_sync_queue WHERE purchase_id = %s", pid)
    assert synced_now == 3 or queued == 1, (synced_now, queued)
    sync_all(db)
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE metadata->>'purchaseId' = %s", str(pid)) == 3
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


def test_an_allocation_write_does_not_wait_behind_a_migration_of_course_purchases(db):
    """The allocation tracking trigger reads course_purchases to find the purchases an
    allocation serves; while a migration holds that table it falls back, past 50 ms, to the
    purchases the allocation's metadata names (as under SERIALIZABLE), never a longer wait."""
    pid, _ = synced(db)
    [aid] = db.one("SELECT allocation_id FROM tutoring_sessions LIMIT 1")
    with db.connect() as migration, db.connect(autocommit=True, options=APP) as app:
        migration.execute("ALTER TABLE course_purchases ADD COLUMN migrated boolean")
        app.execute("UPDATE trainer_allocations SET status = 'active' WHERE id = %s", (aid,))
        migration.rollback()
    assert db.value("SELECT count(*) FROM session_sync_queue WHERE purchase_id = %s", pid) == 1
