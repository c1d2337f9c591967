"""Persistence: SQLAlchemy 2 (async) on SQLite by default, PostgreSQL by URL.

``db.py`` owns engines and sessions, ``tables.py`` the schema (migrated by Alembic in
``migrations/``), and one query module per aggregate. Storage imports neither the
wire schema nor the backends.
"""
