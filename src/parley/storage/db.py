"""Engines, sessions and migrations.

SQLite (the default, ``<data_dir>/parley.db``) runs in WAL mode with foreign keys on
and a long busy timeout, and every write transaction starts with ``BEGIN IMMEDIATE``:
it takes the write lock up front and waits for it, instead of failing with
"database is locked" when a read transaction later tries to write. Reads use plain
deferred transactions and run concurrently with the writer. PostgreSQL is used as is
(``postgresql+asyncpg://…``).

``upgrade()`` applies the Alembic migrations; ``parley serve`` calls it on start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 60_000


def utc(value: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime: SQLite returns naive datetimes, and
    everything Parley stores is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def default_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{Path(data_dir) / 'parley.db'}"


def _sqlite_setup(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("parley_begin", "BEGIN"))


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_async_engine(url, echo=echo, pool_pre_ping=not self.is_sqlite)
        if self.is_sqlite:
            _sqlite_setup(self.engine)
            writer = self.engine.execution_options(parley_begin="BEGIN IMMEDIATE")
        else:
            writer = self.engine
        self._read = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write = async_sessionmaker(writer, expire_on_commit=False)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction, committed on success."""
        async with self._write() as session, session.begin():
            yield session

    async def aclose(self) -> None:
        await self.engine.dispose()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations (synchronous: Alembic drives its own event loop in env.py)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)
