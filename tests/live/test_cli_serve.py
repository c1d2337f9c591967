"""``parley serve`` as a user runs it: first-start key, requests, graceful SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.live, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(data_dir: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PARLEY_DATA_DIR": str(data_dir)}
    env.pop("PARLEY_CONFIG", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "parley", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    deadline = time.monotonic() + 120
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if "Application startup complete" in line or process.poll() is not None:
            break
    return process, "".join(lines)


def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM, then the rest of the output. uvicorn shuts down gracefully and then
    re-raises the signal, so the exit status is -SIGTERM either way; the log tells."""
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode in (0, -signal.SIGTERM)
    return rest


def ask(port: int, key: str) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{port}/v1/messages",
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        json={
            "model": "smollm2-135m-instruct",
            "max_tokens": 8,
            "messages": [{"role": "user", "content": "Hello!"}],
        },
        timeout=60,
    )


def test_first_start_prints_the_admin_key_once(tmp_path: Path) -> None:
    port = free_port()
    process, output = start(tmp_path, port)
    try:
        match = re.search(r"(sk-parley-admin01-\S+)", output)
        assert match, output
        admin_key = match.group(1)
        me = httpx.get(
            f"http://127.0.0.1:{port}/v1/organizations/me",
            headers={"x-api-key": admin_key, "anthropic-version": "2023-06-01"},
        )
        assert me.status_code == 200 and me.json()["type"] == "organization"
        assert ask(port, "wrong").status_code == 401
        assert not list(tmp_path.glob("*key*")), "no secret is written to the data directory"
    finally:
        assert "Application shutdown complete" in stop(process)
    process, output = start(tmp_path, port)
    try:
        assert "sk-parley-admin01-" not in output
        assert (
            me.json()["id"]
            == httpx.get(
                f"http://127.0.0.1:{port}/v1/organizations/me",
                headers={"x-api-key": admin_key, "anthropic-version": "2023-06-01"},
            ).json()["id"]
        )
    finally:
        stop(process)
