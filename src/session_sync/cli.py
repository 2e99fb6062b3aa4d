"""The `session-sync` command line: a thin wrapper over the package's SQL functions.

Exit codes: 0 all good, 1 some purchases failed, 2 usage, connection or migration error (the
server's message and hint, no traceback). Every statement names the package's objects as
``public.<name>``, on connections whose search_path is ``pg_catalog, pg_temp`` (session_sync.urls).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import psycopg
import sqlalchemy.exc
from alembic.util import CommandError
from rich.console import Console

from session_sync import demo, embedded, migrate
from session_sync.connection import NoDatabase, UsageError, connect, resolve
from session_sync.output import console as make_console, fetch, print_json, print_table, table
from session_sync.urls import ConnectionStringError, describe, libpq_conninfo

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with one line, as argparse does, but say where to look
        self.exit(EXIT_USAGE, f"session-sync: {message} (see session-sync --help)\n")


DATABASE_HELP = ("the database: a postgresql:// URL or libpq key=value pairs (default: $DATABASE_URL, else the "
                 "PG* variables as psql uses them when PGHOST, PGHOSTADDR, PGPORT, PGDATABASE, PGUSER or "
                 "PGSERVICE is set, else, on a terminal only, a local embedded PostgreSQL kept in your data "
                 "directory)")


def database(args: argparse.Namespace) -> tuple[str, str]:
    """(conninfo, its source) of a command that reads or writes the platform's data: the local embedded
    PostgreSQL stands in only for a person at a terminal (stdin and stdout ttys: not cron, a pipe, $(...))."""
    return resolve(args.database_url, embedded_ok=sys.stdin.isatty() and sys.stdout.isatty())


def global_options(in_subcommand: bool) -> argparse.ArgumentParser:
    """--database-url and --json; the subcommands' copies default to SUPPRESS, so as not to reset
    an option given before the subcommand."""
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
        print_json([dict(zip(names, row)) for row in rows])
    else:
        print_table(out, table(names, rows, title))


def plural(count: int, singular: str, plural_form: str) -> str:
    return f"{count} {singular if count == 1 else plural_form}"


def configured_revision(args: argparse.Namespace, otherwise: str | None) -> str | None:
    """The revision of the database given (--database-url, DATABASE_URL, PG*), if one is; else ``otherwise``."""
    try:
        url, _ = resolve(args.database_url, embedded_ok=False)
    except NoDatabase:
        return otherwise
    connect(url).close()  # a one-line error if it cannot be reached
    return migrate.current(url)


PLATFORM_TABLES = ("course_purchases", "purchase_sessions", "trainer_allocations", "tutoring_sessions")

# (kind, name) of every object of the package, taken before and after a migration to say what it did:
# whatever lives in schema session_sync; in public, the routines, views and tables named session_sync_*
# or sync_* (its API); on the platform's tables, the triggers and indexes named session_sync_*.
_OBJECTS = r"""
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, n.nspname || '.' || p.proname
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
WHERE n.nspname OPERATOR(pg_catalog.=) 'session_sync'
   OR (n.nspname OPERATOR(pg_catalog.=) 'public' AND (p.proname OPERATOR(pg_catalog.~) '^(session_sync_|sync_)'))
UNION ALL
SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END, n.nspname || '.' || c.relname
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{r,v,p}'::pg_catalog."char"[])
  AND (n.nspname OPERATOR(pg_catalog.=) 'session_sync'
       OR (n.nspname OPERATOR(pg_catalog.=) 'public' AND c.relname OPERATOR(pg_catalog.~) '^session_sync_'))
UNION ALL
SELECT 'trigger', t.tgname || ' on ' || c.relname
FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.tgrelid
WHERE NOT t.tgisinternal AND t.tgname OPERATOR(pg_catalog.~) '^session_sync_'
  AND c.relnamespace OPERATOR(pg_catalog.=) 'public'::pg_catalog.regnamespace
  AND c.relname OPERATOR(pg_catalog.=) ANY (%(platform)s::pg_catalog.name[])
UNION ALL
SELECT 'index', i.relname || ' on ' || c.relname
FROM pg_catalog.pg_index x
JOIN pg_catalog.pg_class i ON i.oid OPERATOR(pg_catalog.=) x.indexrelid
JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) x.indrelid
WHERE i.relname OPERATOR(pg_catalog.~) '^session_sync_'
  AND c.relnamespace OPERATOR(pg_catalog.=) 'public'::pg_catalog.regnamespace
  AND c.relname OPERATOR(pg_catalog.=) ANY (%(platform)s::pg_catalog.name[])
UNION ALL
SELECT 'platform table', c.relname
FROM pg_catalog.pg_class c
WHERE c.relnamespace OPERATOR(pg_catalog.=) 'public'::pg_catalog.regnamespace
  AND c.relname OPERATOR(pg_catalog.=) ANY (%(platform)s::pg_catalog.name[])
"""

# How each kind is counted in a sentence (one, many), in this order.
_KINDS = {"function": ("function", "functions"), "procedure": ("procedure", "procedures"),
          "view": ("view", "views"), "table": ("table", "tables"),
          "trigger": ("trigger on the platform's tables", "triggers on the platform's tables"),
          "index": ("index on the platform's tables", "indexes on the platform's tables")}


def take_inventory(url: str) -> frozenset[tuple[str, str]]:
    with connect(url) as conn:
        return frozenset(conn.execute(_OBJECTS, {"platform": list(PLATFORM_TABLES)}).fetchall())


def platform_tables(objects: frozenset[tuple[str, str]]) -> list[str]:
    return sorted(name for kind, name in objects if kind == "platform table")


def counts(objects: frozenset[tuple[str, str]]) -> str:
    """``"52 functions, 1 procedure, 8 views, ..."`` (kinds with none left out), else ``"nothing"``."""
    counted = Counter(kind for kind, _ in objects)
    return ", ".join(f"{counted[kind]} {one if counted[kind] == 1 else many}"
                     for kind, (one, many) in _KINDS.items() if counted[kind]) or "nothing"


def cmd_migrate(args: argparse.Namespace, out: Console) -> int:
    if args.sql:
        start = args.from_revision or configured_revision(args, None)
        if start == migrate.head():
            print(f"-- session-sync is already at {start}: nothing to run")
        else:
            sys.stdout.write(migrate.upgrade_sql(from_revision=start))
        return EXIT_OK
    url, source = database(args)
    before, was = take_inventory(url), migrate.current(url)
    migrate.upgrade(url, progress=True)
    after, now = take_inventory(url), migrate.current(url)
    if was == now:
        out.print(f"session-sync is at {now} in the database from {source}: already up to date, nothing to do")
        return EXIT_OK
    adopted = platform_tables(before)
    created = [name for name in platform_tables(after) if name not in adopted]
    previously = "not installed" if was is None else f"at {was}"
    out.print(f"session-sync is at {now} in the database from {source} (it was {previously}): created "
              f"{counts(after - before)}.")
    if adopted:
        out.print(f"Adopted the platform's tables {', '.join(adopted)} as they are (columns and rows unchanged).")
    if created:
        out.print(f"Created the missing platform tables {', '.join(created)} (empty; an uninstall drops them "
                  "while they stay empty).")
    return EXIT_OK


def cmd_uninstall(args: argparse.Namespace, out: Console) -> int:
    if args.sql:
        start = configured_revision(args, migrate.head())
        if start is None:
            print("-- session-sync is not installed in that database: nothing to run")
        else:
            sys.stdout.write(migrate.downgrade_sql(from_revision=start))
        return EXIT_OK
    url, source = database(args)
    before, was = take_inventory(url), migrate.current(url)
    if was is None:
        out.print(f"session-sync is not installed in the database from {source}: nothing to remove")
        return EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(f"uninstall removes session-sync from {describe(url)}: pass --yes to confirm "
                             "(there is no terminal to ask on); nothing was changed")
        answer = input(f"Remove session-sync ({counts(before)}) from {describe(url)}? The platform's "
                       "tables and rows stay. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("session-sync: uninstall cancelled; nothing was changed", file=sys.stderr)
            return EXIT_FAILED
    migrate.downgrade(url, "base", progress=True)
    with connect(url) as conn:
        conn.execute("DO $$ BEGIN IF NOT EXISTS (SELECT FROM public.alembic_version) THEN "
                     "DROP TABLE public.alembic_version; END IF; END $$")
    after = take_inventory(url)
    removed = before - after
    dropped = platform_tables(removed)
    out.print(f"session-sync is uninstalled from the database from {source}: removed {counts(removed)}.")
    if platform_tables(after):
        out.print(f"Kept the platform's tables {', '.join(platform_tables(after))} (columns and rows untouched).")
    if dropped:
        out.print(f"Dropped the platform tables it had created, empty: {', '.join(dropped)}.")
    out.print("The role session_sync_runner stays (it is cluster-wide): DROP ROLE it once no database uses it.")
    return EXIT_OK


def cmd_sync(args: argparse.Namespace, out: Console) -> int:
    url, _ = database(args)
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
            title, failure = ("Dry run: what sync would do (nothing written)",
                              "would fail; `session-sync pending` shows each one's reason")
        else:
            progress = make_console(stderr=True)
            conn.add_notice_handler(lambda diag: progress.print(diag.message_primary))
            run_id = call_interruptibly(
                conn, "CALL public.sync_all_sessions_batched(p_batch_size => %s::pg_catalog.int4)", (args.batch_size,))
            names, rows = fetch(conn, "SELECT run_id, purchases_examined, purchases_synced, purchases_in_sync, "
                                      "purchases_failed, purchases_deferred, sessions_created, sessions_updated "
                                      "FROM public.session_sync_runs WHERE run_id = %s", (run_id,))
            title, failure = ("Sync run", "could not be synced: `session-sync failures` lists why, "
                                          "`session-sync diagnose PURCHASE_ID` explains one")
    render(out, args.json, names, rows, title)
    failed = rows[0][names.index("purchases_failed")]
    if failed:
        print(f"session-sync: {plural(failed, 'purchase', 'purchases')} {failure}", file=sys.stderr)
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
        with conn.transaction(force_rollback=args.dry_run):
            names, rows = fetch(conn, "SELECT * FROM public.sync_purchase_sessions(%s)", (purchase_id,))
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


def query(args: argparse.Namespace, statement: str, params: tuple | None = None) -> tuple[list[str], list[tuple]]:
    """Run ``statement`` in the command's database, where session-sync must be installed."""
    url, _ = database(args)
    with connect(url) as conn:
        require_installed(conn)
        return fetch(conn, statement, params)


def view_command(statement: str, title: str, failed: Callable[[dict[str, Any] | None, int], bool]):
    """A command that prints one of the package's views; ``failed(first row, row count)`` gives exit 1."""

    def run(args: argparse.Namespace, out: Console) -> int:
        names, rows = query(args, statement)
        render(out, args.json, names, rows, title)
        return EXIT_FAILED if failed(dict(zip(names, rows[0])) if rows else None, len(rows)) else EXIT_OK

    return run


def cmd_diagnose(args: argparse.Namespace, out: Console) -> int:
    purchase_id = parse_purchase_id(args.purchase_id)
    names, rows = query(args, "SELECT * FROM public.session_sync_diagnose(%s)", (purchase_id,))
    render(out, args.json, names, rows, f"Diagnosis of purchase {purchase_id}")
    return EXIT_OK if all(row[names.index("ok")] for row in rows) else EXIT_FAILED


def cmd_demo(args: argparse.Namespace, out: Console) -> int:
    return demo.run(out, libpq_conninfo(args.database_url) if args.database_url else None, args.purchases)


def cmd_server(args: argparse.Namespace, out: Console) -> int:
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


PARSER = Parser(prog="session-sync", description="Sync purchase_sessions into tutoring_sessions, in PostgreSQL.",
                parents=[global_options(in_subcommand=False)])
PARSER.add_argument("--version", action="version", version=f"%(prog)s {version('session-sync')}")
_subparsers = PARSER.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
COMMANDS: dict[str, argparse.ArgumentParser] = _subparsers.choices  # each command's parser, by name


def command(name: str, run: Callable[[argparse.Namespace, Console], int], summary: str,
            description: str) -> argparse.ArgumentParser:
    """Add a command: ``summary`` is its line in `session-sync --help`, ``description`` the first
    paragraph of `session-sync COMMAND --help`."""
    parser = _subparsers.add_parser(name, help=summary, description=description,
                                    parents=[global_options(in_subcommand=True)])
    parser.set_defaults(run=run)
    return parser


_migrate = command("migrate", cmd_migrate, "install or upgrade session-sync in the database (alembic upgrade head)",
                   "Install or upgrade session-sync in the database: runs the package's Alembic migrations "
                   "to head (alembic upgrade head). With --sql, prints the SQL script instead.")
_migrate.add_argument("--sql", action="store_true", help="print the SQL script instead of running it")
_migrate.add_argument("--from", dest="from_revision", metavar="REVISION",
                      help="with --sql: the revision the script starts from (default: the database's own when "
                           "one is given, else base: the whole install)")
_uninstall = command("uninstall", cmd_uninstall,
                     "remove session-sync from the database; the platform's tables and rows stay",
                     "Remove every object of session-sync from the database (alembic downgrade base): its "
                     "triggers and indexes on the platform's tables, its functions, views and tables. The "
                     "platform's tables, columns and rows stay. Asks first on a terminal; --yes for scripts; "
                     "--sql prints the script instead.")
_uninstall.add_argument("--yes", action="store_true", help="do not ask for confirmation (for scripts)")
_uninstall.add_argument("--sql", action="store_true",
                        help="print the SQL script instead of running it (from the database's revision when one "
                             "is given, else from head)")
_sync = command("sync", cmd_sync, "sync one purchase, or every purchase that needs it (in committed batches)",
                "Sync purchase_sessions into tutoring_sessions: every queued purchase, in committed batches "
                "(CALL sync_all_sessions_batched), or one purchase, all or nothing (sync_purchase_sessions). "
                "Exit 1 when a purchase could not be synced.")
_sync.add_argument("purchase_id", nargs="?", help="a course_purchases id (default: all)")
_sync.add_argument("--dry-run", action="store_true", help="report what would be done; write nothing")
_sync.add_argument("--batch-size", type=positive_int, default=1000, help="purchases per committed batch (default 1000)")
_sync.add_argument("--full", action="store_true",
                   help="queue every eligible purchase first (session_sync_enqueue()), so the run examines "
                        "all of them, not only those writes have queued")
command("pending", view_command("SELECT * FROM public.session_sync_pending ORDER BY purchase_id",
                                "Purchases that need syncing", lambda first, count: False),
        "purchases with missing or drifted sessions (view session_sync_pending)",
        "List the eligible purchases whose tutoring sessions are missing, drifted or in conflict, "
        "with the reason each would fail (view session_sync_pending).")
command("verify", view_command("SELECT * FROM public.session_sync_verify", "Verification counts",
                               lambda first, count: bool(first and (first["missing"] or first["drifted"]
                                                                    or first["conflicts"]))),
        "the guide's verification counts (view session_sync_verify)",
        "Count purchase sessions and tutoring sessions, and what is missing, drifted, in conflict, "
        "protected or orphaned (view session_sync_verify). Exit 1 when something is missing, "
        "drifted or in conflict.")
command("diagnose", cmd_diagnose, "troubleshoot one purchase (session_sync_diagnose)",
        "Run every check on one purchase: trainer, status, student, coordinates, allocation, "
        "sessions, last failure (session_sync_diagnose). Changes nothing. Exit 1 when a check "
        "fails.").add_argument("purchase_id", help="a course_purchases id")
command("health", view_command("SELECT * FROM public.session_sync_status", "Health (session_sync_status)",
                               lambda first, count: bool(first and (first["failing_purchases"]
                                                                    or first["last_run_outcome"] == "interrupted"))),
        "one row for monitoring: queue depth and age, failing purchases, last run (session_sync_status)",
        "Show the package's health in one row (view session_sync_status): purchases queued and the age "
        "of the oldest, queued purchases with a recorded failure, the last run and its outcome, "
        "whether a backfill runs. Exit 1 when a queued purchase is failing or the last run was "
        "interrupted: usable as a cron check.")
command("failures", view_command("SELECT purchase_id, reason, message, hint, source, failed_at, occurrences "
                                 "FROM public.session_sync_open_failures ORDER BY failed_at DESC",
                                 "Open failures (latest per purchase still not in sync)",
                                 lambda first, count: count > 0),
        "latest failure of each purchase still not in sync (session_sync_open_failures)",
        "List the latest failure of each purchase that is still not in sync, with its reason and "
        "hint (view session_sync_open_failures). Exit 1 when there is one.")
command("demo", cmd_demo, "show the guide's problem and its fix on a throwaway embedded PostgreSQL",
        "Show the guide's problem and its fix: load a realistic data set into a throwaway embedded "
        "PostgreSQL (or an empty database given with --database-url), then sync it.").add_argument(
    "--purchases", type=positive_int, default=120, help="how many purchases to generate, 1 or more (default 120)")
command("server", cmd_server, "the local embedded PostgreSQL: status, stop, url",
        "Manage the local embedded PostgreSQL that session-sync starts, and leaves running, when no "
        "database is configured (no --database-url, DATABASE_URL or PG* variable). Its data lives "
        "in your user data directory.").add_argument(
    "action", choices=["status", "stop", "url"], help="status: running or not, where its data lives (exit 1 when "
    "not running); stop: stop it (its data stays); url: print its connection URL, starting it if needed")


def main(argv: list[str] | None = None) -> int:
    args = PARSER.parse_args(argv)
    out = make_console()
    try:
        return args.run(args, out)
    except (UsageError, ConnectionStringError, CommandError) as error:  # CommandError: Alembic's, a bad --from
        print(f"session-sync: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (sqlalchemy.exc.DBAPIError, psycopg.Error) as error:  # DBAPIError: a migration's statement failed
        print(server_error(getattr(error, "orig", error)), file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `session-sync migrate --sql | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("session-sync: interrupted; the batch in progress was rolled back, committed batches are kept "
              "(run the same command again to finish)", file=sys.stderr)
        return 130


def server_error(error: psycopg.Error) -> str:
    """The server's message, detail and hint, as psql prints them (a migration is rolled back)."""
    diag = error.diag
    if error.sqlstate is None or not diag.message_primary:
        first_line = (str(error).strip() or type(error).__name__).splitlines()[0]
        return f"session-sync: database connection failed: {first_line}"
    lines = [f"session-sync: {diag.severity_nonlocalized or 'ERROR'}: {diag.message_primary}"]
    lines += [f"{label}: {text}" for label, text in (("DETAIL", diag.message_detail), ("HINT", diag.message_hint))
              if text]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
