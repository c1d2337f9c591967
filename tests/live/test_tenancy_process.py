"""A real ``parley serve`` process: keys from the CLI, usage flushed on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from parley.storage.db import Database
from parley.storage.tables import UsageRecord
from tests.processes import free_port, parley_env, serve

pytestmark = [pytest.mark.live, pytest.mark.slow]


def cli(data_dir: Path, *args: str) -> str:
    env = {**os.environ, "PARLEY_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "parley", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_cli_key_and_usage_survive_sigterm(tmp_path: Path) -> None:
    assert cli(tmp_path, "db", "upgrade") == "database is up to date"
    key = cli(tmp_path, "keys", "create", "--name", "cli-test")
    assert key.startswith("sk-parley-api01-") and "\n" not in key
    port = free_port()
    # Flush only at shutdown, so what reaches the database is the SIGTERM flush.
    server = serve(tmp_path, port, parley_env(tmp_path, PARLEY_USAGE__FLUSH_INTERVAL="3600"))
    try:
        for _ in range(5):
            response = httpx.post(
                f"http://127.0.0.1:{port}/v1/messages",
                headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
                json={
                    "model": "smollm2-135m-instruct",
                    "max_tokens": 3,
                    "messages": [{"role": "user", "content": "Hi"}],
                },
                timeout=60,
            )
            assert response.status_code == 200
    finally:
        assert "Application shutdown complete" in server.terminate()
    assert "cli-test" in cli(tmp_path, "keys", "list")

    async def totals() -> tuple[int, int]:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}")
        async with db.read() as session:
            row = (
                await session.execute(
                    select(func.sum(UsageRecord.requests), func.sum(UsageRecord.output_tokens))
                )
            ).one()
        await db.aclose()
        return int(row[0] or 0), int(row[1] or 0)

    assert asyncio.run(totals()) == (5, 15)
