"""What the Alembic revisions use to run SQL: a frozen script checked by its SHA256, and the one
lock helper every revision that touches the platform's tables calls first.

Keep this module backwards compatible: landed revisions call it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa
from alembic import op

# The lock helper's statement: each attempt takes every relation in its mode with NOWAIT inside a
# subtransaction, which gives back what it took when one is busy, so the migration never waits
# while holding a lock (a platform transaction that wrote one table and then wants another cannot
# deadlock with it). Attempts repeat every 100 ms, for at most 10 minutes or what the setting
# session_sync.lock_wait says (PGOPTIONS='-c session_sync.lock_wait=30s'); every 5 s a NOTICE
# says what it waits for and who holds it. Past the deadline it fails with SQLSTATE 55P03,
# naming the backends, and nothing was changed. Then lock_timeout is 500 ms: a lock nobody
# foresaw ends the migration (rolled back) instead of a wait.
_LOCK = r"""DO $lock$
DECLARE
    v_setting text := pg_catalog.current_setting('session_sync.lock_wait', true);
    v_wait interval := CASE WHEN v_setting IS NULL OR v_setting OPERATOR(pg_catalog.=) '' THEN '10 minutes'
                            ELSE v_setting END::interval;
    v_start timestamptz := pg_catalog.clock_timestamp();
    v_said timestamptz := pg_catalog.clock_timestamp();
    v_holders text;
BEGIN
    LOOP
        BEGIN
            %(statements)s
            PERFORM pg_catalog.set_config('lock_timeout', '500ms', true);
            RETURN;
        EXCEPTION
            WHEN lock_not_available THEN
                SELECT pg_catalog.string_agg(DISTINCT coalesce(l.pid::text, 'a prepared transaction'), ', ') INTO v_holders
                FROM pg_catalog.pg_locks l
                WHERE l.relation OPERATOR(pg_catalog.=) ANY (ARRAY[%(regclasses)s]::pg_catalog.oid[])
                  AND l.granted AND l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid();
                IF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>) (v_start OPERATOR(pg_catalog.+) v_wait) THEN
                    RAISE EXCEPTION USING
                        ERRCODE = '55P03',
                        MESSAGE = pg_catalog.format('session-sync migration: could not lock %(names)s within %%s; nothing was changed', v_wait),
                        DETAIL = 'Backends holding them: ' || coalesce(v_holders, 'none any more'),
                        HINT = 'A long transaction holds them: SELECT pid, xact_start, state, query FROM pg_stat_activity WHERE pid IN (...); end it, or run the migration again when it is done.';
                END IF;
                IF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>) (v_said OPERATOR(pg_catalog.+) interval '5 seconds') THEN
                    RAISE NOTICE 'session-sync migration: waiting to lock %(names)s (held by backends %%); nothing is locked meanwhile',
                        coalesce(v_holders, 'none any more');
                    v_said := pg_catalog.clock_timestamp();
                END IF;
                PERFORM pg_catalog.pg_sleep(0.1);
        END;
    END LOOP;
END
$lock$"""


def execute(sql: str) -> None:
    """Run ``sql`` verbatim (online or in ``--sql`` mode): no bind parameters. Its last ``;`` is
    left to Alembic, which ends each statement of a ``--sql`` script with one."""
    op.execute(sa.text(sql.rstrip().removesuffix(";").replace(":", r"\:")))


def lock(relations: dict[str, str]) -> None:
    """Take the locks of ``relations`` (each, schema-qualified, mapped to its lock mode: ``SHARE
    ROW EXCLUSIVE``, ``ACCESS EXCLUSIVE``, ...) all at once or none, as ``_LOCK`` says."""
    by_mode: dict[str, list[str]] = {}
    for name, mode in relations.items():
        by_mode.setdefault(mode, []).append(name)
    statements = "\n            ".join(f"LOCK TABLE {', '.join(names)} IN {mode} MODE NOWAIT;"
                                        for mode, names in by_mode.items())
    regclasses = ", ".join(f"'{name}'::pg_catalog.regclass" for name in relations)
    names = ", ".join(name.split(".")[-1] for name in relations)
    execute(_LOCK % {"statements": statements, "regclasses": regclasses, "names": names})


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_script(path: Path, sha256: str) -> None:
    """Execute a revision's frozen script, after checking its SHA256."""
    actual = digest(path)
    if actual != sha256:
        raise RuntimeError(
            f"{path.name} does not match its revision (sha256 {actual}, expected {sha256}): a landed "
            "revision never changes; restore the file with git and put the change in a new revision")
    execute(path.read_text())
