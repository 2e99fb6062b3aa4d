"""The `session-sync` command line: a thin wrapper over the package's SQL functions.

Exit codes: 0 all good, 1 some purchases failed, 2 usage or connection error (one line, no
traceback).
"""

from __future__ import annotations

import argparse
import signal
import sys
import uuid
from typing import Any

import psycopg
from rich.console import Console

from session_sync import demo, migrate
from session_sync.connection import UsageError, connect, resolve
from session_sync.output import as_dicts, fetch, print_json, table

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with one line, as argparse does, but say where to look
        self.exit(EXIT_USAGE, f"session-sync: {message} (see session-sync --help)\n")


def build_parser() -> Parser:
    parser = Parser(prog="session-sync", description="Sync purchase_sessions into tutoring_sessions, in PostgreSQL.")
    parser.add_argument("--database-url", help="postgresql:// URL (default: $DATABASE_URL, else a local embedded "
                                               "PostgreSQL kept in your data directory)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("migrate", help="install or upgrade session-sync in the database (alembic upgrade head)")
    p.add_argument("--sql", action="store_true", help="print the SQL script instead of running it")

    p = sub.add_parser("sync", help="sync one purchase, or every purchase that needs it (in committed batches)")
    p.add_argument("purchase_id", nargs="?", help="a course_purchases id (default: all)")
    p.add_argument("--dry-run", action="store_true", help="report what would be done; write nothing")
    p.add_argument("--batch-size", type=int, default=1000, help="purchases per committed batch (default 1000)")
    p.add_argument("--full", action="store_true",
                   help="queue every eligible purchase first (session_sync_enqueue()), so the run examines all "
                        "of them, not only those writes have queued")

    sub.add_parser("pending", help="purchases with missing or drifted sessions (view session_sync_pending)")
    sub.add_parser("verify", help="the guide's verification counts (view session_sync_verify)")
    p = sub.add_parser("diagnose", help="troubleshoot one purchase (session_sync_diagnose)")
    p.add_argument("purchase_id", help="a course_purchases id")
    sub.add_parser("failures", help="latest failure of each purchase still not in sync (session_sync_open_failures)")

    p = sub.add_parser("demo", help="show the guide's problem and its fix on a throwaway embedded PostgreSQL")
    p.add_argument("--purchases", type=int, default=120, help="how many purchases to generate (default 120)")
    return parser


def render(console: Console, as_json: bool, names: list[str], rows: list[tuple], title: str) -> None:
    if as_json:
        print_json(as_dicts(names, rows))
    else:
        console.print(table(names, rows, title))


def cmd_migrate(args: argparse.Namespace, console: Console) -> int:
    if args.sql:
        sys.stdout.write(migrate.upgrade_sql())
        return EXIT_OK
    url, source = resolve(args.database_url)
    connect(url).close()
    migrate.upgrade(url)
    console.print(f"session-sync is at {migrate.current(url)} in the database from {source}")
    return EXIT_OK


def require_installed(conn: psycopg.Connection) -> None:
    if conn.execute("SELECT to_regprocedure('public.sync_all_sessions(boolean, text)')").fetchone()[0] is None:
        raise UsageError("session-sync is not installed in this database: run `session-sync migrate` first")


def parse_purchase_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a purchase id (a UUID)") from None


def cmd_sync(args: argparse.Namespace, console: Console) -> int:
    url, _ = resolve(args.database_url)
    with connect(url) as conn:
        require_installed(conn)
        if args.purchase_id:
            if args.full:
                raise UsageError("--full syncs every purchase; leave out the purchase id")
            return sync_one(conn, console, args, parse_purchase_id(args.purchase_id))
        if args.full:
            queued = conn.execute("SELECT session_sync_enqueue()").fetchone()[0]
            Console(stderr=True, highlight=False).print(f"queued {queued} eligible purchases for examination")
        if args.dry_run:
            names, rows = fetch(conn, "SELECT * FROM sync_all_sessions(p_dry_run => true, p_source => 'cli')")
            render(console, args.json, names, rows, "Dry run: what sync would do (nothing written)")
            return EXIT_FAILED if rows[0][names.index("purchases_failed")] else EXIT_OK
        if args.batch_size < 1:
            raise UsageError("--batch-size must be 1 or more")
        progress = Console(stderr=True, highlight=False)
        conn.add_notice_handler(lambda diag: progress.print(diag.message_primary))
        run_id = call_interruptibly(conn, "CALL sync_all_sessions_batched(p_batch_size => %s)", (args.batch_size,))
        names, rows = fetch(conn, "SELECT run_id, purchases_synced, purchases_failed, sessions_created, "
                                  "sessions_updated FROM session_sync_runs WHERE run_id = %s", (run_id,))
        render(console, args.json, names, rows, "Sync run")
        return EXIT_FAILED if rows[0][names.index("purchases_failed")] else EXIT_OK


def call_interruptibly(conn: psycopg.Connection, statement: str, params: tuple) -> Any:
    """Run ``statement`` and return its first value; Ctrl-C cancels it on the server.

    A SIGINT that lands while psycopg runs a notice handler (the progress lines) would be
    swallowed there and the sync would go on; so Ctrl-C sends a cancel request instead, and the
    cancelled statement becomes KeyboardInterrupt.
    """
    interrupted = False

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal interrupted
        interrupted = True
        conn.cancel_safe()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        value = conn.execute(statement, params).fetchone()[0]
    except psycopg.errors.QueryCanceled:
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt
    return value


def cmd_view(args: argparse.Namespace, console: Console) -> int:
    queries = {
        "pending": ("SELECT * FROM session_sync_pending ORDER BY purchase_id", "Purchases that need syncing"),
        "verify": ("SELECT * FROM session_sync_verify", "Verification counts"),
        "failures": ("SELECT purchase_id, reason, message, hint, source, failed_at FROM session_sync_open_failures"
                     " ORDER BY failed_at DESC", "Open failures (latest per purchase still not in sync)"),
    }
    query, title = queries[args.command]
    url, _ = resolve(args.database_url)
    with connect(url) as conn:
        require_installed(conn)
        names, rows = fetch(conn, query)
    render(console, args.json, names, rows, title)
    if args.command == "verify":
        counts = dict(zip(names, rows[0]))
        return EXIT_FAILED if counts["missing"] or counts["drifted"] or counts["conflicts"] else EXIT_OK
    if args.command == "failures":
        return EXIT_FAILED if rows else EXIT_OK
    return EXIT_OK


def cmd_diagnose(args: argparse.Namespace, console: Console) -> int:
    purchase_id = parse_purchase_id(args.purchase_id)
    url, _ = resolve(args.database_url)
    with connect(url) as conn:
        require_installed(conn)
        names, rows = fetch(conn, "SELECT * FROM session_sync_diagnose(%s)", (purchase_id,))
    render(console, args.json, names, rows, f"Diagnosis of purchase {purchase_id}")
    return EXIT_OK if all(row[names.index("ok")] for row in rows) else EXIT_FAILED


def sync_one(conn: psycopg.Connection, console: Console, args: argparse.Namespace, purchase_id: uuid.UUID) -> int:
    try:
        with conn.transaction():
            names, rows = fetch(conn, "SELECT * FROM sync_purchase_sessions(%s)", (purchase_id,))
            if args.dry_run:
                raise _Rollback
    except _Rollback:
        pass
    except psycopg.Error as error:
        diag = error.diag
        if args.json:
            print_json({"purchase_id": str(purchase_id), "error": diag.message_primary, "sqlstate": error.sqlstate,
                        "hint": diag.message_hint})
        else:
            console.print(f"[red]{diag.message_primary}[/red]")
            if diag.message_hint:
                console.print(f"hint: {diag.message_hint}")
        return EXIT_FAILED
    render(console, args.json, names, rows, "Dry run (rolled back)" if args.dry_run else "Synced")
    return EXIT_OK


class _Rollback(Exception):
    """Raised inside a transaction to roll a dry run back."""


COMMANDS: dict[str, Any] = {
    "migrate": cmd_migrate, "sync": cmd_sync, "pending": cmd_view, "verify": cmd_view, "failures": cmd_view,
    "diagnose": cmd_diagnose,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(stderr=False, highlight=False)
    try:
        if args.command == "demo":
            return demo.run(console, args.database_url, args.purchases)
        return COMMANDS[args.command](args, console)
    except UsageError as error:
        print(f"session-sync: {error}", file=sys.stderr)
        return EXIT_USAGE
    except psycopg.OperationalError as error:
        print(f"session-sync: database connection failed: {str(error).strip().splitlines()[0]}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("session-sync: interrupted; the batch in progress was rolled back, committed batches are kept "
              "(run the same command again to finish)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
