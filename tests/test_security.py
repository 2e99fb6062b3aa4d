"""Privileges and a hostile search_path: who may run the sync, and that callers cannot redirect it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from factories import purchase, sessions


@pytest.fixture
def role(db) -> Iterator[str]:
    """A fresh NOLOGIN role with no rights at all (the test connects as superuser and SET ROLEs)."""
    name = f"test_role_{uuid.uuid4().hex[:10]}"
    db.execute(f"CREATE ROLE {name} NOLOGIN")
    db.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
    yield name
    db.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {name}")
    db.execute(f"REVOKE session_sync_runner FROM {name}")
    db.execute(f"REVOKE USAGE ON SCHEMA public FROM {name}")
    db.execute(f"DROP OWNED BY {name}")
    db.execute(f"DROP ROLE {name}")


def as_role(db, role: str) -> psycopg.Connection:
    conn = db.connect(autocommit=True)
    conn.execute(f"SET ROLE {role}")
    return conn


def test_public_cannot_execute_package_routines(db):
    public_routines = db.rows("""
        SELECT p.oid::regprocedure::text FROM pg_proc p
        WHERE p.pronamespace IN ('public'::regnamespace, to_regnamespace('session_sync'))
          AND (p.proname LIKE 'session\\_sync%%' OR p.proname LIKE 'sync\\_%%')
          AND has_function_privilege('public', p.oid, 'EXECUTE')""")
    assert public_routines == []


def test_role_without_runner_gets_permission_denied(db, role):
    pid = purchase(db)
    sessions(db, pid, 1)
    with as_role(db, role) as conn:
        for statement in ("SELECT * FROM sync_all_sessions()", "SELECT * FROM sync_purchase_sessions(%s)",
                          "CALL sync_all_sessions_batched()", "SELECT * FROM session_sync_diagnose(%s)",
                          "SELECT * FROM session_sync_pending"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement, (pid,) if "%s" in statement else None)
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 0


def test_runner_syncs_without_rights_on_the_tables_it_writes(db, role):
    db.execute(f"GRANT session_sync_runner TO {role}")
    first, second, third = purchase(db), purchase(db), purchase(db)
    for pid in (first, second, third):
        sessions(db, pid, 2)
    with as_role(db, role) as conn:
        for table in ("tutoring_sessions", "trainer_allocations", "course_purchases", "purchase_sessions"):
            assert not conn.execute("SELECT has_table_privilege(%s, 'INSERT') OR has_table_privilege(%s, 'UPDATE')",
                                    (table, table)).fetchone()[0]
        assert conn.execute("SELECT sessions_created FROM sync_purchase_sessions(%s)", (first,)).fetchone()[0] == 2
        db.execute("UPDATE purchase_sessions SET session_time = '09:00' WHERE purchase_id = %s", second)
        assert conn.execute("SELECT sessions_created FROM sync_all_sessions()").fetchone()[0] == 4
        db.execute("UPDATE purchase_sessions SET session_time = '10:00' WHERE purchase_id = %s", third)
        conn.execute("CALL sync_all_sessions_batched()")
        assert conn.execute("SELECT missing, drifted FROM session_sync_verify").fetchone() == (0, 0)
        assert conn.execute("SELECT count(*) FROM session_sync_diagnose(%s)", (first,)).fetchone()[0] == 9
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE scheduled_time = '10:00'") == 2


def test_trigger_path_for_a_role_that_may_only_assign_and_add_sessions(db, role):
    db.execute(f"GRANT SELECT, UPDATE ON course_purchases TO {role}")
    db.execute(f"GRANT INSERT ON purchase_sessions TO {role}")
    pid = purchase(db, trainer_id=None, status="WAITLISTED")
    sessions(db, pid, 2)
    booking = db.value("SELECT booking_id FROM course_purchases WHERE id = %s", pid)
    with as_role(db, role) as conn:
        conn.execute("UPDATE course_purchases SET trainer_id = %s, status = 'ASSIGNED' WHERE id = %s",
                     (uuid.uuid4(), pid))
        conn.execute("INSERT INTO purchase_sessions (purchase_id, booking_id, session_number, session_date,"
                     " session_time) VALUES (%s, %s, 3, '2026-04-01', '10:00')", (pid, booking))
    assert db.value("SELECT count(*) FROM tutoring_sessions") == 3


HOSTILE = """
CREATE SCHEMA evil;
CREATE TABLE evil.course_purchases (LIKE public.course_purchases);
CREATE TABLE evil.purchase_sessions (LIKE public.purchase_sessions);
CREATE TABLE evil.tutoring_sessions (LIKE public.tutoring_sessions);
CREATE TABLE evil.trainer_allocations (LIKE public.trainer_allocations);
CREATE TABLE evil.session_sync_failures (LIKE public.session_sync_failures);
CREATE FUNCTION evil.jsonb_typeof(jsonb) RETURNS text LANGUAGE sql AS $$ SELECT 'null'::text $$;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT 'epoch'::timestamptz $$;
CREATE FUNCTION evil.current_setting(text, boolean) RETURNS text LANGUAGE sql AS $$ SELECT 'off'::text $$;
CREATE FUNCTION evil.lower(text) RETURNS text LANGUAGE sql AS $$ SELECT 'off'::text $$;
CREATE FUNCTION evil.texteq_evil(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT false $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq_evil);
"""


@pytest.mark.parametrize("path", ["evil, public", "evil, pg_catalog, public", "pg_temp, evil, pg_catalog, public"])
def test_hostile_search_path_changes_nothing(db, path):
    db.execute(HOSTILE)
    good = purchase(db, trainer_id=None, status="WAITLISTED", student_location={"latitude": "12.5", "longitude": 7})
    sessions(db, good, 2)
    bad = purchase(db, student_location={"latitude": "12abc", "longitude": 7})
    sessions(db, bad, 1)
    other = purchase(db)
    sessions(db, other, 1)
    with db.connect(autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE tutoring_sessions (LIKE public.tutoring_sessions)")
        conn.execute("CREATE FUNCTION pg_temp.jsonb_typeof(jsonb) RETURNS text LANGUAGE sql AS $$ SELECT 'null'::text $$")
        conn.execute(f"SET search_path = {path}")
        # The trigger (would read current_setting) and both sync functions, under the hostile path.
        conn.execute("UPDATE public.course_purchases SET trainer_id = gen_random_uuid(), status = 'ASSIGNED' "
                     "WHERE id = %s", (good,))
        result = conn.execute("SELECT purchases_synced, purchases_failed FROM public.sync_all_sessions()").fetchone()
        assert result == (1, 1)
        with pytest.raises(psycopg.Error) as caught:
            conn.execute("SELECT * FROM public.sync_purchase_sessions(%s)", (bad,))
        assert caught.value.sqlstate == "SS006"
        assert caught.value.diag.message_primary.startswith(f"INVALID_COORDINATES: purchase {bad}")
        conn.execute("CALL public.sync_all_sessions_batched(p_quiet => true)")
        assert conn.execute("SELECT count(*) FROM pg_temp.tutoring_sessions").fetchone()[0] == 0
    for table in ("course_purchases", "purchase_sessions", "tutoring_sessions", "trainer_allocations",
                  "session_sync_failures"):
        assert db.value(f"SELECT count(*) FROM evil.{table}") == 0
    rows = db.rows("SELECT metadata->>'purchaseId', student_home_location, metadata ? 'evil' FROM tutoring_sessions"
                   " ORDER BY 1")
    assert sorted(r[0] for r in rows) == sorted([str(good)] * 2 + [str(other)])
    assert all(r[2] is False for r in rows)
    assert {"latitude": 12.5, "longitude": 7} in [r[1] for r in rows]
    assert db.value("SELECT bool_and(allocated_at > now() - interval '1 hour') FROM trainer_allocations")
    assert db.one("SELECT reason, message LIKE 'INVALID_COORDINATES: purchase %%' FROM session_sync_failures "
                  "ORDER BY failure_id LIMIT 1") == ("INVALID_COORDINATES", True)


def test_no_routine_writes_the_platforms_purchase_tables(db):
    good, bad = purchase(db), purchase(db, students=[{"id": "nope"}])
    sessions(db, good, 3)
    sessions(db, bad, 2)
    waiting = purchase(db, trainer_id=None, status="WAITLISTED")
    sessions(db, waiting, 1)
    snapshot = "SELECT xmin::text, to_jsonb(x)::text FROM {} x ORDER BY 2"
    before = [db.rows(snapshot.format(t)) for t in ("course_purchases", "purchase_sessions")]
    db.rows("SELECT * FROM sync_all_sessions(p_dry_run => true)")
    db.rows("SELECT * FROM sync_all_sessions()")
    db.rows("SELECT * FROM sync_purchase_sessions(%s)", good)
    db.rows("SELECT * FROM session_sync_diagnose(%s)", bad)
    db.rows("SELECT * FROM session_sync_pending")
    db.rows("SELECT * FROM session_sync_verify")
    with db.connect(autocommit=True) as conn:
        conn.execute("CALL sync_all_sessions_batched(p_quiet => true)")
    after = [db.rows(snapshot.format(t)) for t in ("course_purchases", "purchase_sessions")]
    assert after == before  # same row versions (xmin) and same values
