"""A client that disconnects halfway through an upload leaves nothing behind."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from parley.app import create_app
from parley.backends.scripted import ScriptedBackend
from tests.support import V1, ServerThread, make_settings

pytestmark = pytest.mark.live


def test_disconnect_mid_upload(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, models=[])
    boundary = "cut-short"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    declared = len(head) + 20 * 1024 * 1024
    with ServerThread(create_app(settings, backends={"scripted": ScriptedBackend()})) as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            request = (
                f"POST /v1/files HTTP/1.1\r\nHost: {host}\r\nx-api-key: {V1['x-api-key']}\r\n"
                f"anthropic-version: 2023-06-01\r\nContent-Length: {declared}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n"
            ).encode()
            sock.sendall(request + head + b"x" * (5 * 1024 * 1024))
            time.sleep(0.5)  # the server is now spooling the part
        time.sleep(1.0)
        listed = httpx.get(f"{server.base_url}/v1/files", headers=V1).json()
    assert listed["data"] == []
    assert not list((tmp_path / "blobs" / ".incoming").iterdir())
    assert not (tmp_path / "blobs" / "files").exists()
