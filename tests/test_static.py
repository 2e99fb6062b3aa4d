"""plpgsql_check over every PL/pgSQL function and procedure of the package: no error, no warning.

plpgsql_check is a server extension: CI installs it with Debian's PostgreSQL 15
(postgresql-15-plpgsql-check) and runs the suite there too; on a server without it this
test is skipped and says so.
"""

from __future__ import annotations

import pytest

# Trigger functions are checked against their table; statement-level ones with transition tables.
TRIGGER_TABLES = {
    "session_sync_course_purchases_trigger": ("course_purchases", True),
    "session_sync_purchase_sessions_trigger": ("purchase_sessions", True),
    "session_sync_allocations_trigger": ("trainer_allocations", True),
    "session_sync_tutoring_sessions_trigger": ("tutoring_sessions", False),
    "session_sync_commit_trigger": ("course_purchases", False),
    "session_sync_never_trigger": ("purchase_sessions", False),
    "session_sync_dropped_keys_trigger": ("purchase_sessions", False),
}


def test_plpgsql_check_reports_nothing(db):
    if not db.value("SELECT count(*) FROM pg_available_extensions WHERE name = 'plpgsql_check'"):
        pytest.skip("plpgsql_check is not installed on this server (CI runs it on Debian's PostgreSQL 15)")
    db.execute("CREATE EXTENSION plpgsql_check")
    routines = db.rows("""
        SELECT p.oid, p.proname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
        WHERE l.lanname = 'plpgsql' AND p.pronamespace IN ('public'::regnamespace, to_regnamespace('session_sync'))
          AND (p.proname LIKE 'session\\_sync%%' OR p.proname LIKE 'sync\\_%%')
        ORDER BY p.proname""")
    assert len(routines) >= 12
    findings = []
    for oid, name in routines:
        if name in TRIGGER_TABLES and TRIGGER_TABLES[name][1]:
            # Both events: the INSERT path reads new_rows only, the UPDATE path old_rows too.
            rows = db.rows("SELECT level, message, lineno FROM plpgsql_check_function_tb(%s, %s::regclass, "
                           "newtable => 'new_rows', oldtable => 'old_rows')", oid, TRIGGER_TABLES[name][0])
        elif name in TRIGGER_TABLES:
            rows = db.rows("SELECT level, message, lineno FROM plpgsql_check_function_tb(%s, %s::regclass)",
                           oid, TRIGGER_TABLES[name][0])
        else:
            rows = db.rows("SELECT level, message, lineno FROM plpgsql_check_function_tb(%s)", oid)
        findings += [(name, *row) for row in rows]
    assert findings == []
