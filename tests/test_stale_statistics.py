"""Bulk writes whose rows the planner's statistics do not count yet.

A first import into the platform's tables, or a bulk statement whose own rows the
statement-level trigger syncs inside its transaction, meets statistics that count (almost) no
rows. A write whose statements join its CTEs would then be planned as nested loops whose time
grows with the square of the batch (PostgreSQL 15 does the same with statistics: it estimates a
CTE without its columns' statistics). The write changes no planner setting; its statements'
shape keeps it linear, and these tests read the plans to prove it. No timed assertion here:
the plans are read from auto_explain, and a nested loop that rescans a CTE for every row of
another shows as the rows its join filter removed, which grow with the square of the batch.
"""

from __future__ import annotations

import re
import uuid

import psycopg
import pytest

from factories import bulk

PURCHASES = 200  # a bulk write (above 64 purchases)
SESSIONS_EACH = 3


def explained_write(conn: psycopg.Connection, query: str) -> tuple[list[str], list]:
    """Runs ``query`` with auto_explain on (nested statements, ANALYZE, as NOTICEs); returns the
    plans it logged and the query's rows."""
    plans: list[str] = []
    conn.add_notice_handler(lambda diag: plans.append(diag.message_primary or ""))
    for setting in ("LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0",
                    "SET auto_explain.log_nested_statements = on", "SET auto_explain.log_analyze = on",
                    "SET auto_explain.log_timing = off", "SET auto_explain.log_level = notice",
                    "SET client_min_messages = notice"):
        conn.execute(setting)
    rows = conn.execute(query).fetchall()
    conn.execute("RESET client_min_messages")
    return plans, rows


def rows_removed_by_join_filters(plan: str) -> int:
    return max((int(float(n)) for n in re.findall(r"Rows Removed by Join Filter: ([0-9.]+)", plan)), default=0)


def the_write(plans: list[str]) -> str:
    [plan] = [p for p in plans if "WITH st AS MATERIALIZED" in p]
    return plan


def test_a_first_sync_on_statistics_that_count_no_rows_joins_in_linear_time(db):
    bulk(db, PURCHASES, SESSIONS_EACH)
    sessions = PURCHASES * SESSIONS_EACH
    # the template's tables were never analyzed: the planner counts no rows in them
    assert db.value("SELECT reltuples FROM pg_class WHERE oid = 'public.purchase_sessions'::regclass") < PURCHASES
    db.execute("SELECT session_sync_enqueue()")
    with db.connect() as conn:
        conn.execute("SET enable_nestloop = on")
        settings = "SELECT current_setting('enable_nestloop'), current_setting('jit'), current_setting('plan_cache_mode')"
        before = conn.execute(settings).fetchone()
        plans, [row] = explained_write(conn, "SELECT purchases_synced, sessions_created FROM sync_all_sessions()")
        assert conn.execute(settings).fetchone() == before  # the settings the write changed for itself are back
        conn.commit()
    assert row == (PURCHASES, sessions)
    removed = rows_removed_by_join_filters(the_write(plans))
    # A nested loop of the sessions against the purchases that can be synced would remove about
    # sessions x purchases / 2 rows (60,000 here); linear joins remove none of that order.
    assert removed < sessions, f"a join filter removed {removed} rows: a nested loop over the write's CTEs"
    # Before PostgreSQL 18, joins turned off add 1e10 to the cost, past jit_above_cost: where the
    # server has JIT (Debian's 15 in CI), compiling these plans took seconds
    assert not [p for p in plans if "JIT:" in p], "a plan of the write was compiled by JIT"
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


def test_a_bulk_insert_synced_in_its_own_transaction_joins_in_linear_time(db):
    purchases = 2000  # their notes pass 64 KB: the statement-level trigger syncs them, in the statement
    bulk(db, purchases)
    with db.connect() as conn:
        conn.execute("SET session_sync.strict = on")
        plans, _ = explained_write(
            conn,
            "WITH i AS (INSERT INTO purchase_sessions (purchase_id, booking_id, session_number, session_date,"
            " session_time) SELECT id, booking_id, 1, start_date, '16:00' FROM course_purchases RETURNING 1)"
            " SELECT count(*) FROM i")
        assert conn.execute("SELECT count(*) FROM tutoring_sessions").fetchone() == (purchases,)  # before COMMIT
        conn.commit()
    removed = rows_removed_by_join_filters(the_write(plans))
    # a nested loop of the sessions against the purchases to sync: about 2,000 x 1,000 rows
    assert removed < purchases, f"a join filter removed {removed} rows: a nested loop over the write's CTEs"
    assert not [p for p in plans if "JIT:" in p], "a plan of the write was compiled by JIT"


def test_a_small_write_after_a_large_one_keeps_its_generic_plan_with_nested_loops(db):
    """After six large writes in one session (past the five custom plans after which PostgreSQL
    makes a generic one), a one-purchase sync at COMMIT still reads by index, never a whole table."""
    bulk(db, PURCHASES, SESSIONS_EACH)
    db.execute("SELECT session_sync_enqueue()")
    with db.connect(autocommit=True) as conn:
        for _ in range(6):  # past the 5 custom plans after which a generic one is made and compared
            conn.execute("SELECT * FROM sync_all_sessions()")
            conn.execute("UPDATE purchase_sessions SET session_time = CASE session_time WHEN '16:00' THEN '17:00'"
                         " ELSE '16:00' END")
        conn.execute("SET session_sync.enabled = on")
        [pid] = db.one("SELECT id FROM course_purchases ORDER BY id LIMIT 1")
        plans, _ = explained_write(conn, f"UPDATE purchase_sessions SET session_time = '08:00'"
                                         f" WHERE purchase_id = '{pid}' RETURNING 1")
    write = the_write(plans)
    assert "Seq Scan on purchase_sessions" not in write, write
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE scheduled_time = '08:00'") == SESSIONS_EACH


def test_a_large_write_cut_off_by_statement_timeout_leaves_no_plan_without_nested_loops(db):
    """A large write cut off by statement_timeout (a platform trigger on tutoring_sessions sleeps
    here) in its sixth run leaves the session's planner settings as they were, and a one-purchase
    sync afterwards still reads by index."""
    bulk(db, PURCHASES, SESSIONS_EACH)
    db.execute("CREATE FUNCTION public.slow_audit() RETURNS trigger LANGUAGE plpgsql AS"
               " $$BEGIN IF current_setting('test.slow', true) = 'on' THEN PERFORM pg_sleep(5); END IF;"
               " RETURN NULL; END$$")
    db.execute("CREATE TRIGGER slow_audit AFTER UPDATE ON tutoring_sessions"
               " FOR EACH STATEMENT EXECUTE FUNCTION public.slow_audit()")
    db.execute("SELECT session_sync_enqueue()")
    with db.connect(autocommit=True) as conn:
        conn.execute("SELECT * FROM sync_all_sessions()")  # creates the sessions
        for run in range(6):
            # the sync off on db's connection: the change is queued, and the run below writes it
            db.execute("UPDATE purchase_sessions SET session_time = %s", f"1{run}:00")
            if run == 5:
                conn.execute("SET test.slow = on")
                conn.execute("SET statement_timeout = '1s'")
                with pytest.raises(psycopg.errors.QueryCanceled):
                    conn.execute("SELECT * FROM sync_all_sessions()")
                conn.execute("RESET statement_timeout")
                conn.execute("RESET test.slow")
            else:
                conn.execute("SELECT * FROM sync_all_sessions()")
        assert conn.execute("SELECT current_setting('enable_nestloop')").fetchone() == ("on",)
        [pid] = db.one("SELECT id FROM course_purchases ORDER BY id LIMIT 1")
        plans, _ = explained_write(conn, f"UPDATE purchase_sessions SET session_time = '08:00'"
                                         f" WHERE purchase_id = '{pid}' RETURNING 1")
    write = the_write(plans)
    assert "Seq Scan on purchase_sessions" not in write, write
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE scheduled_time = '08:00'") == SESSIONS_EACH


def test_a_large_write_with_statistics_joins_in_linear_time(db):
    """Before PostgreSQL 17 a CTE is estimated without its columns' statistics: the write's CTEs
    are looked up, never joined to one another, so statistics or not, no nested loop rescans one
    for every session."""
    bulk(db, PURCHASES, SESSIONS_EACH)
    db.execute("ANALYZE course_purchases, purchase_sessions, trainer_allocations, tutoring_sessions")
    db.execute("SELECT session_sync_enqueue()")
    with db.connect() as conn:
        plans, [row] = explained_write(conn, "SELECT purchases_synced, sessions_created FROM sync_all_sessions()")
        conn.commit()
    sessions = PURCHASES * SESSIONS_EACH
    assert row == (PURCHASES, sessions)
    removed = rows_removed_by_join_filters(the_write(plans))
    assert removed < sessions, f"a join filter removed {removed} rows: a nested loop over the write's CTEs"
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)


def test_a_session_of_one_purchase_commits_keeps_one_generic_plan(db):
    """PostgreSQL plans a routine's statement anew for every call while a plan for the call's own
    values (custom) looks cheaper than the plan kept for any (generic). The write's statement takes
    milliseconds to plan, which every COMMIT would then pay (on analyzed tables 1.0's flipped to
    custom plans: 4.3 ms an assignment instead of 2.0). Up to 64 purchases its batch is read
    through an InitPlan, estimated alike for any batch: past the first calls of a session the plan
    is the generic one, which names no purchase (auto_explain VERBOSE shows constants)."""
    bulk(db, 2500, 20)  # 20 sessions a purchase, as the platform books them
    db.execute("SELECT session_sync_enqueue()")
    db.execute("SELECT * FROM sync_all_sessions()")
    db.execute("ANALYZE")
    assign = ("WITH p AS (INSERT INTO course_purchases (id, booking_id, course_id, class_type, total_sessions,"
              " delivery_mode, start_date, preferred_time_slot, student_location, students, trainer_id, status)"
              " VALUES (%s, gen_random_uuid(), gen_random_uuid(), 'ONE_ON_ONE', 20, 'WEEKDAY_DAILY', '2026-01-05',"
              " '16:00', '{\"latitude\": 12.9, \"longitude\": 77.6}',"
              " jsonb_build_array(jsonb_build_object('id', gen_random_uuid())), gen_random_uuid(), 'ASSIGNED')"
              " RETURNING id, booking_id)"
              " INSERT INTO purchase_sessions (purchase_id, booking_id, session_number, session_date, session_time)"
              " SELECT p.id, p.booking_id, n, date '2026-01-05' + n, '16:00' FROM p, generate_series(1, 20) n"
              " RETURNING 1")
    with db.connect(autocommit=True) as conn:
        conn.execute("SET session_sync.enabled = on")
        for _ in range(8):  # past the five custom plans after which the generic one is compared
            conn.execute(assign, (uuid.uuid4(),))
        conn.execute("SET auto_explain.log_verbose = on")
        pid = uuid.uuid4()
        plans, _ = explained_write(conn, assign.replace("%s", f"'{pid}'"))
    write = the_write(plans)
    assert str(pid) not in write, "the write was planned for this purchase (a custom plan at every COMMIT)"
    assert db.value("SELECT count(*) FROM tutoring_sessions WHERE (metadata->>'purchaseId')::uuid = %s", pid) == 20


def test_no_routine_switches_a_planner_method_jit_or_the_plan_cache(db):
    """Linear time comes from the statements' shape: no routine of the package sets an enable_*
    planner method, jit or plan_cache_mode (in its body or its SET clauses) or discards plans."""
    routines = db.rows("""SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid) FROM pg_proc p
                          WHERE p.pronamespace = 'session_sync'::regnamespace
                             OR p.pronamespace = 'public'::regnamespace
                                AND (p.proname LIKE 'session\\_sync%%' OR p.proname LIKE 'sync\\_%%')""")
    assert len(routines) > 30
    switch = re.compile(r"\benable_\w+|\bjit\b|plan_cache_mode|\bdiscard\s+(plans|all)\b", re.IGNORECASE)
    assert [name for name, definition in routines if switch.search(definition)] == []
