"""Engines, sessions and migrations.

SQLite (the default, ``<data_dir>/parley.db``) runs in WAL mode with foreign keys on
and a long busy timeout, and every write transaction starts with ``BEGIN IMMEDIATE``:
it takes the write lock up front and waits for it, instead of failing with
"database is locked" when a read transaction later tries to write. Reads use plain
deferred transactions and run concurrently with the writer. PostgreSQL is used as is
(``postgresql+asyncpg://…``).

``upgrade()`` applies the Alembic migrations; ``parley serve`` calls it on start.

A database that cannot be reached (PostgreSQL restarting, a dropped connection, a
pool with no connection to give) is ``StorageUnavailable``: the caller answers 529
with ``retry-after``, background loops retry. PostgreSQL connections are checked
before use (``pool_pre_ping``), so one restart costs at most the requests that were
inside a transaction when it happened.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from asyncpg import exceptions as asyncpg_errors
from sqlalchemy import event
from sqlalchemy import exc as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from parley.errors import StorageUnavailable

log = logging.getLogger(__name__)
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
        with _unreachable_as_unavailable():
            async with self._read() as session:
                yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction, committed on success."""
        with _unreachable_as_unavailable():
            async with self._write() as session, session.begin():
                yield session

    async def aclose(self) -> None:
        await self.engine.dispose()


# What a database that went away looks like through SQLAlchemy and its drivers: asyncpg
# raises its own errors while (re)connecting, such as "the database system is starting
# up" or "terminating connection due to administrator command".
_UNREACHABLE: tuple[type[Exception], ...] = (sa.OperationalError, sa.InterfaceError)
_UNREACHABLE += (sa.TimeoutError, ConnectionError, asyncpg_errors.PostgresConnectionError)
_UNREACHABLE += (asyncpg_errors.OperatorInterventionError, asyncpg_errors.InterfaceError)
_UNREACHABLE += (asyncpg_errors.TooManyConnectionsError,)


@contextmanager
def _unreachable_as_unavailable() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        if not _unreachable(exc):
            raise
        log.warning("the database is unavailable: %s", str(exc).splitlines()[0][:200])
        raise StorageUnavailable(
            "Parley cannot reach its database right now; retry the request shortly."
        ) from exc


def _unreachable(exc: BaseException | None) -> bool:
    """Whether ``exc``, or what caused it, is the database being out of reach.
    SQLAlchemy wraps driver errors once or twice (a failed connect arrives as a plain
    ``DBAPIError`` around asyncpg's "the database system is starting up")."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, _UNREACHABLE):
            return True
        if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


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
