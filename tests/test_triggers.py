"""Sync at assignment time: the statement-level triggers on course_purchases and purchase_sessions."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest

from factories import bulk, purchase, sessions

ASSIGN = "UPDATE course_purchases SET trainer_id = %s, status = 'ASSIGNED' WHERE id = %s"


def synced(db, pid) -> int:
    return db.value("SELECT count(*) FROM tutoring_sessions WHERE metadata->>'purchaseId' = %s", str(pid))


def calls(conn, function: str) -> int:
    row = conn.execute("SELECT calls FROM pg_stat_xact_user_functions WHERE funcname = %s", (function,)).fetchone()
    return row[0] if row else 0


@pytest.fixture
def live(db):
    """A connection with the triggers on, as the platform's writers have it."""
    with db.connect(autocommit=True) as conn:
        yield conn


def test_assigning_a_purchase_syncs_its_sessions_at_commit(db, live):
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    sessions(db, pid, 5)
    with live.transaction():
        live.execute(ASSIGN, (uuid.uuid4(), pid))
        # Coalesced: the sync runs once, at COMMIT, still inside the transaction.
        assert live.execute("SELECT count(*) FROM tutoring_sessions").fetchone()[0] == 0
    assert synced(db, pid) == 5


def test_set_constraints_immediate_syncs_before_commit(db, live):
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    [first, *_] = sessions(db, pid, 3)
    with live.transaction():
        live.execute(ASSIGN, (uuid.uuid4(), pid))
        live.execute("SET CONSTRAINTS session_sync_commit_purchases, session_sync_commit_sessions IMMEDIATE")
        assert live.execute("SELECT count(*) FROM tutoring_sessions").fetchone()[0] == 3
        # Later writes of the same transaction are synced at COMMIT again.
        live.execute("SET CONSTRAINTS session_sync_commit_purchases, session_sync_commit_sessions DEFERRED")
        live.execute("UPDATE purchase_sessions SET session_time = '07:45' WHERE id = %s", (first,))
    assert db.value("SELECT scheduled_time FROM tutoring_sessions WHERE id = %s", first) == "07:45"


def test_inserting_sessions_of_an_eligible_purchase_syncs_them(db, live):
    pid = purchase(db)
    booking = db.value("SELECT booking_id FROM course_purchases WHERE id = %s", pid)
    live.execute("INSERT INTO purchase_sessions (purchase_id, booking_id, session_number, session_date, session_time)"
                 " SELECT %s, %s, n, date '2026-03-01' + n, '10:00' FROM generate_series(1, 10) n", (pid, booking))
    assert synced(db, pid) == 10


def test_inserting_an_assigned_purchase_whose_sessions_exist_syncs_it(db, live):
    pid, booking, trainer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    live.execute("INSERT INTO purchase_sessions (purchase_id, booking_id, session_number, session_date, session_time)"
                 " VALUES (%s, %s, 1, '2026-03-01', '10:00')", (pid, booking))
    live.execute("""INSERT INTO course_purchases (id, booking_id, course_id, class_type, total_sessions, delivery_mode,
                        start_date, preferred_time_slot, student_location, students, trainer_id, status)
                    VALUES (%s, %s, gen_random_uuid(), 'ONE_ON_ONE', 10, 'WEEKDAY_DAILY', '2026-03-01', '10:00',
                            '{"latitude": 1.5, "longitude": 2.5}',
                            jsonb_build_array(jsonb_build_object('id', gen_random_uuid())), %s, 'ASSIGNED')""",
                 (pid, booking, trainer))
    assert synced(db, pid) == 1


def test_sessions_of_ineligible_purchases_are_not_synced_nor_failures(db, live):
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    booking = db.value("SELECT booking_id FROM course_purchases WHERE id = %s", pid)
    live.execute("INSERT INTO purchase_sessions (purchase_id, booking_id, session_number, session_date, session_time)"
                 " VALUES (%s, %s, 1, '2026-03-01', '10:00')", (pid, booking))
    assert synced(db, pid) == 0
    assert db.value("SELECT count(*) FROM session_sync_failures") == 0


@pytest.mark.parametrize("change, column, expected", [
    ("session_date = '2026-05-05', status = 'rescheduled'", "scheduled_date::text || status", "2026-05-05scheduled"),
    ("status = 'cancelled'", "status", "cancelled"),
    ("status = 'completed'", "status", "completed"),
    ("session_time = '19:45'", "scheduled_time", "19:45"),
])
def test_updating_a_purchase_session_updates_its_tutoring_session(db, live, change, column, expected):
    pid = purchase(db)
    [sid] = sessions(db, pid, 1)
    db.dict("SELECT * FROM sync_purchase_sessions(%s)", pid)
    live.execute(f"UPDATE purchase_sessions SET {change} WHERE id = %s", (sid,))
    assert db.value(f"SELECT {column} FROM tutoring_sessions WHERE id = %s", sid) == expected


def test_protected_session_is_not_updated_by_the_trigger(db, live):
    pid = purchase(db)
    [sid] = sessions(db, pid, 1)
    db.dict("SELECT * FROM sync_purchase_sessions(%s)", pid)
    db.execute("UPDATE tutoring_sessions SET status = 'in_progress' WHERE id = %s", sid)
    live.execute("UPDATE purchase_sessions SET session_time = '21:00' WHERE id = %s", (sid,))
    assert db.one("SELECT status, scheduled_time FROM tutoring_sessions WHERE id = %s", sid) == ("in_progress", "16:00")


def test_deleting_a_purchase_session_deletes_nothing(db, live):
    pid = purchase(db)
    [sid] = sessions(db, pid, 1)
    db.dict("SELECT * FROM sync_purchase_sessions(%s)", pid)
    live.execute("DELETE FROM purchase_sessions WHERE id = %s", (sid,))
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE id = %s", sid) == 1


def test_trainer_change_moves_unprotected_sessions(db, live):
    pid = purchase(db)
    ids = sessions(db, pid, 3)
    old = db.dict("SELECT * FROM sync_purchase_sessions(%s)", pid)["allocation_id"]
    db.execute("UPDATE tutoring_sessions SET status = 'completed' WHERE id = %s", ids[0])
    new_trainer = uuid.uuid4()
    live.execute("UPDATE course_purchases SET trainer_id = %s WHERE id = %s", (new_trainer, pid))
    rows = dict(db.rows("SELECT id, trainer_id FROM tutoring_sessions"))
    assert rows[ids[0]] != new_trainer and rows[ids[1]] == rows[ids[2]] == new_trainer
    assert db.value("SELECT count(DISTINCT allocation_id) FROM tutoring_sessions WHERE trainer_id = %s",
                    new_trainer) == 1
    assert db.value("SELECT allocation_id FROM tutoring_sessions WHERE id = %s", ids[0]) == old


def test_irrelevant_update_does_not_sync(db, live):
    pid = purchase(db)
    sessions(db, pid, 2)  # not synced yet (arranged with the triggers off)
    live.execute("UPDATE course_purchases SET updated_at = now() WHERE id = %s", (pid,))
    assert synced(db, pid) == 0


def test_failure_is_recorded_and_the_write_commits(db, live):
    pid = purchase(db, trainer_id=None, status="WAITLISTED", student_location={"latitude": "12abc", "longitude": 1})
    sessions(db, pid, 2)
    live.execute(ASSIGN, (uuid.uuid4(), pid))
    assert db.value("SELECT status FROM course_purchases WHERE id = %s", pid) == "ASSIGNED"
    assert db.one("SELECT reason, source, run_id FROM session_sync_failures WHERE purchase_id = %s", pid) == (
        "INVALID_COORDINATES", "trigger", None)
    assert synced(db, pid) == 0


def test_strict_mode_raises_and_the_write_rolls_back(db, live):
    pid = purchase(db, trainer_id=None, status="WAITLISTED", student_location=None)
    sessions(db, pid, 2)
    live.execute("SET session_sync.strict = on")
    with pytest.raises(psycopg.Error) as caught:
        live.execute(ASSIGN, (uuid.uuid4(), pid))
    assert caught.value.sqlstate == "SS005"
    assert caught.value.diag.message_primary.startswith(f"MISSING_LOCATION: purchase {pid}")
    assert "session_sync.strict" in caught.value.diag.message_hint
    assert db.value("SELECT status FROM course_purchases WHERE id = %s", pid) == "WAITLISTED"
    assert db.value("SELECT count(*) FROM session_sync_failures") == 0


def test_disabled_skips_and_sync_all_catches_up(db, live):
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    sessions(db, pid, 3)
    with live.transaction():
        live.execute("SET LOCAL session_sync.enabled = off")
        live.execute(ASSIGN, (uuid.uuid4(), pid))
    assert synced(db, pid) == 0
    assert db.dict("SELECT * FROM sync_all_sessions()")["sessions_created"] == 3


def test_bad_setting_value_is_a_clear_error(db, live):
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    sessions(db, pid, 1)
    live.execute("SET session_sync.enabled = 'maybe'")
    with pytest.raises(psycopg.Error) as caught:  # at COMMIT (here: the end of the autocommit statement)
        live.execute(ASSIGN, (uuid.uuid4(), pid))
    assert "session_sync.enabled is 'maybe'" in caught.value.diag.message_primary
    assert db.value("SELECT status FROM course_purchases WHERE id = %s", pid) == "WAITLISTED"  # rolled back


def test_rollback_rolls_the_sync_back(db, live):
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    sessions(db, pid, 3)
    with pytest.raises(RuntimeError):
        with live.transaction():
            live.execute(ASSIGN, (uuid.uuid4(), pid))
            live.execute("SET CONSTRAINTS ALL IMMEDIATE")
            assert live.execute("SELECT count(*) FROM tutoring_sessions").fetchone()[0] == 3
            raise RuntimeError("abort")
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 0
    assert db.value("SELECT count(*) FROM trainer_allocations") == 0


def test_bulk_update_of_10000_purchases_is_synced_set_based(db, live):
    bulk(db, 10000, 2, assigned=False)
    live.execute("SET track_functions = 'pl'")
    with live.transaction():
        live.execute("UPDATE course_purchases SET trainer_id = gen_random_uuid(), status = 'ASSIGNED'")
        live.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the sync at COMMIT, here, to count its calls
        # One trigger call, one set-based write for all 10,000 purchases: no per-row work.
        assert calls(live, "session_sync_course_purchases_trigger") == 1
        assert calls(live, "session_sync_write") == 1
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 20000
    assert db.value("SELECT count(*) FROM trainer_allocations") == 10000


@pytest.mark.slow
def test_bulk_insert_of_200000_sessions_is_synced_set_based(db, live):
    bulk(db, 10000)
    live.execute("SET track_functions = 'pl'")
    with live.transaction():
        live.execute("INSERT INTO purchase_sessions (purchase_id, booking_id, session_number, session_date,"
                     " session_time) SELECT id, booking_id, n, start_date + n, '16:00'"
                     " FROM course_purchases, generate_series(1, 20) n")
        live.execute("SET CONSTRAINTS ALL IMMEDIATE")
        assert calls(live, "session_sync_purchase_sessions_trigger") == 1
        assert calls(live, "session_sync_commit_trigger") == 1
        assert calls(live, "session_sync_write") == 1
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 200000


def test_concurrent_assignments_of_same_student_trainer_course_share_one_allocation(db):
    student, trainer, course = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    first = purchase(db, student_id=student, course_id=course, trainer_id=None, status="WAITLISTED")
    second = purchase(db, student_id=student, course_id=course, trainer_id=None, status="WAITLISTED")
    sessions(db, first, 2)
    sessions(db, second, 2)
    with db.connect() as a, db.connect() as b:
        a.execute(ASSIGN, (trainer, first))
        a.execute("SET CONSTRAINTS ALL IMMEDIATE")  # a's transaction stays open, holding its new allocation
        b.execute(ASSIGN, (trainer, second))
        started = time.monotonic()
        b.commit()  # its sync waits at most lock_timeout (50 ms) for a's allocation, then defers the purchase
        assert time.monotonic() - started < 2
        assert second in {r[0] for r in db.rows("SELECT purchase_id FROM session_sync_queue")}
        a.commit()
    db.rows("SELECT * FROM sync_all_sessions()")  # the next run completes it, with a's allocation
    assert db.value("SELECT count(*) FROM trainer_allocations WHERE status = 'approved'") == 1
    assert db.value("SELECT count(DISTINCT allocation_id) FROM tutoring_sessions") == 1
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 4
    assert db.value("SELECT count(*) FROM session_sync_failures") == 0


def test_a_purchase_session_whose_id_changes_is_synced_under_its_new_id(db, live):
    pid = purchase(db)
    [old, _] = sessions(db, pid, 2)
    db.rows("SELECT * FROM sync_all_sessions()")
    new = uuid.uuid4()
    live.execute("UPDATE purchase_sessions SET id = %s WHERE id = %s", (new, old))
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE id = %s", new) == 1
    # The old tutoring session is never deleted: verify counts it as orphaned.
    assert db.one("SELECT missing, drifted, orphaned FROM session_sync_verify") == (0, 0, 1)


def test_a_changed_booking_id_reaches_the_metadata(db, live):
    pid = purchase(db)
    [sid] = sessions(db, pid, 1)
    db.rows("SELECT * FROM sync_all_sessions()")
    booking = uuid.uuid4()
    live.execute("UPDATE purchase_sessions SET booking_id = %s WHERE id = %s", (booking, sid))
    assert db.value("SELECT metadata->>'bookingId' FROM tutoring_sessions WHERE id = %s", sid) == str(booking)


def test_a_purchase_whose_id_changes_is_examined_under_both_ids(db, live):
    pid = purchase(db)
    sessions(db, pid, 1)
    db.rows("SELECT * FROM sync_all_sessions()")
    new = uuid.uuid4()
    with live.transaction():
        live.execute("SET LOCAL session_sync.enabled = off")  # queue instead of syncing, to see what is noted
        live.execute("UPDATE course_purchases SET id = %s WHERE id = %s", (new, pid))
    assert {r[0] for r in db.rows("SELECT purchase_id FROM session_sync_queue")} == {pid, new}


def test_a_stale_commit_armed_value_never_silences_a_later_transaction(db, live):
    live.execute("SET session_sync.commit_armed = 'on'")  # session level: left over, or set by hand
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    sessions(db, pid, 2)
    live.execute(ASSIGN, (uuid.uuid4(), pid))
    assert synced(db, pid) == 2


def test_an_allocation_inserted_by_hand_never_deadlocks_the_platform_with_the_sync(db):
    """A: inserts the approved allocation of (s, t, c) and keeps its transaction open; B assigns a purchase of
    (s, t, c) and commits; A then writes that purchase. Without the package both commit; with it too."""
    student, trainer, course = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    pid = purchase(db, student_id=student, course_id=course, trainer_id=None, status="WAITLISTED")
    sessions(db, pid, 2)
    with db.connect() as a, db.connect() as b:
        a.execute("SET deadlock_timeout = '100ms'")
        a.execute("INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status)"
                  " VALUES (%s, %s, %s, %s, 'approved')", (student, trainer, course, student))
        b.execute(ASSIGN, (trainer, pid))
        started = time.monotonic()
        b.commit()  # its sync waits at most lock_timeout for A's allocation, then defers the purchase
        assert time.monotonic() - started < 2
        a.execute("UPDATE course_purchases SET metadata = '{\"x\": 1}' WHERE id = %s", (pid,))
        a.commit()
    db.rows("SELECT * FROM sync_all_sessions()")
    assert db.value("SELECT count(*) FROM trainer_allocations WHERE status = 'approved'") == 1
    assert synced(db, pid) == 2


def test_at_most_three_routine_hops_from_the_commit_trigger_to_the_writing_statement(db, live):
    # Every PL/pgSQL routine between the COMMIT and the row written, as PostgreSQL's own call
    # stack names them (GET DIAGNOSTICS PG_CONTEXT in a trigger on the written table).
    db.execute("CREATE TABLE write_stacks (op text, stack text)")
    db.execute("GRANT INSERT ON write_stacks TO PUBLIC")  # the write runs as the package's owner
    db.execute("""CREATE FUNCTION record_stack() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE v text;
        BEGIN GET DIAGNOSTICS v = PG_CONTEXT; INSERT INTO public.write_stacks VALUES (TG_OP, v); RETURN NEW; END $$""")
    db.execute("CREATE TRIGGER record_stack BEFORE INSERT OR UPDATE ON tutoring_sessions"
               " FOR EACH ROW EXECUTE FUNCTION record_stack()")
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    sessions(db, pid, 2)
    live.execute(ASSIGN, (uuid.uuid4(), pid))  # inserts the sessions at COMMIT
    live.execute(ASSIGN, (uuid.uuid4(), pid))  # a trainer change: updates them
    stacks = db.rows("SELECT op, stack FROM write_stacks")
    assert sorted(op for op, _ in stacks) == ["INSERT", "INSERT", "UPDATE", "UPDATE"]
    for _, stack in stacks:
        routines = [line.split("(")[0].removeprefix("PL/pgSQL function ")
                    for line in stack.splitlines() if line.startswith("PL/pgSQL function ")]
        # the recorder, then the routine whose statement wrote, ..., the commit trigger
        assert routines[:2] == ["public.record_stack", "session_sync.session_sync_write"], stack
        assert routines[-1] == "session_sync.session_sync_commit_trigger", stack
        assert len(routines) - 2 <= 3, stack  # hops: write <- flush <- commit trigger today (two)


def test_a_sync_at_commit_reads_the_mapping_once(db, live):
    # The purchase sessions are read only by the mapping (session_sync_expected): one scan of the
    # table in the whole transaction means the write classified them once, in one statement.
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    sessions(db, pid, 3)
    with live.transaction():
        live.execute(ASSIGN, (uuid.uuid4(), pid))
        live.execute("SET CONSTRAINTS session_sync_commit_purchases, session_sync_commit_sessions IMMEDIATE")
        scans = live.execute("SELECT seq_scan + idx_scan FROM pg_stat_xact_user_tables"
                             " WHERE relid = 'public.purchase_sessions'::regclass").fetchone()[0]
    assert synced(db, pid) == 3
    assert scans == 1
