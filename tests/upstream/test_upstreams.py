"""Real upstreams on this machine, not mocks: llama-cpp-python's OpenAI-compatible
server and other Parley processes, behind a Parley front door driven by the SDK."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from parley.app import create_app
from parley.backends.common.gguf import resolve_gguf
from parley.config import BUNDLED_MODEL_ID
from tests.live.test_cli_serve import free_port
from tests.support import API_KEY, ServerThread, make_settings, usage_rows

pytestmark = [pytest.mark.live, pytest.mark.slow]


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "upstream exited while starting"
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def llama_server() -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(resolve_gguf("bundled:smollm2")),
            "--port",
            str(port),
            "--n_threads",
            "1",
            "--verbose",
            "False",
            # By default it aborts a running stream whenever another request arrives
            # (health checks included); queue them instead, as a shared upstream should.
            "--interrupt_requests",
            "False",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/v1/models", process)
    return url, process


def parley_server(data_dir: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    env = {
        **os.environ,
        "PARLEY_DATA_DIR": str(data_dir),
        "PARLEY_AUTH__BOOTSTRAP_API_KEY": API_KEY,
    }
    env.pop("PARLEY_CONFIG", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "parley", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/", process)
    return url, process


def stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def front(tmp_path: Path, backend: str, urls: list[str], **options: Any) -> ServerThread:
    model = {
        "id": "up",
        "backend": backend,
        "aliases": ["claude-*"],
        "options": {"urls": urls, "model": BUNDLED_MODEL_ID, "check_interval": 0.5, **options},
    }
    return ServerThread(create_app(make_settings(tmp_path, models=[model])))


def sdk(server: ServerThread, **kwargs: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=API_KEY, base_url=server.base_url, **kwargs)


@pytest.fixture(scope="module")
def llama_pair() -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    servers = [llama_server(), llama_server()]
    yield servers
    stop(*(p for _, p in servers))


def test_openai_upstream_through_parley(tmp_path: Path, llama_pair: Any) -> None:
    with front(tmp_path, "openai", [llama_pair[0][0]], tokenizer="gguf:bundled:smollm2") as server:
        client = sdk(server)
        request: dict[str, Any] = {
            "model": "claude-opus-4-7",
            "messages": [{"role": "user", "content": "Hi!"}],
        }
        message = client.messages.create(max_tokens=16, **request)
        assert message.model == "up" and message.content[0].text  # type: ignore[union-attr]
        counted = client.messages.count_tokens(**request)
        assert counted.input_tokens == message.usage.input_tokens > 0
        with client.messages.stream(max_tokens=16, **request) as stream:
            text = "".join(stream.text_stream)
            assert stream.get_final_message().content[0].text == text  # type: ignore[union-attr]
        greedy = sdk(server, default_headers={"anthropic-version": "2023-06-01"})
        forced = greedy.messages.create(
            max_tokens=100,
            messages=[{"role": "user", "content": "Weather in Rome?"}],
            model="up",
            extra_body={"temperature": 0.0},
            tools=[
                {
                    "name": "get_weather",
                    "input_schema": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                }
            ],
            tool_choice={"type": "tool", "name": "get_weather"},
        )
        use = forced.content[0]
        assert use.type == "tool_use" and isinstance(use.input.get("city"), str)  # type: ignore[union-attr]
        rows = usage_rows(server.base_url, group_by="model")
        assert sum(r["output_tokens"] for r in rows if r["model"] == "up") > 0


def test_thinking_fields_reach_a_server_that_does_not_reason(
    tmp_path: Path, llama_pair: Any
) -> None:
    """llama-cpp-python's server has no reasoning parser and reads neither
    ``chat_template_kwargs`` nor a budget field per request: Parley's thinking fields
    (here llama-server's words) must not break such an upstream, and the answer is
    plain text, as from a model that does not think (the recorded llama-server and
    vLLM transcripts in tests/upstream/test_thinking_dialects.py show the thinking)."""
    options = {
        "tokenizer": "gguf:bundled:smollm2",
        "reasoning": "enable_thinking",
        "thinking_budget": "thinking_budget_tokens",
    }
    with front(tmp_path, "openai", [llama_pair[0][0]], **options) as server:
        client = sdk(server, default_headers={"anthropic-version": "2023-06-01"})
        request: dict[str, Any] = {
            "model": "up",
            "messages": [{"role": "user", "content": "Hi!"}],
            "thinking": {"type": "enabled", "budget_tokens": 1024},
        }
        message = client.messages.create(
            max_tokens=1040, extra_body={"temperature": 0.0}, **request
        )
        assert [b.type for b in message.content] == ["text"]
        assert message.stop_reason == "end_turn"
        assert client.messages.count_tokens(**request).input_tokens == message.usage.input_tokens
        info = client.models.retrieve("up")
        assert info.capabilities is not None and info.capabilities.thinking.supported


def metered_output_tokens(server: ServerThread, model: str, *, expected: int) -> int:
    """The usage report's output tokens for ``model``, once buffered usage has landed."""
    deadline = time.monotonic() + 10
    while True:
        rows = usage_rows(server.base_url, group_by="model")
        total = sum(r["output_tokens"] for r in rows if r["model"] == model)
        if total >= expected or time.monotonic() > deadline:
            return total
        time.sleep(0.2)


def test_openai_replica_failure_before_the_first_byte(tmp_path: Path, llama_pair: Any) -> None:
    dead_port = free_port()  # nothing listens here: a replica that is down
    urls = [f"http://127.0.0.1:{dead_port}", llama_pair[1][0]]
    with front(tmp_path, "openai", urls, tokenizer="gguf:bundled:smollm2") as server:
        client = sdk(server, max_retries=0)
        for _ in range(4):
            message = client.messages.create(
                model="up", max_tokens=4, messages=[{"role": "user", "content": "Hi"}]
            )
            assert message.stop_reason in ("max_tokens", "end_turn")


# Three model processes and sixteen streams: minutes, not seconds, on a busy machine.
@pytest.mark.timeout(900)
def test_claude_api_upstream_and_failover_under_load(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    upstreams = [parley_server(tmp_path / "a"), parley_server(tmp_path / "b")]
    try:
        with front(
            tmp_path / "front",
            "anthropic",
            [u for u, _ in upstreams],
            api_key=API_KEY,
            health_path="/",
        ) as server:
            client = sdk(server, max_retries=0)
            # Passed through as is: the upstream's events, our model id.
            raw = httpx.post(
                f"{server.base_url}/v1/messages",
                headers={"x-api-key": API_KEY, "anthropic-version": "2023-06-01"},
                json={
                    "model": "up",
                    "max_tokens": 8,
                    "stream": True,
                    "messages": [{"role": "user", "content": "Hi"}],
                },
                timeout=60,
            )
            names = [line[7:] for line in raw.text.splitlines() if line.startswith("event: ")]
            assert names[0] == "message_start" and names[-1] == "message_stop"
            events = [
                json.loads(line[6:]) for line in raw.text.splitlines() if line.startswith("data: ")
            ]
            assert events[0]["message"]["model"] == "up"
            raw_output = events[-2]["usage"]["output_tokens"]  # message_delta

            started = []
            greedy = sdk(server, max_retries=0, default_headers={"anthropic-version": "2023-06-01"})

            def long_answer(i: int) -> anthropic.types.Message:
                # Greedy, so every answer runs long rather than stopping early by chance.
                with greedy.messages.stream(
                    model="up",
                    max_tokens=64,  # long enough to be cut, short enough for a busy machine
                    extra_body={"temperature": 0},
                    messages=[
                        {
                            "role": "user",
                            "content": f"Run {i}. Count from 1 to 500, one number per line.",
                        }
                    ],
                ) as stream:
                    for _ in stream.text_stream:
                        if i not in started:
                            started.append(i)
                    return stream.get_final_message()

            with caplog.at_level(logging.WARNING), ThreadPoolExecutor(16) as pool:
                futures = [pool.submit(long_answer, i) for i in range(8)]
                replica_a = server.app.state.services.catalog.resolve("up").backend.pool.replicas[0]
                deadline = time.monotonic() + 120
                # Kill once answers flow and some run on replica a (each replica runs 4 at a
                # time; the rest wait upstream, after the response began, before any block).
                while time.monotonic() < deadline and (
                    len(started) < 4 or replica_a.outstanding == 0
                ):
                    time.sleep(0.05)
                assert replica_a.outstanding > 0, "no stream was running on replica a"
                upstreams[0][1].send_signal(signal.SIGKILL)  # mid-answer, no goodbye
                # Sent before any health check can notice: some reach the dead replica
                # first and must go to the live one before their first byte.
                futures += [pool.submit(long_answer, i) for i in range(8, 16)]
                results = [f.result(timeout=300) for f in futures]
            assert len(results) == 16
            assert all(m.stop_reason in ("max_tokens", "end_turn") for m in results)
            assert all(m.content and m.content[0].text for m in results)  # type: ignore[union-attr]
            assert "resuming on another replica" in caplog.text  # some streams lived on "a"
            after = client.messages.create(
                model="up", max_tokens=4, messages=[{"role": "user", "content": "Hi"}]
            )
            assert after.stop_reason in ("max_tokens", "end_turn")
            # Metered in front, failover or not: every output token the clients saw.
            seen = raw_output + sum(m.usage.output_tokens for m in [*results, after])
            assert metered_output_tokens(server, "up", expected=seen) == seen
    finally:
        stop(*(p for _, p in upstreams))


def test_claude_api_upstream_meters_a_stream_the_client_cut_short(tmp_path: Path) -> None:
    """Passed-through events, client gone after five deltas: the front door records the
    prompt and the output the upstream's tokenizer counts in what the client was sent."""
    url, process = parley_server(tmp_path / "up")
    body: dict[str, Any] = {
        "model": "up",
        "max_tokens": 2000,
        "temperature": 0,
        "messages": [{"role": "user", "content": "Count from 1 to 5000, one number per line."}],
    }
    headers = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
    try:
        options = {"api_key": API_KEY, "health_path": "/"}
        with front(tmp_path / "front", "anthropic", [url], **options) as server:
            said: list[str] = []
            with httpx.stream(
                "POST",
                f"{server.base_url}/v1/messages",
                headers=headers,
                json={**body, "stream": True},
                timeout=60,
            ) as response:
                for line in response.iter_lines():
                    if line.startswith("data: ") and '"text_delta"' in line:
                        said.append(json.loads(line[6:])["delta"]["text"])
                        if len(said) == 5:
                            break
            prompt = httpx.post(
                f"{server.base_url}/v1/messages/count_tokens",
                headers=headers,
                json={k: v for k, v in body.items() if k in ("model", "messages")},
                timeout=60,
            ).json()["input_tokens"]
            assert metered_output_tokens(server, "up", expected=5) >= 5
            rows = usage_rows(server.base_url)
            assert sum(r["uncached_input_tokens"] + r["cache_read_input_tokens"] for r in rows) == (
                prompt
            )
    finally:
        stop(process)
