"""A write the platform rejects is recorded, not deferred: SESSION_WRITE_FAILED (SS009).

The platform's own trigger rejecting the sync's insert is a genuine failure of that purchase
(the platform's message kept), whichever path met it: a run (recorded, the other purchases
synced), sync_purchase_sessions() (raised at once, no retries), the sync at COMMIT (recorded, the
platform's transaction commits). It is told apart from a concurrent insert of the same session,
which is deferred: the sync inserts with ON CONFLICT DO NOTHING and checks the count (SS010), so a
unique violation on a same-named table's key (``archive.tutoring_sessions_pkey``) is not taken for
one.
"""

from __future__ import annotations

import time

import psycopg
import pytest

from factories import purchase, sessions


def _archive_trigger(db) -> None:
    """A platform's audit trail: every inserted tutoring session is copied to
    archive.tutoring_sessions (keyed by id, default constraint name tutoring_sessions_pkey, the
    same name as public.tutoring_sessions' primary key). A session deleted and created again is
    rejected by the platform's trigger: a genuine platform rejection, not a concurrent insert."""
    db.execute("CREATE SCHEMA archive")
    db.execute("CREATE TABLE archive.tutoring_sessions (id uuid PRIMARY KEY, archived_at timestamptz DEFAULT now())")
    db.execute("""CREATE FUNCTION public.archive_session() RETURNS trigger LANGUAGE plpgsql AS $$
                  BEGIN INSERT INTO archive.tutoring_sessions (id) VALUES (NEW.id); RETURN NULL; END $$""")
    db.execute("CREATE TRIGGER archive_session AFTER INSERT ON public.tutoring_sessions"
               " FOR EACH ROW EXECUTE FUNCTION public.archive_session()")


def test_a_run_records_a_platform_triggers_rejection_on_a_same_named_tables_key(db):
    bad, good = purchase(db), purchase(db)
    bad_ids = sessions(db, bad, 2)
    sessions(db, good, 2)
    _archive_trigger(db)
    db.execute("SELECT * FROM sync_purchase_sessions(%s)", bad)  # archived once
    db.execute("DELETE FROM tutoring_sessions WHERE id = %s", bad_ids[0])  # an app deletes it
    db.execute("SELECT session_sync_enqueue()")
    outcome = db.dict("SELECT * FROM sync_all_sessions()")
    # the platform's trigger rejected the write: SESSION_WRITE_FAILED for `bad` only, with the
    # platform's message; `good` synced
    assert outcome["purchases_synced"] == 1
    assert (outcome["purchases_failed"], outcome["purchases_deferred"]) == (1, 0), outcome
    reason, message = db.one("SELECT reason, message FROM session_sync_failures WHERE purchase_id = %s", bad)
    assert reason == "SESSION_WRITE_FAILED"
    assert "tutoring_sessions_pkey" in message


def test_sync_purchase_sessions_raises_session_write_failed_at_once(db):
    pid = purchase(db)
    ids = sessions(db, pid, 2)
    _archive_trigger(db)
    db.execute("SELECT * FROM sync_purchase_sessions(%s)", pid)
    db.execute("DELETE FROM tutoring_sessions WHERE id = %s", ids[0])
    started = time.monotonic()
    with pytest.raises(psycopg.Error) as caught:
        db.execute("SELECT * FROM sync_purchase_sessions(%s)", pid)
    elapsed = time.monotonic() - started
    # SS009 SESSION_WRITE_FAILED, not tries followed by 55P03 "another transaction is changing
    # one of its tutoring sessions right now"
    assert caught.value.sqlstate == "SS009", (caught.value.sqlstate, str(caught.value), elapsed)


def test_the_sync_at_commit_records_a_platform_triggers_rejection(db):
    pid = purchase(db)
    ids = sessions(db, pid, 2)
    _archive_trigger(db)
    db.execute("SELECT * FROM sync_purchase_sessions(%s)", pid)
    db.execute("DELETE FROM tutoring_sessions WHERE id = %s", ids[0])
    with db.connect() as app:  # triggers on: the sync runs at its COMMIT
        app.execute("UPDATE purchase_sessions SET session_time = '17:00' WHERE id = %s", (ids[1],))
        app.commit()
    assert db.rows("SELECT reason FROM session_sync_failures WHERE purchase_id = %s", pid) == [
        ("SESSION_WRITE_FAILED",)]


def test_a_session_inserted_first_by_a_transaction_the_run_cannot_see_defers_its_purchase(db):
    """A REPEATABLE READ run meets a tutoring session inserted, with the same id, by a transaction
    that committed after the run's snapshot: its insert cannot skip the row it does not see (ON
    CONFLICT raises 40001), the purchase is deferred (queued, no failure recorded), and the next
    run finds it in sync."""
    pid = purchase(db)
    ids = sessions(db, pid, 2)
    db.execute("SELECT * FROM sync_purchase_sessions(%s)", pid)
    db.execute("DELETE FROM tutoring_sessions WHERE id = %s", ids[0])  # an app deletes it: queued
    with db.connect() as run:
        run.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        run.execute("SELECT 1")  # the run's snapshot: the session missing
        db.execute("SELECT * FROM sync_purchase_sessions(%s)", pid)  # written again, committed
        outcome = run.execute("SELECT purchases_synced, purchases_failed, purchases_deferred"
                              " FROM sync_all_sessions()").fetchone()
        run.commit()
    assert outcome == (0, 0, 1)
    assert db.value("SELECT count(*) FROM session_sync_failures WHERE purchase_id = %s", pid) == 0
    assert db.value("SELECT count(*) FROM session_sync_changes WHERE purchase_id = %s", pid) >= 1
    db.execute("SELECT * FROM sync_all_sessions()")
    assert db.one("SELECT missing, drifted FROM session_sync_verify") == (0, 0)
