"""Thinking on the llama.cpp backend, with the bundled model given a reasoning model's
chat template (tests/fixtures/templates.py): the 135M model is no reasoner, so what is
checked is the mechanism — blocks, their order in the stream, the budget, the counts,
"don't think" — not what it thinks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from parley.app import create_app
from parley.backends.base import (
    Finished,
    GenerationRequest,
    Reasoning,
    Sampling,
    TextChunk,
    TextPart,
    ThinkingChunk,
    Turn,
)
from parley.backends.llama_cpp.backend import LlamaCppBackend, LlamaCppOptions
from parley.config import BUNDLED_MODEL_ID
from tests.fixtures.templates import THINKING_ALWAYS_OPEN, THINKING_QWEN_STYLE
from tests.support import make_settings, running, sdk_client

pytestmark = pytest.mark.slow

ASK = [{"role": "user", "content": "What is 2+2?"}]
THINKING = {"type": "enabled", "budget_tokens": 1024}


@pytest.fixture(scope="module", params=["qwen-style", "always-open"])
async def reasoner(request: pytest.FixtureRequest, tmp_path_factory: Any) -> AsyncIterator[Any]:
    template = THINKING_QWEN_STYLE if request.param == "qwen-style" else THINKING_ALWAYS_OPEN
    model = {
        "id": BUNDLED_MODEL_ID,
        "options": {"gguf": "bundled:smollm2", "chat_template": template},
    }
    settings = make_settings(tmp_path_factory.mktemp("reasoner"), models=[model])
    async with running(create_app(settings)) as app:
        yield app


def client(app: Any) -> Any:
    return sdk_client(app, default_headers={"anthropic-version": "2023-06-01"})


async def test_thinking_then_an_answer(reasoner: Any) -> None:
    sdk = client(reasoner)
    info = await sdk.models.retrieve(BUNDLED_MODEL_ID)
    assert info.capabilities is not None and info.capabilities.thinking.supported
    message = await sdk.messages.create(
        model=BUNDLED_MODEL_ID,
        max_tokens=1500,
        thinking=THINKING,
        messages=ASK,
        extra_body={"temperature": 0.0},
    )
    kinds = [b.type for b in message.content]
    assert kinds[0] == "thinking" and "text" in kinds[1:]
    thinking = message.content[0]
    assert thinking.thinking.strip() and thinking.signature
    details = message.usage.output_tokens_details
    assert details is not None and 0 < details.thinking_tokens <= 1024
    assert details.thinking_tokens < message.usage.output_tokens
    counted = await sdk.messages.count_tokens(
        model=BUNDLED_MODEL_ID, thinking=THINKING, messages=ASK
    )
    assert counted.input_tokens == message.usage.input_tokens


async def test_streamed_in_the_api_s_order(reasoner: Any) -> None:
    sdk = client(reasoner)
    async with sdk.messages.stream(
        model=BUNDLED_MODEL_ID,
        max_tokens=1500,
        thinking=THINKING,
        messages=ASK,
        extra_body={"temperature": 0.0},
    ) as stream:
        deltas = [e.delta.type async for e in stream if e.type == "content_block_delta"]
        final = await stream.get_final_message()
    first_text = deltas.index("text_delta")
    assert set(deltas[: first_text - 1]) == {"thinking_delta"}
    assert deltas[first_text - 1] == "signature_delta"
    assert final.content[0].type == "thinking"


async def test_disabled_thinking_is_closed_in_the_prompt(reasoner: Any) -> None:
    sdk = client(reasoner)
    message = await sdk.messages.create(
        model=BUNDLED_MODEL_ID, max_tokens=40, messages=ASK, extra_body={"temperature": 0.0}
    )
    assert [b.type for b in message.content] == ["text"]
    assert message.usage.output_tokens_details is None
    thinking = await sdk.messages.count_tokens(
        model=BUNDLED_MODEL_ID, thinking=THINKING, messages=ASK
    )
    # The closed section ("</think>" and blank lines) is in the prompt, the open one not.
    assert message.usage.input_tokens > thinking.input_tokens


async def test_the_budget_closes_the_section_and_the_model_answers(tmp_path: Path) -> None:
    # The API's smallest budget is 1,024; the backend takes any, so a small one shows
    # the engine closing the section for the model in a few seconds.
    backend = LlamaCppBackend(
        "m", LlamaCppOptions(slots=1, ctx_per_slot=1024, chat_template=THINKING_QWEN_STYLE)
    )
    await backend.start()
    try:
        request = GenerationRequest(
            model="m",
            system=None,
            turns=(Turn(role="user", parts=(TextPart("Explain why the sky is blue."),)),),
            max_tokens=64,
            sampling=Sampling(temperature=0),
            reasoning=Reasoning("enabled", budget_tokens=8),
        )
        events = [e async for e in backend.generate(request)]
    finally:
        await backend.aclose()
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert finished.thinking_tokens == 8
    thought = "".join(e.text for e in events if isinstance(e, ThinkingChunk))
    answer = "".join(e.text for e in events if isinstance(e, TextChunk))
    assert thought and answer.strip()
    assert "</think>" not in thought + answer
    last_thought = max(i for i, e in enumerate(events) if isinstance(e, ThinkingChunk))
    first_answer = min(i for i, e in enumerate(events) if isinstance(e, TextChunk))
    assert last_thought < first_answer
