"""Batches survive a killed process, and several workers never do the same work twice.

Real processes: ``parley serve`` and ``parley worker`` on the bundled model, SIGKILL in
the middle of a batch, the CLI to submit and fetch, SQLite and the real PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.processes import STARTED, ParleyProcess, free_port, parley_env
from tests.support import API_KEY, postgres_unavailable

pytestmark = [pytest.mark.live, pytest.mark.slow]
HEADERS = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    batches = json.dumps({"lease_seconds": 3, "poll_interval": 0.1})
    extra = {"PARLEY_AUTH__BOOTSTRAP_API_KEY": API_KEY, "PARLEY_BATCHES": batches, **extra}
    return parley_env(data_dir, **extra)


def spawn(env: dict[str, str], *args: str, ready: str) -> ParleyProcess:
    data_dir = Path(env["PARLEY_DATA_DIR"])
    log = data_dir / f"{args[0]}-{len(list(data_dir.glob('*.log')))}.log"
    process = ParleyProcess(list(args), env, log)
    process.wait_for(ready)
    return process


@contextmanager
def running(env: dict[str, str], *args: str, ready: str) -> Iterator[ParleyProcess]:
    process = spawn(env, *args, ready=ready)
    try:
        yield process
    finally:
        process.terminate()


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "parley", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout


def write_requests(path: Path, count: int, max_tokens: int) -> None:
    with path.open("w") as handle:
        for i in range(count):
            params = {
                "model": "smollm2-135m-instruct",
                "max_tokens": max_tokens,
                "messages": [{"role": "user", "content": f"Say a sentence about the number {i}."}],
            }
            handle.write(json.dumps({"custom_id": f"req-{i}", "params": params}) + "\n")


def wait_until(check: Any, timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.mark.timeout(600)  # two model processes and a batch, on a possibly busy machine
def test_server_killed_mid_batch_finishes_every_request_once(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = environment(tmp_path, ANTHROPIC_BASE_URL=base, ANTHROPIC_API_KEY=API_KEY)
    write_requests(tmp_path / "requests.jsonl", 40, max_tokens=16)
    server = spawn(env, "serve", "--port", str(port), ready=STARTED)
    batch = json.loads(cli(env, "batches", "submit", str(tmp_path / "requests.jsonl"), "--no-wait"))
    url = f"{base}/v1/messages/batches/{batch['id']}"

    def completed() -> int:
        return int(httpx.get(url, headers=HEADERS).headers["parley-requests-completed"])

    def ended() -> bool:
        return bool(httpx.get(url, headers=HEADERS).json()["processing_status"] == "ended")

    wait_until(lambda: completed() >= 10)
    server.kill()  # no shutdown, no flush: the leases just stop
    with running(env, "serve", "--port", str(port), ready=STARTED):
        wait_until(ended, timeout=500)
        lines = cli(env, "batches", "results", batch["id"]).splitlines()
        listing = cli(env, "batches", "list")
    results = [json.loads(line) for line in lines]
    assert sorted(r["custom_id"] for r in results) == sorted(f"req-{i}" for i in range(40))
    assert {r["result"]["type"] for r in results} == {"succeeded"}
    assert batch["id"] in listing
    engine = create_engine(f"sqlite:///{tmp_path / 'parley.db'}")
    with engine.connect() as conn:
        claims = [row[0] for row in conn.execute(text("SELECT claims FROM batch_requests"))]
    assert max(claims) >= 2, "some requests were in flight when the process died, and redone"


@pytest.mark.postgres
def test_two_workers_on_postgres_share_without_double_work(tmp_path: Path) -> None:
    import asyncio

    from tests.support import fresh_postgres_database

    reason = asyncio.run(postgres_unavailable())
    if reason:
        pytest.skip(reason)

    async def scenario() -> None:
        async with fresh_postgres_database() as url:
            await asyncio.to_thread(run_workers, tmp_path, url)

    asyncio.run(scenario())


def run_workers(tmp_path: Path, url: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = environment(
        tmp_path,
        PARLEY_DATABASE__URL=url,
        ANTHROPIC_BASE_URL=base,
        ANTHROPIC_API_KEY=API_KEY,
        PARLEY_BATCHES=json.dumps({"worker_in_server": False, "poll_interval": 0.05}),
    )
    write_requests(tmp_path / "requests.jsonl", 40, max_tokens=8)
    with (
        running(env, "serve", "--port", str(port), ready=STARTED),
        running(env, "worker", ready="processing message batches"),
        running(env, "worker", ready="processing message batches"),
    ):
        batch = json.loads(cli(env, "batches", "submit", str(tmp_path / "requests.jsonl")))
        assert batch["request_counts"]["succeeded"] == 40
    rows = asyncio_rows(url)
    assert len(rows) == 40
    assert all(claims == 1 for claims, _ in rows), "a request was claimed twice"
    assert len({owner for _, owner in rows}) == 2, "both workers should have taken a share"


def asyncio_rows(url: str) -> list[tuple[int, str]]:
    import asyncio

    import asyncpg

    async def fetch() -> list[tuple[int, str]]:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        rows = await conn.fetch("SELECT claims, finished_by FROM batch_requests")
        await conn.close()
        return [(r["claims"], r["finished_by"]) for r in rows]

    return asyncio.run(fetch())
