"""The `session-sync` command line: a thin wrapper over the package's SQL functions.

Exit codes: 0 all good, 1 some purchases failed, 2 usage or connection error (one line, no
traceback).

Every connection pins ``search_path`` to ``pg_catalog, pg_temp`` (session_sync.connection) and
every statement names the package's objects as ``public.<name>``: nothing the command line sends
resolves an operator, function or type through a schema a role may write.
"""

from __future__ import annotations

import argparse
import signal
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from rich.console import Console

from session_sync import demo, embedded, migrate
from session_sync.connection import UsageError, connect, resolve
from session_sync.output import as_dicts, console as make_console, fetch, print_json, print_table, table
from session_sync.urls import ConnectionStringError, libpq_conninfo

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with one line, as argparse does, but say where to look
        self.exit(EXIT_USAGE, f"session-sync: {message} (see session-sync --help)\n")


DATABASE_HELP = ("the database: a postgresql:// URL or libpq key=value pairs (default: $DATABASE_URL, else the "
                 "PG* variables as psql uses them when PGHOST, PGHOSTADDR, PGPORT, PGDATABASE, PGUSER or "
                 "PGSERVICE is set, else a local embedded PostgreSQL kept in your data directory)")


def global_options(in_subcommand: bool) -> argparse.ArgumentParser:
    """--database-url and --json, accepted before or after the subcommand.

    The subcommands' copies default to SUPPRESS so that an option given before the subcommand is
    not reset by the subcommand's parser.
    """
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("global options (before or after the command)")
    group.add_argument("--database-url", metavar="CONNINFO", help=DATABASE_HELP,
                       default=argparse.SUPPRESS if in_subcommand else None)
    group.add_argument("--json", action="store_true", help="print JSON instead of tables",
                       default=argparse.SUPPRESS if in_subcommand else False)
    return options


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def require_installed(conn: psycopg.Connection) -> None:
    installed = conn.execute("SELECT pg_catalog.to_regclass('public.session_sync_runs') IS NOT NULL AND EXISTS "
                             "(SELECT FROM pg_catalog.pg_proc WHERE proname = 'sync_all_sessions' "
                             "AND pronamespace = 'public'::pg_catalog.regnamespace)").fetchone()[0]
    if not installed:
        raise UsageError("session-sync is not installed in this database: run `session-sync migrate` first")


def parse_purchase_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a purchase id (a UUID)") from None


def render(out: Console, as_json: bool, names: list[str], rows: list[tuple], title: str) -> None:
    if as_json:
        print_json(as_dicts(names, rows))
    else:
        print_table(out, table(names, rows, title))


def plural(count: int, singular: str, plural_form: str) -> str:
    return f"{count} {singular if count == 1 else plural_form}"


def cmd_migrate(args: argparse.Namespace, out: Console) -> int:
    if args.sql:
        sys.stdout.write(migrate.upgrade_sql())
        return EXIT_OK
    url, source = resolve(args.database_url)
    connect(url).close()
    migrate.upgrade(url)
    out.print(f"session-sync is at {migrate.current(url)} in the database from {source}")
    return EXIT_OK


def cmd_sync(args: argparse.Namespace, out: Console) -> int:
    url, _ = resolve(args.database_url)
    with connect(url) as conn:
        require_installed(conn)
        if args.purchase_id:
            if args.full:
                raise UsageError("--full syncs every purchase; leave out the purchase id")
            return sync_one(conn, out, args, parse_purchase_id(args.purchase_id))
        if args.full:
            queued = conn.execute("SELECT public.session_sync_enqueue()").fetchone()[0]
            print(f"queued {plural(queued, 'eligible purchase', 'eligible purchases')} for examination",
                  file=sys.stderr)
        if args.dry_run:
            names, rows = fetch(conn, "SELECT * FROM public.sync_all_sessions(p_dry_run => true, p_source => 'cli')")
            render(out, args.json, names, rows, "Dry run: what sync would do (nothing written)")
            failed = rows[0][names.index("purchases_failed")]
            if failed:
                print(f"session-sync: {plural(failed, 'purchase', 'purchases')} would fail; `session-sync pending` "
                      "shows each one's reason", file=sys.stderr)
            return EXIT_FAILED if failed else EXIT_OK
        progress = make_console(stderr=True)
        conn.add_notice_handler(lambda diag: progress.print(diag.message_primary))
        run_id = call_interruptibly(conn, "CALL public.sync_all_sessions_batched(p_batch_size => %s::pg_catalog.int4)",
                                    (args.batch_size,))
        names, rows = fetch(conn, "SELECT run_id, purchases_examined, purchases_synced, purchases_in_sync, "
                                  "purchases_failed, purchases_deferred, sessions_created, sessions_updated "
                                  "FROM public.session_sync_runs WHERE run_id = %s", (run_id,))
        render(out, args.json, names, rows, "Sync run")
        failed = rows[0][names.index("purchases_failed")]
        if failed:
            print(f"session-sync: {plural(failed, 'purchase', 'purchases')} could not be synced: "
                  "`session-sync failures` lists why, `session-sync diagnose PURCHASE_ID` explains one",
                  file=sys.stderr)
        return EXIT_FAILED if failed else EXIT_OK


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


def sync_one(conn: psycopg.Connection, out: Console, args: argparse.Namespace, purchase_id: uuid.UUID) -> int:
    try:
        with conn.transaction():
            names, rows = fetch(conn, "SELECT * FROM public.sync_purchase_sessions(%s)", (purchase_id,))
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
            out.print(f"[red]{diag.message_primary}[/red]")
            if diag.message_hint:
                out.print(f"hint: {diag.message_hint}")
        return EXIT_FAILED
    render(out, args.json, names, rows, "Dry run (rolled back)" if args.dry_run else "Synced")
    return EXIT_OK


class _Rollback(Exception):
    """Raised inside a transaction to roll a dry run back."""


def view_command(query: str, title: str, failed: Callable[[dict[str, Any] | None, int], bool]):
    """A command that prints one of the package's views; ``failed(first row, row count)`` gives exit 1."""

    def run(args: argparse.Namespace, out: Console) -> int:
        url, _ = resolve(args.database_url)
        with connect(url) as conn:
            require_installed(conn)
            names, rows = fetch(conn, query)
        render(out, args.json, names, rows, title)
        return EXIT_FAILED if failed(dict(zip(names, rows[0])) if rows else None, len(rows)) else EXIT_OK

    return run


def cmd_diagnose(args: argparse.Namespace, out: Console) -> int:
    purchase_id = parse_purchase_id(args.purchase_id)
    url, _ = resolve(args.database_url)
    with connect(url) as conn:
        require_installed(conn)
        names, rows = fetch(conn, "SELECT * FROM public.session_sync_diagnose(%s)", (purchase_id,))
    render(out, args.json, names, rows, f"Diagnosis of purchase {purchase_id}")
    return EXIT_OK if all(row[names.index("ok")] for row in rows) else EXIT_FAILED


def cmd_demo(args: argparse.Namespace, out: Console) -> int:
    url = None
    if args.database_url:
        try:
            url = libpq_conninfo(args.database_url)
        except ConnectionStringError as error:
            raise UsageError(str(error)) from None
    return demo.run(out, url, args.purchases)


def cmd_server(args: argparse.Namespace, out: Console) -> int:
    """The local embedded PostgreSQL the command line uses when no database is configured."""
    if args.database_url:
        raise UsageError("`session-sync server` manages the local embedded PostgreSQL; --database-url does not apply")
    if args.action == "url":
        started = embedded.start_persistent()
        if started.started_now:
            print(f"session-sync: started the local PostgreSQL (data in {started.data_dir}); "
                  "`session-sync server stop` stops it", file=sys.stderr)
        print(started.url)
        return EXIT_OK
    if args.action == "stop":
        data_dir = embedded.default_data_dir()
        if embedded.stop(data_dir):
            out.print(f"stopped the local PostgreSQL; its data stays in {data_dir}")
        else:
            out.print(f"the local PostgreSQL is not running (data directory {data_dir})")
        return EXIT_OK
    state = embedded.status()
    if args.json:
        print_json({"data_directory": str(state.data_dir), "initialised": state.initialised,
                    "running": state.running, "pid": state.pid, "url": state.url})
    elif state.running:
        out.print(f"running (pid {state.pid}); data in {state.data_dir}\nurl: {state.url}\n"
                  "stop it with `session-sync server stop`")
    elif state.initialised:
        out.print(f"not running; data in {state.data_dir} (any session-sync command without a database "
                  "starts it again)")
    else:
        out.print(f"not created yet (it would live in {state.data_dir})")
    return EXIT_OK if state.running else EXIT_FAILED


@dataclass(frozen=True)
class Command:
    run: Callable[[argparse.Namespace, Console], int]
    summary: str  # its line in `session-sync --help`
    description: str  # the first paragraph of `session-sync COMMAND --help`
    arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None


def _migrate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sql", action="store_true", help="print the SQL script instead of running it")


def _sync_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("purchase_id", nargs="?", help="a course_purchases id (default: all)")
    parser.add_argument("--dry-run", action="store_true", help="report what would be done; write nothing")
    parser.add_argument("--batch-size", type=positive_int, default=1000,
                        help="purchases per committed batch (default 1000)")
    parser.add_argument("--full", action="store_true",
                        help="queue every eligible purchase first (session_sync_enqueue()), so the run examines "
                             "all of them, not only those writes have queued")


def _purchase_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("purchase_id", help="a course_purchases id")


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--purchases", type=positive_int, default=120,
                        help="how many purchases to generate, 1 or more (default 120)")


def _server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["status", "stop", "url"],
                        help="status: running or not, where its data lives (exit 1 when not running); "
                             "stop: stop it (its data stays); url: print its connection URL, starting it if needed")


# The one table of the command line: each command's handler, help and arguments.
COMMANDS: dict[str, Command] = {
    "migrate": Command(cmd_migrate, "install or upgrade session-sync in the database (alembic upgrade head)",
                       "Install or upgrade session-sync in the database: runs the package's Alembic migrations "
                       "to head (alembic upgrade head). With --sql, prints the SQL script instead.",
                       _migrate_arguments),
    "sync": Command(cmd_sync, "sync one purchase, or every purchase that needs it (in committed batches)",
                    "Sync purchase_sessions into tutoring_sessions: every queued purchase, in committed batches "
                    "(CALL sync_all_sessions_batched), or one purchase, all or nothing (sync_purchase_sessions). "
                    "Exit 1 when a purchase could not be synced.",
                    _sync_arguments),
    "pending": Command(view_command("SELECT * FROM public.session_sync_pending ORDER BY purchase_id",
                                    "Purchases that need syncing", lambda first, count: False),
                       "purchases with missing or drifted sessions (view session_sync_pending)",
                       "List the eligible purchases whose tutoring sessions are missing, drifted or in conflict, "
                       "with the reason each would fail (view session_sync_pending)."),
    "verify": Command(view_command("SELECT * FROM public.session_sync_verify", "Verification counts",
                                   lambda first, count: bool(first and (first["missing"] or first["drifted"]
                                                                        or first["conflicts"]))),
                      "the guide's verification counts (view session_sync_verify)",
                      "Count purchase sessions and tutoring sessions, and what is missing, drifted, in conflict, "
                      "protected or orphaned (view session_sync_verify). Exit 1 when something is missing, "
                      "drifted or in conflict."),
    "diagnose": Command(cmd_diagnose, "troubleshoot one purchase (session_sync_diagnose)",
                        "Run every check on one purchase: trainer, status, student, coordinates, allocation, "
                        "sessions, last failure (session_sync_diagnose). Changes nothing. Exit 1 when a check "
                        "fails.",
                        _purchase_argument),
    "health": Command(view_command("SELECT * FROM public.session_sync_status", "Health (session_sync_status)",
                                   lambda first, count: bool(first and (first["failing_purchases"]
                                                                        or first["last_run_outcome"] == "interrupted"))),
                      "one row for monitoring: queue depth and age, failing purchases, last run (session_sync_status)",
                      "Show the package's health in one row (view session_sync_status): purchases queued and the age "
                      "of the oldest, queued purchases with a recorded failure, the last run and its outcome, "
                      "whether a backfill runs. Exit 1 when a queued purchase is failing or the last run was "
                      "interrupted: usable as a cron check."),
    "failures": Command(view_command("SELECT purchase_id, reason, message, hint, source, failed_at, occurrences "
                                     "FROM public.session_sync_open_failures ORDER BY failed_at DESC",
                                     "Open failures (latest per purchase still not in sync)",
                                     lambda first, count: count > 0),
                        "latest failure of each purchase still not in sync (session_sync_open_failures)",
                        "List the latest failure of each purchase that is still not in sync, with its reason and "
                        "hint (view session_sync_open_failures). Exit 1 when there is one."),
    "demo": Command(cmd_demo, "show the guide's problem and its fix on a throwaway embedded PostgreSQL",
                    "Show the guide's problem and its fix: load a realistic data set into a throwaway embedded "
                    "PostgreSQL (or an empty database given with --database-url), then sync it.",
                    _demo_arguments),
    "server": Command(cmd_server, "the local embedded PostgreSQL: status, stop, url",
                      "Manage the local embedded PostgreSQL that session-sync starts, and leaves running, when no "
                      "database is configured (no --database-url, DATABASE_URL or PG* variable). Its data lives "
                      "in your user data directory.",
                      _server_arguments),
}


def build_parser() -> Parser:
    parser = Parser(prog="session-sync", description="Sync purchase_sessions into tutoring_sessions, in PostgreSQL.",
                    parents=[global_options(in_subcommand=False)])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for name, command in COMMANDS.items():
        command.arguments(sub.add_parser(name, help=command.summary, description=command.description,
                                         parents=[global_options(in_subcommand=True)]))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = make_console()
    try:
        return COMMANDS[args.command].run(args, out)
    except UsageError as error:
        print(f"session-sync: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ConnectionStringError as error:
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
