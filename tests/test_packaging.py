"""A regular (non-editable) install: build the wheel, install it into a fresh venv; from elsewhere, install
session-sync in a database holding the platform's rows, then uninstall it: the rows are as they were."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from session_sync import migrate

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_installs_and_uninstalls_from_any_directory(empty_db, tmp_path):
    # Build from a copy of the sources the wheel is made of (no build/ litter in the checkout).
    source = tmp_path / "source"
    for name in ("src", "migrations", "sql"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels),
                            str(source)], capture_output=True, text=True, timeout=180)
    assert built.returncode == 0, built.stderr
    [wheel] = wheels.glob("session_sync-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "session_sync/migrations/env.py" in names
    assert {"session_sync/migrations/versions/0002_install.sql", "session_sync/migrations/versions/0002_uninstall.sql",
            "session_sync/migrations/versions/0002_install.py"} <= names
    assert "session_sync/sql/functions/sync_all_sessions.sql" in names
    assert not any(name.startswith(("migrations/", "sql/")) for name in names)

    # A fresh venv with the wheel; its dependencies come from the test venv's site-packages
    # (appended by a .pth file, which adds no editable install: session_sync is the wheel's).
    fresh = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(fresh)
    python = fresh / "bin" / "python"
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                                "--no-index", "--quiet", str(wheel)], capture_output=True, text=True, timeout=180)
    assert installed.returncode == 0, installed.stderr
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("DATABASE_URL", "PYTHONPATH") and not k.startswith("PG")}
    where = subprocess.run([str(python), "-c", "import session_sync.migrate as m; print(m.migrations_dir())"],
                           cwd=elsewhere, env=environment, capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout

    empty_db.execute((ROOT / "tests" / "platform_schema.sql").read_text())  # the platform's tables and rows
    rows_before = platform_rows(empty_db)
    conninfo = make_conninfo(**conninfo_to_dict(empty_db.url))  # key=value, as a DBA would paste it

    def session_sync(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(fresh / "bin" / "session-sync"), "--database-url", conninfo, *args],
                              cwd=elsewhere, env=environment, capture_output=True, text=True, timeout=180,
                              stdin=subprocess.DEVNULL)

    result = session_sync("migrate")
    assert result.returncode == 0, result.stderr
    head = migrate_head()
    assert f"session-sync is at {head}" in result.stdout
    assert empty_db.value("SELECT version_num FROM public.alembic_version") == head
    verify = session_sync("verify", "--json")
    assert verify.returncode in (0, 1), verify.stderr  # the platform's rows need syncing or not: it reads them
    script = session_sync("uninstall", "--sql")
    assert script.returncode == 0 and "DROP SCHEMA IF EXISTS session_sync CASCADE" in script.stdout, script.stderr
    removed = session_sync("uninstall", "--yes")
    assert removed.returncode == 0, removed.stderr
    assert "Traceback" not in removed.stderr and "Kept the platform's tables" in removed.stdout
    assert platform_rows(empty_db) == rows_before
    assert empty_db.value("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'session\\_sync\\_%'") == 0
    assert empty_db.value("SELECT to_regnamespace('session_sync')") is None
    assert list(elsewhere.iterdir()) == []  # nothing written where it ran


def platform_rows(db) -> dict[str, list]:
    return {table: db.rows(f"SELECT to_jsonb(t) FROM public.{table} t ORDER BY t.id")
            for table in ("course_purchases", "purchase_sessions", "trainer_allocations", "tutoring_sessions")}


def migrate_head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(migrate.config()).get_current_head()
