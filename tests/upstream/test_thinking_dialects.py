"""Thinking through OpenAI-compatible upstreams, each in its own words: what Parley sends
(``enable_thinking``, the budget where the server takes it) and what it makes of the
server's streamed reasoning, from transcripts (``tests/fixtures/transcripts/``; each
says whether it was recorded from a real server or written from its documented format).
The upstream is a replay on a real socket; Parley in front is driven by the SDK."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

from parley.app import create_app
from parley.backends.common.gguf import LlamaModel, resolve_gguf
from tests.fixtures.replay_upstream import Transcript, replay_upstream
from tests.support import API_KEY, ServerThread, make_settings

pytestmark = pytest.mark.live

BUDGET = 1024
DIALECTS = {
    # transcript: (reasoning, thinking_budget)
    "llama_server_thinking": ("enable_thinking", "thinking_budget_tokens"),
    "vllm_thinking": ("enable_thinking", "thinking_token_budget"),
    "sglang_thinking": ("enable_thinking", "thinking_budget"),
}


@contextlib.contextmanager
def parley_before(tmp_path: Path, transcript: Transcript, name: str) -> Iterator[str]:
    reasoning, budget_field = DIALECTS[name]
    with ServerThread(replay_upstream(transcript)) as upstream:
        options = {
            "urls": [upstream.base_url],
            "model": "replayed",
            "tokenizer": "gguf:bundled:smollm2",
            "reasoning": reasoning,
            "thinking_budget": budget_field,
        }
        model = {"id": "thinker", "backend": "openai", "options": options}
        with ServerThread(create_app(make_settings(tmp_path, models=[model]))) as parley:
            yield parley.base_url


def contains(body: dict[str, Any], expected: dict[str, Any]) -> bool:
    """Whether ``body`` has every field of ``expected``, recursively."""
    return all(
        contains(body.get(k) or {}, v) if isinstance(v, dict) else body.get(k) == v
        for k, v in expected.items()
    )


@pytest.fixture(scope="module")
def vocabulary() -> Iterator[LlamaModel]:
    model = LlamaModel(resolve_gguf("bundled:smollm2"), vocab_only=True)
    yield model
    model.close()


@pytest.mark.parametrize("name", sorted(DIALECTS))
@pytest.mark.parametrize("streaming", [False, True])
def test_thinking_in_each_dialect(
    tmp_path: Path, name: str, streaming: bool, vocabulary: LlamaModel
) -> None:
    transcript = Transcript.load(name)
    with parley_before(tmp_path, transcript, name) as base_url:
        client = anthropic.Anthropic(api_key=API_KEY, base_url=base_url, max_retries=0)
        request: dict[str, Any] = {
            "model": "thinker",
            "max_tokens": 2048,
            "thinking": {"type": "enabled", "budget_tokens": BUDGET},
            "messages": [{"role": "user", "content": "What is 2+2?"}],
        }
        if streaming:
            with client.messages.stream(**request) as stream:
                message = stream.get_final_message()
        else:
            message = client.messages.create(**request)
        (sent,) = transcript.received
        assert contains(sent, transcript.request), (sent, transcript.request)
        thinking, answer = message.content
        assert thinking.type == "thinking" and thinking.thinking and thinking.signature
        assert answer.type == "text" and answer.text.strip()
        # No longer than the budget, in the serving model's tokens (where the transcript
        # is the model's own, as llama-server's recording is).
        assert len(vocabulary.tokenize(thinking.thinking, prompt=False)) <= BUDGET

        # The signed block goes back unchanged in the next turn.
        follow_up = [
            *request["messages"],
            {"role": "assistant", "content": [b.model_dump() for b in message.content]},
            {"role": "user", "content": "And 3+3?"},
        ]
        client.messages.create(**(request | {"messages": follow_up}))
        assert len(transcript.received) == 2
