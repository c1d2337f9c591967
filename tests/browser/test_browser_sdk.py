"""The TypeScript SDK in a real headless Chromium, calling Parley from another origin.

The SDK (``tests/node``) is bundled for the browser with esbuild; a page served from
one port calls Parley on another with ``dangerouslyAllowBrowser``, so Chromium itself
enforces CORS: preflights, the headers a page may read, and a refusal when the origin
is not allowed. Parley runs the scripted model (the model is not what is tested).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from parley.app import create_app
from parley.backends.scripted import ScriptedBackend
from tests.support import API_KEY, ServerThread, make_settings

pytestmark = [pytest.mark.live]
NODE_DIR = Path(__file__).resolve().parents[1] / "node"
PAGE = (
    '<!doctype html><meta charset="utf-8"><title>sdk</title>'
    '<script type="module" src="page.js"></script>'
)
LIMITS = {"tier": "t", "tiers": {"t": {"default": {"requests_per_minute": 100}}}}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The page and its bundled script, served on a port of their own."""
    esbuild = NODE_DIR / "node_modules" / ".bin" / "esbuild"
    assert esbuild.exists(), "tests/node has no node_modules: run `make install-test`"
    root = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            str(esbuild),
            "browser_page.mjs",
            "--bundle",
            "--format=esm",
            "--platform=browser",
            f"--outfile={root / 'page.js'}",
            "--log-level=warning",
        ],
        cwd=NODE_DIR,
        check=True,
        timeout=120,
    )
    (root / "index.html").write_text(PAGE)
    handler = functools.partial(_Quiet, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def parley(tmp_path: Path, **server: Any) -> ServerThread:
    settings = make_settings(tmp_path, models=[], server=server, rate_limits=LIMITS)
    return ServerThread(create_app(settings, backends={"scripted": ScriptedBackend()}))


def open_page(site: str, api: str) -> dict[str, Any]:
    chromium = shutil.which("chromium")
    assert chromium, "Chromium is needed: `apt-get install chromium` (make install-test does)"
    query = urlencode({"base": api, "key": API_KEY, "model": "scripted"})
    ran = subprocess.run(
        ["node", "browser_run.mjs"],
        cwd=NODE_DIR,
        env={**os.environ, "CHROMIUM": chromium, "PAGE_URL": f"{site}/index.html?{query}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    found: dict[str, Any] = json.loads(ran.stdout)
    return found


def test_the_sdk_works_from_a_page_on_another_origin(site: str, tmp_path: Path) -> None:
    with parley(tmp_path) as api:
        seen = open_page(site, api.base_url)
    result = seen["result"]
    assert "error" not in result, result
    assert result["text"] == "one two three"
    assert result["streamed"] == "one two three"
    assert result["request_id"].startswith("req_")  # exposed to the page
    assert int(result["remaining"]) < 100
    assert result["counted"] > 0
    assert result["models"] == ["scripted"]
    assert result["refused"]["status"] == 401
    assert "anthropic-dangerous-direct-browser-access" in result["refused"]["message"]


def test_an_origin_not_allowed_is_blocked_by_the_browser(site: str, tmp_path: Path) -> None:
    with parley(tmp_path, browser_origins=["http://somewhere.else"]) as api:
        seen = open_page(site, api.base_url)
    assert "error" in seen["result"]
    assert "Connection error" in seen["result"]["error"]
    assert any("CORS" in line for line in seen["console_errors"]), seen["console_errors"]
