"""Every client a user already has, unchanged, against one real ``parley serve`` process
on the bundled model: ``openai``, ``anthropic``'s ``Anthropic``, ``AnthropicBedrock``,
``AnthropicVertex`` and ``AnthropicFoundry``, and ``@anthropic-ai/sdk`` under Node
(pinned in ``tests/node/package.json``). Each gets an answer with nothing but a base
URL and a key changed, and each raises its own error for a bad key, an unknown model
and a malformed body."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from parley.config import BUNDLED_MODEL_ID
from tests.processes import ParleyProcess, free_port, parley_env, serve
from tests.support import API_KEY

pytestmark = [pytest.mark.live, pytest.mark.slow]
NODE_DIR = Path(__file__).resolve().parents[1] / "node"
WRONG = "sk-parley-api01-wrong" + "0" * 47
USER: list[Any] = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("every-client")
    port = free_port()
    env = parley_env(
        data_dir, PARLEY_AUTH__BOOTSTRAP_API_KEY=API_KEY, PARLEY_BATCHES__POLL_INTERVAL="0.05"
    )
    server: ParleyProcess = serve(data_dir, port, env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()


def anthropic_clients(base_url: str, key: str) -> dict[str, anthropic.Anthropic]:
    """The SDK's four clients, each set up as its README lines say."""
    return {
        "anthropic": anthropic.Anthropic(base_url=base_url, api_key=key, max_retries=0),
        "bedrock": anthropic.AnthropicBedrock(
            base_url=base_url,
            aws_region="us-east-1",
            aws_access_key=key,
            aws_secret_key=key,
            max_retries=0,
        ),
        "vertex": anthropic.AnthropicVertex(
            base_url=f"{base_url}/v1",
            region="local",
            project_id="local",
            access_token=key,
            max_retries=0,
        ),
        "foundry": anthropic.AnthropicFoundry(
            base_url=f"{base_url}/anthropic/", api_key=key, max_retries=0
        ),
    }  # type: ignore[dict-item]


@pytest.mark.parametrize("name", ["anthropic", "bedrock", "vertex", "foundry"])
def test_the_anthropic_sdks_clients(base_url: str, name: str) -> None:
    client = anthropic_clients(base_url, API_KEY)[name]
    message = client.messages.create(model=BUNDLED_MODEL_ID, max_tokens=8, messages=USER)
    assert message.model == BUNDLED_MODEL_ID
    assert "".join(b.text for b in message.content if b.type == "text").strip()
    with client.messages.stream(model=BUNDLED_MODEL_ID, max_tokens=8, messages=USER) as stream:
        assert "".join(stream.text_stream).strip()
        assert stream.get_final_message().usage.output_tokens > 0

    stranger = anthropic_clients(base_url, WRONG)[name]
    with pytest.raises(anthropic.AuthenticationError):
        stranger.messages.create(model=BUNDLED_MODEL_ID, max_tokens=8, messages=USER)
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="no-such-model", max_tokens=8, messages=USER)
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model=BUNDLED_MODEL_ID, max_tokens=-1, messages=USER)


def test_the_openai_sdk(base_url: str) -> None:
    def client(key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0)

    answer = client(API_KEY).chat.completions.create(
        model=BUNDLED_MODEL_ID, messages=USER, max_tokens=8
    )
    assert (answer.choices[0].message.content or "").strip()
    streamed = client(API_KEY).chat.completions.create(
        model=BUNDLED_MODEL_ID, messages=USER, max_tokens=8, stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices).strip()
    errors: list[tuple[type[Exception], Callable[[], Any]]] = [
        (openai.AuthenticationError, lambda: client(WRONG).models.list()),
        (
            openai.NotFoundError,
            lambda: client(API_KEY).chat.completions.create(model="nope", messages=USER),
        ),
        (
            openai.BadRequestError,
            lambda: client(API_KEY).chat.completions.create(model=BUNDLED_MODEL_ID, messages=[]),
        ),
    ]
    for expected, call in errors:
        with pytest.raises(expected):
            call()


def test_the_typescript_sdk_under_node(base_url: str) -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for this test"
    assert (NODE_DIR / "node_modules" / "@anthropic-ai" / "sdk").is_dir(), (
        "tests/node has no node_modules: run `make install-test`"
    )
    env = {
        **os.environ,
        "PARLEY_BASE_URL": base_url,
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
    assert out["errors"] == {
        "bad_key": "AuthenticationError",
        "unknown_model": "NotFoundError",
        "malformed": "BadRequestError",
    }
