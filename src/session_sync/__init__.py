"""session-sync: PostgreSQL-native sync of purchase_sessions into tutoring_sessions.

The sync logic is SQL (``sql/functions``), installed by Alembic (``migrations``).
This package only runs migrations, offers a command line and an embedded server.
"""

__version__ = "1.1.0"
