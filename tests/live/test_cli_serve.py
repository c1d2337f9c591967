"""``parley serve`` as a user runs it: first-start key, requests, graceful SIGTERM."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.processes import free_port, serve

pytestmark = [pytest.mark.live, pytest.mark.slow]


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
    server = serve(tmp_path, port)
    output = server.log()
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
        assert "Application shutdown complete" in server.terminate()
    server = serve(tmp_path, port)
    try:
        assert "sk-parley-admin01-" not in server.log()
        assert (
            me.json()["id"]
            == httpx.get(
                f"http://127.0.0.1:{port}/v1/organizations/me",
                headers={"x-api-key": admin_key, "anthropic-version": "2023-06-01"},
            ).json()["id"]
        )
    finally:
        server.terminate()
