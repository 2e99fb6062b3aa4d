"""Nothing a member of session_sync_runner may read or call shows a student's contact details or
home location.

The runner is what operators give their monitoring. The test enumerates, as a role that is only
a member of session_sync_runner, every relation it may SELECT (in every schema but pg_catalog and
information_schema) and every function and procedure of the package it may EXECUTE, reads them
all (calling each with every purchase's id), and looks for the students' names, e-mails, phones,
addresses and for coordinates finer than two decimals (about 1 km). Not a fixed list: a view or
function granted to the runner later is scanned too.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from factories import purchase, sessions

CONTACT = {"name": "Zelda Quixote-Runner", "email": "zelda.q@mailbox.example", "phone": "+91 98765 43210",
           "address": "42 Secret Garden Lane"}
HOME = {"latitude": 12.971599, "longitude": 77.594566, "address": CONTACT["address"]}
# Any decimal number with three or more decimals that is not the fraction of a time of day.
FINE_NUMBER = re.compile(r"(?<![\d:.])\d{1,3}\.\d{3,}")


@pytest.fixture
def runner(db) -> Iterator[str]:
    name = f"runner_{uuid.uuid4().hex[:10]}"
    db.execute(f"CREATE ROLE {name} NOLOGIN IN ROLE session_sync_runner")
    db.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
    yield name
    db.execute(f"REVOKE USAGE ON SCHEMA public FROM {name}")
    db.execute(f"DROP ROLE {name}")


def purchases(db) -> list[uuid.UUID]:
    """Synced purchases and failing ones, all with contact details and exact coordinates."""
    person = {"name": CONTACT["name"], "email": CONTACT["email"], "phone": CONTACT["phone"]}
    student = lambda: [{**person, "id": str(uuid.uuid4())}]  # noqa: E731
    ids = [
        purchase(db, students=student(), student_location=HOME),
        purchase(db, students=student(), student_location={**HOME, "latitude": "13.082680", "longitude": "80.270718"}),
        purchase(db, students=student(), student_location={**HOME, "longitude": None}),  # latitude alone
        purchase(db, students=student(), student_location={"latitude": 100.270718, "longitude": 13.082680,
                                                            "address": CONTACT["address"]}),  # swapped
        purchase(db, students=[person], student_location=HOME),
        purchase(db, students=[{**person, "id": "1234-abcd"}]),
        purchase(db, students=[{**person, "id": CONTACT["email"]}]),
        purchase(db, students=[{"id": person}]),
        purchase(db, students=person),
        purchase(db, student_location={"address": CONTACT["address"]}),
        purchase(db, student_location={"latitude": "91", "longitude": 7, "address": CONTACT["address"]},
                 students=student()),
        purchase(db, student_location={"latitude": CONTACT["phone"], "longitude": 7}),
        purchase(db, student_location={"latitude": "+919876543210", "longitude": 7}),
        purchase(db, student_location={"latitude": 919876543210, "longitude": 7}),
        purchase(db, students=[{"id": "98765-43210"}]),
        purchase(db, students=[{"id": "Deb-Bede"}]),
        purchase(db, trainer_id=None, status="WAITLISTED", students=student(), student_location=HOME),
    ]
    for pid in ids:
        sessions(db, pid, 2, metadata={"note": CONTACT["phone"]})
    db.rows("SELECT * FROM sync_all_sessions()")
    with db.connect(autocommit=True) as platform:  # the trigger path records failures too
        platform.execute("UPDATE purchase_sessions SET session_time = '09:00' WHERE purchase_id = ANY(%s)", (ids,))
        platform.execute("UPDATE tutoring_sessions SET scheduled_time = '10:00'")  # queued, to be seen
    return ids


def readable(conn: psycopg.Connection) -> list[str]:
    """SELECT lists of every relation the current role may read, whole or by column."""
    found = conn.execute("""
        SELECT c.oid::regclass::text,
               CASE WHEN has_table_privilege(c.oid, 'SELECT') THEN '*'
                    ELSE (SELECT string_agg(quote_ident(a.attname), ', ') FROM pg_attribute a
                          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                            AND has_column_privilege(c.oid, a.attnum, 'SELECT')) END
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%%'
          AND has_schema_privilege(n.oid, 'USAGE')
          AND has_any_column_privilege(c.oid, 'SELECT')
        ORDER BY 1""").fetchall()
    return [f"SELECT {columns} FROM {relation}" for relation, columns in found]


def callable_(conn: psycopg.Connection) -> list[tuple[str, str, str, bool, bool]]:
    """(name, kind, argument types, security definer, all arguments defaulted) of every function
    and procedure of the package the current role may execute."""
    return conn.execute("""
        SELECT p.oid::regproc::text, p.prokind, oidvectortypes(p.proargtypes), p.prosecdef,
               p.pronargdefaults = p.pronargs
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE (n.nspname = 'session_sync'
               OR n.nspname = 'public' AND (p.proname LIKE 'session\\_sync%%' OR p.proname LIKE 'sync\\_%%'))
          AND p.prorettype <> 'trigger'::regtype
          AND has_function_privilege(p.oid, 'EXECUTE')
        ORDER BY 1, 3""").fetchall()


ARGUMENT = {"uuid[]": "%(ids)s::uuid[]", "boolean": "true", "integer": "NULL", "bigint": "NULL", "text": "NULL",
            "jsonb": "NULL"}


def calls(name: str, kind: str, types: str, defaulted: bool) -> list[str]:
    """Statements calling a routine: with each purchase id where it takes a uuid, else once."""
    verb = "CALL" if kind == "p" else "SELECT * FROM"
    statements = [f"{verb} {name}()"] if defaulted else []
    if types:
        args = [a.strip() for a in types.split(",")]
        assert all(a == "uuid" or a in ARGUMENT for a in args), f"no argument for {name}({types})"
        statements.append(f"{verb} {name}({', '.join('%(id)s' if a == 'uuid' else ARGUMENT[a] for a in args)})")
    return statements


def test_nothing_the_runner_may_read_or_call_shows_contact_details_or_exact_coordinates(db, runner):
    ids = purchases(db)
    seen: list[str] = []
    with db.connect(autocommit=True) as conn:
        conn.execute(f"SET ROLE {runner}")
        conn.add_notice_handler(lambda d: seen.extend([str(d.message_primary), str(d.message_detail),
                                                       str(d.message_hint)]))
        queries = readable(conn)
        routines = callable_(conn)
        assert "SELECT * FROM session_sync_failures" in queries  # the scan reads what the runner reads
        assert not any("course_purchases" in q for q in queries)
        assert {r[0] for r in routines} >= {"sync_all_sessions", "sync_purchase_sessions", "session_sync_diagnose"}
        statements = [s for r in routines for s in calls(r[0], r[1], r[2], r[4])]
        for statement in queries + statements:
            for pid in ids if "%(id)s" in statement else [None]:
                try:
                    cur = conn.execute(statement, {"id": pid, "ids": ids} if "%(" in statement else None)
                    if cur.description:
                        seen += [json.dumps(row, default=str) for row in cur.fetchall()]
                except psycopg.Error as error:
                    diag = error.diag
                    seen += [str(diag.message_primary), str(diag.message_detail), str(diag.message_hint)]
    text = "\n".join(seen)
    # The messages still name what is wrong, by shape or by a rounded value ...
    assert "a JSON string of 23 characters" in text and "a JSON object" in text
    assert "a JSON number out of range" in text and '"91"' in text
    assert "usable" in text
    # ... and never the student's details, nor a location finer than about 1 km.
    for value in [*CONTACT.values(), "1234-abcd", "98765-43210", "Deb-Bede", "9876543210",
                  "12.971", "77.594", "77.595", "13.082", "13.083", "80.270", "80.271", "100.270", "100.271"]:
        assert value not in text, value
    assert FINE_NUMBER.findall(text) == []
