"""SQLite under concurrent writers from two processes: no "database is locked"."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sqlalchemy import func, select

from parley.config import load_settings
from parley.storage.db import Database, upgrade
from parley.storage.tables import ApiKey
from parley.tenancy.keys import KeyService
from parley.tenancy.organization import bootstrap

WRITER = """
import asyncio, sys
from parley.tenancy.keys import KeyService
from parley.storage.db import Database

async def main(url, workspace, owner):
    db = Database(url)
    keys = KeyService(db)
    # Each create reads the workspace, then inserts: the read-then-write pattern that
    # fails with "database is locked" when transactions are not begun IMMEDIATE.
    await asyncio.gather(*(keys.create(kind="api", name=f"k{i}", workspace_id=workspace,
                                       created_by=owner) for i in range(100)))
    await db.aclose()

asyncio.run(main(*sys.argv[1:]))
"""


async def test_two_processes_write_at_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    org = await bootstrap(db, KeyService(db), load_settings(data_dir=tmp_path))
    writers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WRITER,
            url,
            org.default_workspace_id,
            org.owner_id,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for writer in writers:
        _, err = await asyncio.wait_for(writer.communicate(), timeout=120)
        assert writer.returncode == 0, err.decode()
    async with db.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(ApiKey).where(ApiKey.kind == "api")
        )
    await db.aclose()
    assert count == 200
