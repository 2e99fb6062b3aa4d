"""A third adversarial review of revision 0011's second-round fixes (issue 11).

Each test asserts the README's promise; its docstring says what the review observed before the
fix.
"""

from __future__ import annotations

import uuid

import psycopg

from factories import purchase, sessions

RR = psycopg.IsolationLevel.REPEATABLE_READ
SER = psycopg.IsolationLevel.SERIALIZABLE


def commit_error(conn: psycopg.Connection):
    try:
        conn.commit()
        return None
    except psycopg.Error as error:
        conn.rollback()
        return error


def describe(error) -> str:
    if error is None:
        return ""
    context = [line for line in str(error).splitlines() if "SQL statement" in line or "PL/pgSQL" in line]
    return f"{error.sqlstate}: {str(error).splitlines()[0]} {context[:2]}"


def run_or_error(conn, query, params=()):
    try:
        conn.execute(query, params)
        return None
    except psycopg.Error as error:
        conn.rollback()
        return error


# --- Fix 2: SERIALIZABLE writers: the allocation tracking trigger reads course_purchases ---------

def test_serializable_allocation_insert_and_purchase_update_both_commit(db):
    """An admin approves a second student's allocation with the same trainer and course
    (SERIALIZABLE INSERT INTO trainer_allocations); the booking service, SERIALIZABLE too, checks
    the trainer's allocations and updates the purchase. Without the package both commit (one
    rw-dependency only). The allocation tracking trigger (session_sync_allocations_trigger) reads
    course_purchases inside the admin's SERIALIZABLE transaction, adding the second one.
    README: 'the package adds no serialization failure'."""
    trainer, course, student = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    pid = purchase(db, trainer_id=trainer, course_id=course, student_id=student)
    sessions(db, pid, 1)
    db.execute("SELECT * FROM sync_all_sessions()")
    assert db.value("SELECT count(*) FROM trainer_allocations") == 1

    def scenario(options: str):
        admin = psycopg.connect(db.url, options=options)
        booking = psycopg.connect(db.url, options=options)
        try:
            admin.isolation_level = SER
            booking.isolation_level = SER
            booking.execute("SELECT 1").fetchone()  # snapshot
            other = uuid.uuid4()
            errors = [run_or_error(admin,
                "INSERT INTO trainer_allocations (student_id, trainer_id, course_id, requested_by, status)"
                " VALUES (%s, %s, %s, %s, 'approved')", (other, trainer, course, other))]
            errors.append(run_or_error(booking,
                "SELECT count(*) FROM trainer_allocations WHERE trainer_id = %s", (trainer,)))
            errors.append(run_or_error(booking,
                "UPDATE course_purchases SET updated_at = now() WHERE id = %s", (pid,)))
            errors.append(commit_error(admin))
            errors.append(commit_error(booking))
            return [e for e in errors if e is not None]
        finally:
            admin.close()
            booking.close()

    without = scenario("-c session_replication_role=replica")
    assert without == [], [describe(e) for e in without]
    with_package = scenario("")
    assert with_package == [], [describe(e) for e in with_package]


# --- Fix 4: 0011's lock: a lock taken after the platform tables are held -----------------------

def test_upgrade_never_waits_while_holding_the_platform_tables(db):
    """Observed before the fix: the upgrade's NOWAIT attempt took the platform tables, failures,
    runs and the six views, but session_sync_contracts.sql later ran COMMENT ON TABLE
    public.session_sync_changes (and session_sync_locks, session_sync_baseline_tables, the view
    session_sync_queue), which needs SHARE UPDATE EXCLUSIVE: with a VACUUM or ANALYZE of the
    change log open, the migration waited 0.5 s (lock_timeout) holding the platform tables, a
    platform UPDATE queued behind it, and the migration failed. Now those relations are in the
    same NOWAIT attempt: while the ANALYZE is open the migration retries holding nothing, the
    platform's UPDATE commits at once, and the migration completes once the ANALYZE ends."""
    from test_review_0011 import alembic, at_0011, migration_pid

    at_0011(db)
    down = alembic(db.url, "downgrade", "-1")
    _, err = down.communicate(timeout=300)
    assert down.returncode == 0, err
    pid = purchase(db)
    s1, _ = sessions(db, pid, 2)
    holder = db.connect()
    plat = db.connect()
    try:
        holder.execute("ANALYZE session_sync_changes")  # open transaction: SHARE UPDATE EXCLUSIVE, as a VACUUM
        migration = alembic(db.url, "upgrade", "0011_contracts_health")
        mig = migration_pid(db, migration)  # retrying its NOWAIT attempt, holding nothing
        assert db.value("SELECT count(*) FROM pg_locks WHERE pid = %s AND relation = ANY (%s::regclass[])", mig,
                        ["course_purchases", "purchase_sessions", "trainer_allocations", "tutoring_sessions"]) == 0
        plat.execute("UPDATE purchase_sessions SET session_time = '09:00' WHERE id = %s", (s1,))
        plat.commit()
        assert db.value("SELECT version_num FROM alembic_version") == "0010_write_path"
        holder.rollback()
        out, err = migration.communicate(timeout=300)
    finally:
        holder.close()
        plat.close()
    assert migration.returncode == 0, err
    assert db.value("SELECT version_num FROM alembic_version") == "0011_contracts_health"
    assert db.value("SELECT scheduled_time FROM tutoring_sessions WHERE id = %s", s1) == "09:00"


# --- Fix 3: a set-based write held by another transaction's insert defers all --------------------

def test_held_set_based_write_defers_all_and_counts_add_up(db):
    """An operator's open run inserted P1's sessions; cron's run examines P1 and P2 (both
    queued), its set-based write waits 50 ms on P1's uncommitted insert (55P03) and defers both.
    Both must stay queued, and the run's counts must add up."""
    p1 = purchase(db)
    sessions(db, p1, 1)
    p2 = purchase(db)
    sessions(db, p2, 1)
    with db.connect() as op:
        op.execute("SET session_sync.enabled = off")
        op.execute("SELECT * FROM sync_purchase_sessions(%s)", (p1,)).fetchall()  # uncommitted insert
        run = db.dict("SELECT * FROM sync_all_sessions()")
        op.rollback()
    queued = {r[0] for r in db.rows("SELECT DISTINCT purchase_id FROM session_sync_changes")}
    row = db.dict("SELECT * FROM session_sync_runs ORDER BY run_id DESC LIMIT 1")
    assert (row["retry_reason"] or "").startswith("55P03"), row  # the path under review was taken
    assert {p1, p2} <= queued, (queued, run)
    assert row["purchases_examined"] == (row["purchases_synced"] + row["purchases_failed"]
                                         + row["purchases_deferred"] + row["purchases_in_sync"]), row
