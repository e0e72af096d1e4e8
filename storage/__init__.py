"""The only room that knows SQL: the SQLite connection, numbered migrations and repositories."""

from storage.db import Database, SchemaTooNewError

__all__ = ["Database", "SchemaTooNewError"]
