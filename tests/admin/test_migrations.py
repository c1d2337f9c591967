"""Schema upgrades when several replicas start at once against one PostgreSQL."""

from __future__ import annotations

import asyncio
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support import fresh_postgres_database, postgres_unavailable

pytestmark = pytest.mark.postgres


async def test_replicas_starting_together_migrate_once() -> None:
    reason = await postgres_unavailable()
    if reason:
        pytest.skip(reason)
    async with fresh_postgres_database() as url:
        script = f"from parley.storage.db import upgrade; upgrade({url!r})"
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                script,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            for _ in range(4)
        ]
        outputs = [await p.communicate() for p in processes]
        failures = [
            out.decode()[-500:]
            for p, (out, _) in zip(processes, outputs, strict=True)
            if p.returncode
        ]
        assert not failures, failures  # without the migration lock: duplicate key on CREATE
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            heads = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).all()
        await engine.dispose()
        assert len(heads) == 1
