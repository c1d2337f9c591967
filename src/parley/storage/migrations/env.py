"""Alembic environment: runs migrations through the async engine.

On PostgreSQL the whole upgrade holds a transaction-scoped advisory lock, so replicas
that start together migrate one after another: the first applies the revisions, the
others then find the database at head and do nothing.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from parley.storage.tables import Base

target_metadata = Base.metadata
MIGRATION_LOCK = 0x7061726C6579  # "parley": the advisory lock key of schema upgrades


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def _online() -> None:
    engine = create_async_engine(context.config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def _run_online() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_online())
        return
    raise RuntimeError("run migrations from synchronous code (e.g. asyncio.to_thread)")


_run_online()
