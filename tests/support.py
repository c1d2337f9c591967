"""Test helpers: settings in a temporary data directory, running apps, clients.

In-process apps run their lifespan and are reached through ``httpx2.ASGITransport``,
the transport of the HTTP library the SDK itself uses (``httpx`` for raw requests).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import openai
from fastapi import FastAPI

from parley.config import Settings, load_settings

API_KEY = "sk-parley-api01-testkey00000" + "0" * 40
ADMIN_KEY = "sk-parley-admin01-testadmin000" + "0" * 40
BASE_URL = "http://parley.test"
V1 = {"anthropic-version": "2023-06-01", "x-api-key": API_KEY}
V2 = {"anthropic-version": "2026-10-21", "authorization": f"Bearer {API_KEY}"}


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "data_dir": data_dir,
        "auth": {"bootstrap_api_key": API_KEY, "bootstrap_admin_key": ADMIN_KEY},
        "server": {"ping_interval": 0.05},
    }
    base.update(overrides)
    return load_settings(**base)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    async with app.router.lifespan_context(app):
        yield app


def raw_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


def asgi_http(app: FastAPI) -> httpx2.AsyncClient:
    """The SDKs' HTTP client, talking to ``app`` in process."""
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE_URL)


def sdk_client(app: FastAPI, **kwargs: Any) -> anthropic.AsyncAnthropic:
    http_client = asgi_http(app)
    kwargs.setdefault("max_retries", 0)
    return anthropic.AsyncAnthropic(
        api_key=API_KEY,
        base_url=BASE_URL,
        http_client=http_client,
        _strict_response_validation=True,
        **kwargs,
    )


def openai_client(app: FastAPI, *, api_key: str = API_KEY) -> openai.AsyncOpenAI:
    """The official ``openai`` client (strict response validation) on the app's ``/v1``."""
    http_client = asgi_http(app)
    return openai.AsyncOpenAI(
        api_key=api_key,
        base_url=f"{BASE_URL}/v1",
        http_client=http_client,
        max_retries=0,
        _strict_response_validation=True,
    )


class ServerThread:
    """A real uvicorn server on a free loopback port, in a thread of this process.

    The test talks to it over a socket (so SSE timing, disconnects and the sync SDK
    behave as they do for users) and can still look at the app's objects.
    """

    def __init__(self, app: FastAPI) -> None:
        import threading

        import uvicorn

        self.app = app
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        import time

        self._thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    @property
    def base_url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=60)


def usage_rows(base_url: str, *, group_by: str | None = None) -> list[dict[str, Any]]:
    """The usage report's rows for the last day (one-day buckets), read with the admin key."""
    params = {
        "starting_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        "bucket_width": "1d",
        "limit": 31,
    }
    if group_by is not None:
        params["group_by[]"] = group_by
    report = httpx.get(
        f"{base_url}/v1/organizations/usage_report/messages",
        params=params,
        headers={"x-api-key": ADMIN_KEY, "anthropic-version": "2023-06-01"},
        timeout=30,
    ).json()
    return [row for bucket in report["data"] for row in bucket["results"]]


POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


async def postgres_unavailable() -> str | None:
    """Why PostgreSQL on 127.0.0.1:5432 cannot be used, or None when it can."""
    import asyncpg

    try:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL is not reachable at 127.0.0.1:5432 ({exc})"
    await conn.close()
    return None


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new, empty database; dropped afterwards. Yields its SQLAlchemy URL."""
    import secrets

    import asyncpg

    name = f"parley_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
