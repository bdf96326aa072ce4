"""The schema revision this code expects: the head of ``migrations/versions``.

Kept apart from the table definitions (``_schema``) so that opening a current store, which
compares this with the stored revision, loads neither SQLAlchemy nor Alembic.
"""

SCHEMA_REVISION = "0010"
