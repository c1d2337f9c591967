"""Parley's dependencies failing under it — real ones, killed or filled for the test.

- Redis, holding the shared rate-limit buckets, killed: limits fail in the configured
  direction (let through, or 529 with ``retry-after``), never a 500.
- The blob directory full, then read-only, during an upload: a clear error, no file,
  no partial blob.
- An upstream that hangs or trickles bytes mid-answer: the stream ends with an
  ``error`` event within the stall limit, and the replica's slot is given back.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from parley.app import create_app
from tests.fixtures.servers import PrivateRedis, redis_missing
from tests.processes import free_port
from tests.support import V1, make_settings, raw_client, running

BODY = {"model": "scripted", "max_tokens": 5, "messages": [{"role": "user", "content": "a b"}]}
LIMITED = {"tier": "t", "tiers": {"t": {"default": {"requests_per_minute": 1000}}}}


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    reason = redis_missing()
    if reason:
        pytest.skip(reason)
    server = PrivateRedis(tmp_path)
    yield server
    server.close()


@pytest.mark.redis
@pytest.mark.parametrize("policy", ["allow", "refuse"])
async def test_redis_down(scripted_app: Any, private_redis: PrivateRedis, policy: str) -> None:
    limits = {**LIMITED, "store": "redis", "redis_url": private_redis.url, "on_store_error": policy}
    async with scripted_app(rate_limits=limits) as app, raw_client(app) as http:
        before = await http.post("/v1/messages", headers=V1, json=BODY)
        assert before.status_code == 200
        assert before.headers["anthropic-ratelimit-requests-limit"] == "1000"
        private_redis.kill()
        during = [await http.post("/v1/messages", headers=V1, json=BODY) for _ in range(20)]
        private_redis.start()
        after = await http.post("/v1/messages", headers=V1, json=BODY)
    if policy == "allow":
        assert {r.status_code for r in during} == {200}
        assert "anthropic-ratelimit-requests-limit" not in during[0].headers
    else:
        assert {r.status_code for r in during} == {529}
        assert during[0].json()["error"]["type"] == "overloaded_error"
        assert int(during[0].headers["retry-after"]) >= 1
    assert after.status_code == 200  # back once Redis is


@contextlib.contextmanager
def tmpfs(directory: Path, size: str) -> Iterator[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here ({mounted.stderr.strip()})")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


def multipart(size: int) -> tuple[dict[str, str], bytes]:
    boundary = "fault-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    body += b"x" * size + f"\r\n--{boundary}--\r\n".encode()
    return {**V1, "content-type": f"multipart/form-data; boundary={boundary}"}, body


async def test_blob_storage_full_then_read_only(tmp_path: Path, scripted_app: Any) -> None:
    with tmpfs(tmp_path / "small", "1m") as small:
        blobs = {"blob_url": f"file://{small}"}
        async with scripted_app(files=blobs) as app, raw_client(app) as http:
            headers, too_big = multipart(2 * 1024 * 1024)
            full = await http.post("/v1/files", headers=headers, content=too_big)
            remount = ["mount", "-o", "remount,ro", str(small)]
            await asyncio.to_thread(subprocess.run, remount, check=True)
            headers, small_body = multipart(1000)
            read_only = await http.post("/v1/files", headers=headers, content=small_body)
            listed = await http.get("/v1/files", headers=V1)
        leftovers = [p for p in small.rglob("*") if p.is_file()]
    assert full.status_code == 500 and "file storage is full" in full.json()["error"]["message"]
    assert read_only.status_code == 500
    assert "read-only" in read_only.json()["error"]["message"]
    for response in (full, read_only):
        assert response.headers["request-id"] == response.json()["request_id"]
    assert listed.json()["data"] == []
    assert leftovers == [], leftovers  # no partial blob, no temporary file


class StallingUpstream:
    """An OpenAI- or Claude-API upstream that answers with headers and the start of a
    stream, then trickles a byte every ``interval`` seconds (or, with ``interval``
    None, sends nothing more), never completing a line."""

    def __init__(self, interval: float | None) -> None:
        self.interval = interval
        self.port = free_port()
        self.open = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            if request.startswith(b"GET"):
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                await writer.drain()
                return
            length = int(request.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n\r\n"
            )
            writer.write(b"6\r\ndata: \r\n")
            await writer.drain()
            while True:
                await asyncio.sleep(self.interval or 3600)
                writer.write(b"1\r\nx\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open -= 1
            writer.close()

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        server = await asyncio.start_server(self.handle, "127.0.0.1", self.port)
        try:
            yield f"http://127.0.0.1:{self.port}"
        finally:
            server.close()


def sse_kinds(text: str) -> list[str]:
    return [line[7:] for line in text.splitlines() if line.startswith("event: ")]


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
@pytest.mark.parametrize("interval", [None, 0.2], ids=["hangs", "trickles"])
async def test_a_stalled_upstream_ends_the_stream(
    tmp_path: Path, kind: str, interval: float | None
) -> None:
    upstream = StallingUpstream(interval)
    async with upstream.serving() as url:
        options: dict[str, Any] = {
            "urls": [url],
            "model": "up",
            "stall_timeout": 1.0,
            "check_interval": 60,
        }
        if kind == "openai":
            options["tokenizer"] = "gguf:bundled:smollm2"
        model = {"id": "up", "backend": kind, "options": options}
        settings = make_settings(tmp_path, models=[model])
        app = create_app(settings)
        async with running(app), raw_client(app) as http:
            body = {**BODY, "model": "up", "stream": True}
            started = asyncio.get_running_loop().time()
            response = await asyncio.wait_for(http.post("/v1/messages", headers=V1, json=body), 30)
            took = asyncio.get_running_loop().time() - started
            backend = app.state.services.catalog.resolve("up").backend
            outstanding = [r.outstanding for r in backend.pool.replicas]
    if response.status_code == 200:  # the stream had begun: the failure is an event
        assert sse_kinds(response.text)[-1] == "error", response.text
    else:  # nothing had been sent yet (passthrough retries first): a plain error
        assert response.status_code == 529, response.text
        assert response.json()["error"]["type"] == "overloaded_error"
    assert "sent nothing for 1 s" in response.text
    assert took < 10
    assert outstanding == [0]  # the replica's slot was given back
