"""``@anthropic-ai/sdk`` (pinned in ``tests/node/package.json``) under Node, against a
real server on the bundled model: create, stream with its helpers, a forced tool call,
count_tokens, models, a batch and files, each parsed by the SDK itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from parley.app import create_app
from parley.config import BUNDLED_MODEL_ID
from tests.support import API_KEY, ServerThread, make_settings

pytestmark = [pytest.mark.live, pytest.mark.slow]
NODE_DIR = Path(__file__).resolve().parents[1] / "node"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    settings = make_settings(Path(tmp_path_factory.mktemp("node")), batches={"poll_interval": 0.05})
    with ServerThread(create_app(settings)) as running:
        yield running


def test_the_typescript_sdk_under_node(server: ServerThread) -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for this test"
    assert (NODE_DIR / "node_modules" / "@anthropic-ai" / "sdk").is_dir(), (
        "tests/node has no node_modules: run `make install-test`"
    )
    env = {
        **os.environ,
        "PARLEY_BASE_URL": server.base_url,
        "PARLEY_API_KEY": API_KEY,
        "PARLEY_MODEL": BUNDLED_MODEL_ID,
    }
    try:
        ran = subprocess.run(
            [node, "sdk_tour.mjs"],
            cwd=NODE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the tour did not finish; its progress: {exc.stderr!r}")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    out = json.loads(ran.stdout)

    create = out["create"]
    assert create["id"].startswith("msg_") and create["type"] == "message"
    assert create["text"] and create["stop_reason"] in ("end_turn", "max_tokens")
    assert create["request_id"].startswith("req_")

    stream = out["stream"]
    assert stream["deltas"] == stream["final_text"] and stream["final_text"]
    assert 0 < stream["output_tokens"] <= 12

    tools = out["tools"]
    assert tools["stop_reason"] == "tool_use" and tools["name"] == "get_weather"
    assert isinstance(tools["input"]["city"], str)

    assert out["count_tokens"] == out["create_input_tokens"]
    assert out["models"] == {"listed": [BUNDLED_MODEL_ID], "retrieved": BUNDLED_MODEL_ID}

    batches = out["batches"]
    assert batches["status"] == "ended"
    assert batches["counts"]["succeeded"] == 2
    assert sorted(r["custom_id"] for r in batches["results"]) == ["first", "second"]
    assert {r["type"] for r in batches["results"]} == {"succeeded"}

    assert out["files"] == {
        "filename": "note.txt",
        "size_bytes": len("hello from node"),
        "listed": True,
        "deleted": "file_deleted",
    }
    assert out["not_found"] == "NotFoundError"
