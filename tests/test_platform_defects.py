"""Each defect of the platform's own sync and the behaviour that replaces it."""

from __future__ import annotations

import uuid

from factories import bulk, purchase, sessions, sync, sync_all


def test_allocation_insert_sets_requested_by(db):
    # Platform: the insert omits requested_by (NOT NULL), so allocation creation always fails.
    pid = purchase(db)
    sessions(db, pid, 1)
    alloc = sync(db, pid)["allocation_id"]
    assert db.value("SELECT requested_by IS NOT NULL FROM trainer_allocations WHERE id = %s", alloc)


def test_no_session_without_allocation(db):
    # Platform: continues "without allocation_id" into a NOT NULL column; here every session has one.
    for _ in range(3):
        sessions(db, purchase(db), 2)
    sync_all(db)
    assert db.value("SELECT count(*) FROM tutoring_sessions t JOIN trainer_allocations a ON a.id = t.allocation_id"
                    " WHERE a.status = 'approved'") == 6


def test_sync_all_is_its_own_function(db):
    # Platform: "/sync-sessions/all" is routed as a purchase id. Here the two are separate functions;
    # sync_purchase_sessions refuses what is not a purchase.
    assert db.value("SELECT count(*) FROM pg_proc WHERE proname IN ('sync_all_sessions', 'sync_purchase_sessions')") == 2


def test_no_cap_at_200(db):
    bulk(db, 201, 1)
    assert sync_all(db)["purchases_synced"] == 201


def test_parse_float_garbage_rejected(db):
    # Platform: parseFloat("12abc") is 12 and "Infinity" passes the NaN check.
    for raw in ("12abc", "Infinity", "NaN", "0x1A"):
        assert db.value("SELECT session_sync.session_sync_location_problem(jsonb_build_object('latitude', %s::text, "
                        "'longitude', 77))", raw) == "INVALID_COORDINATES"


def test_resync_never_overwrites_disputed_or_pending_verification(db):
    pid = purchase(db)
    ids = sessions(db, pid, 2)
    sync(db, pid)
    db.execute("UPDATE tutoring_sessions SET status = 'disputed' WHERE id = %s", ids[0])
    db.execute("UPDATE tutoring_sessions SET status = 'pending_verification' WHERE id = %s", ids[1])
    sync_all(db)
    sync(db, pid)
    assert sorted(r[0] for r in db.rows("SELECT status FROM tutoring_sessions")) == ["disputed", "pending_verification"]


def test_trainer_change_moves_allocation(db):
    pid = purchase(db)
    [sid] = sessions(db, pid, 1)
    old = sync(db, pid)["allocation_id"]
    db.execute("UPDATE course_purchases SET trainer_id = %s WHERE id = %s", uuid.uuid4(), pid)
    new = sync(db, pid)["allocation_id"]
    assert new != old
    assert db.value("SELECT allocation_id FROM tutoring_sessions WHERE id = %s", sid) == new


def test_failure_never_half_syncs(db):
    pid = purchase(db)
    ids = sessions(db, pid, 4)
    db.execute("ALTER TABLE tutoring_sessions ADD CONSTRAINT test_no_late CHECK (scheduled_time <> '23:59')")
    db.execute("UPDATE purchase_sessions SET session_time = '23:59' WHERE id = %s", ids[3])
    result = sync_all(db)
    assert result["purchases_failed"] == 1
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 0
