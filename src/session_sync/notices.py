"""What a migration says while it runs: the server's WARNINGs, and the package's own NOTICEs
(the lock helper's "waiting to lock ..." every 5 s, the uninstall's "keeping public.x"), printed to
stderr as they arrive; other NOTICEs (``IF NOT EXISTS ... skipping``, ``drop cascades to``) are
noise to whoever runs it."""

from __future__ import annotations

import sys

from psycopg.errors import Diagnostic


def print_notice(diagnostic: Diagnostic) -> None:
    """A psycopg notice handler (``connection.add_notice_handler(print_notice)``)."""
    severity, message = diagnostic.severity_nonlocalized, diagnostic.message_primary or ""
    if severity == "WARNING" or (severity == "NOTICE" and message.startswith("session-sync")):
        print(f"{severity}: {message}", file=sys.stderr, flush=True)
