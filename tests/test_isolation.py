"""Concurrency interleavings proved with PostgreSQL's isolationtester (tests/isolation/).

Each ``tests/isolation/specs/<name>.spec`` runs in a fresh database migrated to head (the ``db``
fixture), and isolationtester's output must equal ``tests/isolation/expected/<name>.out``
exactly. isolationtester ships with the server (Debian: package postgresql-client-<major>,
under ``/usr/lib/postgresql/<major>/lib/pgxs/src/test/isolation/``); its output format differs
between majors, so only one of the test server's major version is used.

- Not found (e.g. the embedded PostgreSQL 18): the tests skip, saying where they looked.
  ``SESSION_SYNC_REQUIRE_ISOLATION=1`` makes that a failure (``.ci/run`` sets it for PostgreSQL 15).
- ``SESSION_SYNC_ISOLATIONTESTER=/path/to/isolationtester`` uses that binary (no version check).
- ``SESSION_SYNC_ISOLATION_ACCEPT=1`` rewrites ``expected/<name>.out`` with the actual output
  (review the change with ``git diff tests/isolation/expected``). See tests/isolation/README.md.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import warnings
from pathlib import Path

import psycopg
import pytest

ISOLATION = Path(__file__).parent / "isolation"
SPECS = sorted((ISOLATION / "specs").glob("*.spec"))
PGXS_ISOLATION = Path("pgxs/src/test/isolation/isolationtester")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes", "on"}


def _pg_config(major: int) -> tuple[Path | None, str]:
    """``pg_config --pkglibdir`` when the pg_config on PATH is of this major version, and what was seen."""
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None, "no pg_config on PATH"
    try:
        version = subprocess.run([pg_config, "--version"], capture_output=True, text=True, timeout=30).stdout
        pkglibdir = subprocess.run([pg_config, "--pkglibdir"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as error:
        return None, f"{pg_config} failed: {error}"
    words = version.split()  # "PostgreSQL 15.18 (Debian 15.18-0+deb12u1)"
    if len(words) < 2 or words[1].split(".")[0] != str(major) or not pkglibdir.strip():
        return None, f"{pg_config} is {version.strip() or 'of unknown version'}, not {major}"
    return Path(pkglibdir.strip()), ""


def find_isolationtester(major: int) -> tuple[Path | None, list[str]]:
    """The isolationtester of PostgreSQL ``major``, and the places looked at."""
    override = os.environ.get("SESSION_SYNC_ISOLATIONTESTER")
    if override:
        path = Path(override)
        found = path if path.is_file() and os.access(path, os.X_OK) else None
        return found, [f"{path} (SESSION_SYNC_ISOLATIONTESTER)"]
    looked, candidates = [], []
    pkglibdir, why_not = _pg_config(major)
    if pkglibdir is not None:
        candidates.append(pkglibdir / PGXS_ISOLATION)
    else:
        looked.append(why_not)
    candidates.append(Path(f"/usr/lib/postgresql/{major}/lib") / PGXS_ISOLATION)
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path, looked + [str(c) for c in candidates]
    return None, looked + [str(c) for c in candidates]


@pytest.fixture(scope="module")
def isolationtester(server_url: str) -> Path:
    with psycopg.connect(server_url) as conn:
        major = conn.info.server_version // 10000
    path, looked = find_isolationtester(major)
    if path is None:
        reason = (f"isolationtester for PostgreSQL {major} (the test server's version) not found; "
                  f"looked at: {', '.join(looked)}")
        if _flag("SESSION_SYNC_REQUIRE_ISOLATION"):
            pytest.fail(f"{reason} (SESSION_SYNC_REQUIRE_ISOLATION is set)", pytrace=False)
        pytest.skip(reason)
    return path


def run_spec(isolationtester: Path, conninfo: str, spec: Path) -> subprocess.CompletedProcess:
    """isolationtester on ``spec``, stdout and stderr together (as pg_isolation_regress does)."""
    with spec.open("rb") as stdin:
        return subprocess.run([str(isolationtester), conninfo], stdin=stdin, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=300, check=False)


@pytest.mark.parametrize("spec", SPECS, ids=[spec.stem for spec in SPECS])
def test_isolation_spec(isolationtester: Path, db, spec: Path, tmp_path: Path) -> None:
    result = run_spec(isolationtester, db.url, spec)
    actual = result.stdout.decode()
    expected_file = ISOLATION / "expected" / f"{spec.stem}.out"
    (tmp_path / f"{spec.stem}.out").write_text(actual)
    assert result.returncode == 0, f"isolationtester exited with {result.returncode}:\n{actual}"

    if _flag("SESSION_SYNC_ISOLATION_ACCEPT"):
        if not expected_file.exists() or expected_file.read_text() != actual:
            expected_file.write_text(actual)
            warnings.warn(f"rewrote {expected_file.relative_to(ISOLATION.parent.parent)}; review it "
                          f"with git diff", stacklevel=1)
        return

    expected = expected_file.read_text() if expected_file.exists() else ""
    if actual != expected:
        diff = "".join(difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True),
            fromfile=f"expected/{spec.stem}.out", tofile=f"actual ({tmp_path / spec.stem}.out)"))
        pytest.fail(f"isolationtester output differs from expected/{spec.stem}.out"
                    f"{'' if expected_file.exists() else ' (missing)'}; accept it with "
                    f"SESSION_SYNC_ISOLATION_ACCEPT=1 (tests/isolation/README.md):\n{diff}", pytrace=False)
