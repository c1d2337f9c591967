"""A real ``parley serve`` on the bundled model, hurt on purpose: its PostgreSQL
restarted under load, SIGTERM with streams in flight, SIGKILL in the middle of
streams, an upload and a batch. What was acknowledged is kept exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.fixtures.servers import PrivatePostgres, postgres_missing
from tests.processes import free_port, parley_env, serve
from tests.support import API_KEY

pytestmark = [pytest.mark.live, pytest.mark.slow]
HEADERS = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
MODEL = "smollm2-135m-instruct"
# At temperature 0 the bundled model writes this until max_tokens (2,000 measured).
LONG = "Write a very long story about a dragon, at least 3000 words."


def ask(
    base: str, *, max_tokens: int = 4, stream: bool = False, timeout: float = 60
) -> httpx.Response:
    body = {
        "model": MODEL,
        "max_tokens": max_tokens,
        "stream": stream,
        "temperature": 0,
        "messages": [{"role": "user", "content": LONG}],
    }
    return httpx.post(f"{base}/v1/messages", headers=HEADERS, json=body, timeout=timeout)


def envelope_5xx(response: httpx.Response) -> bool:
    if response.status_code < 500:
        return False
    error = response.json()
    return error["type"] == "error" and error["request_id"] == response.headers["request-id"]


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    reason = postgres_missing()
    if reason:
        pytest.skip(reason)
    server = PrivatePostgres()
    yield server
    server.close()


@pytest.mark.postgres
def test_postgres_restarted_under_load(tmp_path: Path, postgres: PrivatePostgres) -> None:
    env = parley_env(
        tmp_path,
        PARLEY_DATABASE__URL=postgres.url,
        PARLEY_AUTH__BOOTSTRAP_API_KEY=API_KEY,
        PARLEY_USAGE__FLUSH_INTERVAL="0.2",
        # Every request reads its key from the database, so the outage is felt at once.
        PARLEY_AUTH__KEY_CACHE_TTL="0",
    )
    port = free_port()
    server = serve(tmp_path, port, env)
    base = f"http://127.0.0.1:{port}"
    answers: list[httpx.Response] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            answers.append(ask(base))

    def answered(status_ok: bool, since: int = 0) -> Callable[[], bool]:
        return lambda: any((r.status_code == 200) is status_ok for r in answers[since:])

    try:
        with ThreadPoolExecutor(4) as pool:
            workers = [pool.submit(load) for _ in range(4)]
            # Phases follow what the load sees, not the clock, so a busy machine only
            # makes them longer: served, then refused while down, then served again.
            wait_until(answered(True), "a first answer")
            postgres.stop()
            wait_until(answered(False), "a refusal while PostgreSQL is down")
            postgres.start()
            wait_until(answered(True, since=len(answers)), "an answer once it is back")
            stop.set()
            for worker in workers:
                worker.result()
        ok = [r for r in answers if r.status_code == 200]
        failed = [r for r in answers if r.status_code != 200]
        assert all(envelope_5xx(r) for r in failed), [(r.status_code, r.text) for r in failed]
        assert {r.json()["error"]["type"] for r in failed} == {"overloaded_error"}
        assert all(int(r.headers["retry-after"]) >= 1 for r in failed)
        assert answers[-1].status_code == 200  # served again once PostgreSQL is back
        deadline = time.monotonic() + 20
        counted = 0
        while time.monotonic() < deadline:  # flushed every 0.2 s, retried after the outage
            counted = asyncio.run(_sum_requests(postgres.url))
            if counted >= len(ok):
                break
            time.sleep(0.5)
        # Every acknowledged answer metered exactly once; refused ones not at all.
        assert counted == len(ok), (counted, len(ok), len(failed))
    finally:
        server.terminate()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout:g} s"
        time.sleep(0.05)


async def _sum_requests(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return int(await conn.fetchval("SELECT COALESCE(SUM(requests), 0) FROM usage_records"))
    finally:
        await conn.close()


def sse_kinds(response: httpx.Response) -> list[str]:
    return [line[7:] for line in response.iter_lines() if line.startswith("event: ")]


def test_sigterm_lets_streams_finish_or_end_with_an_error_event(tmp_path: Path) -> None:
    env = parley_env(
        tmp_path,
        PARLEY_AUTH__BOOTSTRAP_API_KEY=API_KEY,
        PARLEY_SERVER__SHUTDOWN_DRAIN_SECONDS="3",
        PARLEY_USAGE__FLUSH_INTERVAL="3600",  # what reaches the database is the shutdown flush
    )
    port = free_port()
    server = serve(tmp_path, port, env)
    base = f"http://127.0.0.1:{port}"
    endings: list[list[str]] = []
    failures: list[str] = []  # why a stream did not start, reported instead of a bare timeout
    opened = threading.Barrier(4)

    def stream(max_tokens: int) -> None:
        body = {
            "model": MODEL,
            "max_tokens": max_tokens,
            "stream": True,
            "temperature": 0,
            "messages": [{"role": "user", "content": LONG}],
        }
        try:
            with httpx.stream(
                "POST", f"{base}/v1/messages", headers=HEADERS, json=body, timeout=120
            ) as r:
                if r.status_code != 200:
                    failures.append(f"{r.status_code}: {r.read().decode()}")
                    opened.abort()
                    return
                kinds = []
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        kinds.append(line[7:])
                        if kinds.count("content_block_delta") == 1:
                            opened.wait(timeout=120)
                endings.append(kinds)
        except Exception as exc:
            failures.append(repr(exc))
            opened.abort()
            raise

    with ThreadPoolExecutor(3) as pool:
        jobs = [pool.submit(stream, n) for n in (2000, 2000, 2000)]
        try:
            opened.wait(timeout=120)  # all three are generating
        except threading.BrokenBarrierError:
            server.kill()  # ends the streams still open, so the pool can finish
            pytest.fail(f"the three streams did not all start: {failures}\n{server.log()[-4000:]}")
        began = time.monotonic()
        log = server.terminate(timeout=30)
        took = time.monotonic() - began
        for job in jobs:
            job.result()
    assert took < 3 + 5 + 5, took  # the drain, uvicorn's margin, and slack for a busy machine
    assert "Application shutdown complete" in log
    for seen in endings:
        kinds = [k for k in seen if k != "ping"]  # pings come while a stream waits its turn
        assert kinds[0] == "message_start", seen
        assert kinds[-1] in ("message_stop", "error"), seen
    assert any(k[-1] == "error" for k in endings), "2,000 tokens cannot finish in 3 s here"
    # All three metered though cut short, by the flush at shutdown.
    rows = _sqlite(tmp_path, "SELECT SUM(requests), SUM(output_tokens) FROM usage_records")
    assert rows[0][0] == 3 and rows[0][1] > 0


def _sqlite(data_dir: Path, query: str) -> list[Any]:
    engine = create_engine(f"sqlite:///{data_dir / 'parley.db'}")
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(query)))
    finally:
        engine.dispose()


def test_sigkill_mid_streams_upload_and_batch(tmp_path: Path) -> None:
    env = parley_env(
        tmp_path,
        PARLEY_AUTH__BOOTSTRAP_API_KEY=API_KEY,
        PARLEY_BATCHES=json.dumps({"lease_seconds": 3, "poll_interval": 0.1}),
        PARLEY_USAGE__FLUSH_INTERVAL="0.2",
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(tmp_path, port, env)
    requests = [
        {
            "custom_id": f"r{i}",
            "params": {
                "model": MODEL,
                "max_tokens": 64,
                "messages": [{"role": "user", "content": f"Say {i}."}],
            },
        }
        for i in range(24)
    ]
    created = httpx.post(
        f"{base}/v1/messages/batches", headers=HEADERS, json={"requests": requests}, timeout=60
    )
    assert created.status_code == 200
    batch_id = created.json()["id"]
    upload_started = threading.Event()

    def slow_upload() -> None:
        boundary = "kill-boundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()

        def body() -> Iterator[bytes]:
            yield head
            upload_started.set()
            for _ in range(200):
                yield b"x" * 65536
                time.sleep(0.05)

        headers = {**HEADERS, "content-type": f"multipart/form-data; boundary={boundary}"}
        with contextlib.suppress(httpx.HTTPError):  # the server dies under it, as intended
            httpx.post(f"{base}/v1/files", headers=headers, content=body(), timeout=60)

    def stream(begun: threading.Event) -> None:
        body = {"model": MODEL, "max_tokens": 2000, "stream": True, "temperature": 0}
        body["messages"] = [{"role": "user", "content": LONG}]
        url = f"{base}/v1/messages"
        with (
            contextlib.suppress(httpx.HTTPError),  # the server dies under it, as intended
            httpx.stream("POST", url, headers=HEADERS, json=body, timeout=60) as response,
        ):
            for line in response.iter_lines():
                if line == "event: content_block_delta":
                    begun.set()

    with ThreadPoolExecutor(3) as pool:
        jobs = [pool.submit(slow_upload)]
        upload_started.wait(timeout=60)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            got = httpx.get(f"{base}/v1/messages/batches/{batch_id}", headers=HEADERS, timeout=30)
            if int(got.headers["parley-requests-completed"]) >= 3:
                break
            time.sleep(0.2)
        # Two streams then: interactive work pauses the batch lane, so the kill finds
        # them generating and the batch's remaining requests claimed but unfinished.
        begun = [threading.Event(), threading.Event()]
        jobs += [pool.submit(stream, event) for event in begun]
        assert all(event.wait(timeout=120) for event in begun), server.log()[-4000:]
        time.sleep(0.5)  # let the upload write some of its file
        server.kill()
        for job in jobs:
            job.result()
    # The upload died while its body was still arriving (spooled in an anonymous
    # temporary file, gone with the process). One killed while writing its blob leaves
    # a temporary file named for its process, like this one, which the restart removes.
    incoming = tmp_path / "blobs" / ".incoming"
    (incoming / f"{server.process.pid}-killed-while-writing").write_bytes(b"partial")
    server = serve(tmp_path, port, env)
    try:
        assert not list(incoming.iterdir()), "cleaned at start"
        assert not (tmp_path / "blobs" / "files").exists() or not list(
            (tmp_path / "blobs" / "files").iterdir()
        )
        assert httpx.get(f"{base}/v1/files", headers=HEADERS).json()["data"] == []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            state = httpx.get(f"{base}/v1/messages/batches/{batch_id}", headers=HEADERS).json()
            if state["processing_status"] == "ended":
                break
            time.sleep(0.3)
        results = httpx.get(f"{base}/v1/messages/batches/{batch_id}/results", headers=HEADERS).text
        ids = sorted(json.loads(line)["custom_id"] for line in results.splitlines())
        assert ids == sorted(r["custom_id"] for r in requests)  # every request exactly once
        assert state["request_counts"]["succeeded"] == 24
        # Never twice: a batch request is billed once, when it succeeds (one finished
        # just before the kill may lose its last flush, 0.2 s); the streams in flight
        # died with the process, unmetered.
        query = "SELECT is_batch, SUM(requests) FROM usage_records GROUP BY is_batch"
        metered = {bool(b): int(n) for b, n in _sqlite(tmp_path, query)}
        assert 18 <= metered.get(True, 0) <= 24, metered
        assert metered.get(False, 0) == 0, metered
    finally:
        server.terminate()
