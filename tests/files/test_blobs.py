"""Blob stores: the local directory, and real S3 (s3rver from npm, on 127.0.0.1)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from parley.backends.scripted import ScriptedBackend
from parley.blobs import BlobTooLarge, open_blob_store
from parley.blobs.local import STALE_SECONDS, LocalBlobStore
from tests.files.test_files_api import NOTES, PDF, ask, document, prompt_text
from tests.support import sdk_client

S3RVER = (
    Path(__file__).resolve().parents[2] / ".cache" / "s3rver" / "node_modules" / ".bin" / "s3rver"
)


async def stream(*chunks: bytes, fail_after: int | None = None) -> AsyncIterator[bytes]:
    for i, chunk in enumerate(chunks):
        if fail_after is not None and i == fail_after:
            raise ConnectionResetError("client went away")
        yield chunk


async def test_local_put_is_atomic(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    assert await store.put("a/b", stream(b"12", b"34"), max_bytes=10) == 4
    assert await store.read("a/b") == b"1234"
    with pytest.raises(ConnectionResetError):
        await store.put("a/c", stream(b"12", b"34", fail_after=1), max_bytes=10)
    with pytest.raises(BlobTooLarge):
        await store.put("a/d", stream(b"12345", b"678901"), max_bytes=10)
    assert not (tmp_path / "a" / "c").exists() and not (tmp_path / "a" / "d").exists()
    assert not list((tmp_path / ".incoming").iterdir())
    with pytest.raises(ValueError, match="escapes"):
        await store.put("../outside", stream(b"x"), max_bytes=10)


async def test_local_cleanup_removes_what_a_killed_process_left(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    leftover = tmp_path / ".incoming" / "killed-upload"
    leftover.write_bytes(b"partial")
    fresh = tmp_path / ".incoming" / "in-progress"
    fresh.write_bytes(b"still uploading")
    old = time.time() - STALE_SECONDS - 10
    os.utime(leftover, (old, old))
    assert await store.cleanup() == 1
    assert not leftover.exists() and fresh.exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not S3RVER.exists():
        pytest.skip(f"s3rver is not installed at {S3RVER} (make install puts it there with npm)")
    port = free_port()
    directory = tmp_path_factory.mktemp("s3")
    log = (directory / "s3rver.log").open("w")
    process = subprocess.Popen(
        [
            str(S3RVER),
            "--directory",
            str(directory),
            "--address",
            "127.0.0.1",
            "--port",
            str(port),
            "--configure-bucket",
            "parley",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    try:
        yield (
            f"s3://parley/blobs?endpoint_url=http://127.0.0.1:{port}&region=us-east-1"
            "&access_key_id=S3RVER&secret_access_key=S3RVER"
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


async def test_s3_round_trip_and_failed_upload(s3_url: str, tmp_path: Path) -> None:
    store = open_blob_store(s3_url, tmp_path)
    big = os.urandom(12 * 1024 * 1024)  # above boto3's multipart threshold
    assert await store.put(
        "files/big", stream(big[:6_000_000], big[6_000_000:]), max_bytes=len(big)
    ) == len(big)
    assert await store.read("files/big") == big
    with pytest.raises(ConnectionResetError):
        await store.put("files/broken", stream(b"x" * 100, b"y", fail_after=1), max_bytes=1000)
    with pytest.raises(Exception):  # noqa: B017, PT011 - any "no such key" from boto3
        await store.read("files/broken")
    await store.delete("files/big")
    with pytest.raises(Exception):  # noqa: B017, PT011
        await store.read("files/big")
    assert await store.cleanup() >= 0


async def test_files_api_on_s3(s3_url: str, scripted_app: Any, tmp_path: Path) -> None:
    backend = ScriptedBackend()
    async with scripted_app(backend, files={"blob_url": s3_url}) as app:
        client = sdk_client(app)
        notes = await client.files.upload(file=("notes.txt", NOTES, "text/plain"))
        pdf = await client.files.upload(file=("code.pdf", PDF, "application/pdf"))
        await client.messages.create(
            model="scripted", max_tokens=5, messages=ask(document(notes.id), document(pdf.id))
        )
        await client.files.delete(notes.id)
    text = prompt_text(backend.requests[-1])
    assert "Lighthouses guide ships" in text and "PINEAPPLE-42" in text
    assert not (tmp_path / "blobs" / "files").exists()  # nothing went to the local directory
