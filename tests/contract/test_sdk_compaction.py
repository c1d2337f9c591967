"""Compaction through the SDK's beta messages (strict parsing), on a scripted model that
summarizes when asked to: the ``compact_20260112`` edit and the ``compaction`` parameter,
streaming and not, the block sent back in a later request, signatures, and errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import pytest

from parley.app import create_app
from parley.backends.base import (
    BackendEvent,
    Capabilities,
    Finished,
    GenerationRequest,
    TextChunk,
    TextPart,
)
from parley.backends.scripted import ScriptedBackend, echo
from parley.messages.compaction import DEFAULT_INSTRUCTIONS
from tests.support import make_settings, running, sdk_client

MODEL = "summarizer"
BETAS = ["compact-2026-01-12"]
SUMMARY = "The user is planning a trip to Lisbon in May."


def last_user_text(request: GenerationRequest) -> str:
    turn = next(t for t in reversed(request.turns) if t.role == "user")
    return " ".join(p.text for p in turn.parts if isinstance(p, TextPart))


def summarize_when_asked(request: GenerationRequest) -> list[BackendEvent]:
    """Writes a summary in tags when the last user turn asks for one; else echoes."""
    asked = last_user_text(request)
    if asked.endswith(DEFAULT_INSTRUCTIONS) or asked.endswith("Summarize in one line."):
        return [TextChunk(f"<summary>{SUMMARY}</summary>"), Finished("end_turn", 12)]
    return echo(request)


@pytest.fixture
async def served(tmp_path: Path) -> Any:
    settings = make_settings(tmp_path, models=[{"id": MODEL, "backend": "scripted"}])
    caps = Capabilities(context_window=4096, max_output_tokens=1024)
    backend = ScriptedBackend(summarize_when_asked, capabilities=caps)
    async with running(create_app(settings, backends={MODEL: backend})) as app:
        yield app, backend


CONVERSATION: list[dict[str, Any]] = [
    {"role": "user", "content": "I want to visit Lisbon in May. " + "Tell me more. " * 20},
    {"role": "assistant", "content": "Lisbon in May is warm and bright."},
    {"role": "user", "content": "what should I pack"},
]


def compact(trigger: int = 50, **extra: Any) -> dict[str, Any]:
    edit = {"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": trigger}}
    return {"edits": [edit | extra]}


async def test_past_the_trigger_the_answer_opens_with_the_summary(served: Any) -> None:
    app, backend = served
    sdk = sdk_client(app)
    message = await sdk.beta.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=CONVERSATION,
        context_management=compact(),
        betas=BETAS,
    )
    assert [b.type for b in message.content] == ["compaction", "text"]
    block = message.content[0]
    assert block.type == "compaction" and block.content == SUMMARY and block.signature
    assert message.stop_reason == "end_turn"

    summary_request, reply_request = backend.requests
    assert last_user_text(summary_request).endswith(DEFAULT_INSTRUCTIONS)
    assert summary_request.turns[0].parts[0] == TextPart(CONVERSATION[0]["content"])
    # The reply is written from the summary alone.
    assert [t.role for t in reply_request.turns] == ["user"]
    assert SUMMARY in last_user_text(reply_request)

    usage = message.usage
    assert usage.iterations is not None
    compaction, answer = usage.iterations
    assert compaction.type == "compaction" and answer.type == "message"
    assert compaction.output_tokens == 12
    assert compaction.input_tokens > usage.input_tokens  # the whole conversation, summarized
    assert (answer.input_tokens, answer.output_tokens) == (usage.input_tokens, usage.output_tokens)


async def test_streamed_the_block_comes_whole_first(served: Any) -> None:
    app, _ = served
    sdk = sdk_client(app)
    async with sdk.beta.messages.stream(
        model=MODEL,
        max_tokens=100,
        messages=CONVERSATION,
        context_management=compact(),
        betas=BETAS,
    ) as stream:
        events = [event async for event in stream]
        final = await stream.get_final_message()
    starts = [e for e in events if e.type == "content_block_start"]
    assert starts[0].content_block.type == "compaction"
    assert starts[0].content_block.content is None  # the summary comes in its one delta
    deltas = [e for e in events if e.type == "content_block_delta" and e.index == 0]
    assert [d.delta.type for d in deltas] == ["compaction_delta"]
    assert final.content[0].type == "compaction" and final.content[0].content == SUMMARY
    assert final.content[0].signature == starts[0].content_block.signature
    assert final.usage.iterations is not None and len(final.usage.iterations) == 2


async def test_pause_after_compaction_returns_the_block_alone(served: Any) -> None:
    app, backend = served
    sdk = sdk_client(app)
    message = await sdk.beta.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=CONVERSATION,
        context_management=compact(pause_after_compaction=True),
        betas=BETAS,
    )
    assert [b.type for b in message.content] == ["compaction"]
    assert message.stop_reason == "compaction"
    assert len(backend.requests) == 1
    assert message.usage.iterations is not None
    assert [i.type for i in message.usage.iterations] == ["compaction"]
    # A compaction's tokens are not in the top-level usage (the API's rule).
    assert (message.usage.input_tokens, message.usage.output_tokens) == (0, 0)


async def test_the_compaction_parameter_only_summarizes(served: Any) -> None:
    app, backend = served
    sdk = sdk_client(app)
    async with sdk.beta.messages.stream(
        model=MODEL,
        max_tokens=100,
        messages=CONVERSATION,
        compaction={"type": "summarize", "instructions": "Summarize in one line."},
        betas=["compact-2026-09-04"],
    ) as stream:
        final = await stream.get_final_message()
    assert [b.type for b in final.content] == ["compaction"]
    assert final.stop_reason == "compaction"
    assert last_user_text(backend.requests[0]).endswith("Summarize in one line.")


async def test_below_the_trigger_nothing_is_compacted(served: Any) -> None:
    app, backend = served
    sdk = sdk_client(app)
    message = await sdk.beta.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=CONVERSATION,
        context_management=compact(trigger=5000),
        betas=BETAS,
    )
    assert [b.type for b in message.content] == ["text"]
    assert message.usage.iterations is None
    assert len(backend.requests) == 1


async def test_a_compacted_conversation_sent_back_goes_on_from_the_summary(served: Any) -> None:
    app, backend = served
    sdk = sdk_client(app)
    first = await sdk.beta.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=CONVERSATION,
        context_management=compact(),
        betas=BETAS,
    )
    assert first.content[0].type == "compaction"
    history = [
        *CONVERSATION,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": "and shoes"},
    ]
    second = await sdk.beta.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=history,
        context_management=compact(trigger=200),
        betas=BETAS,
    )
    assert [b.type for b in second.content] == ["text"]  # small again: no new compaction
    reply = backend.requests[-1]
    assert [t.role for t in reply.turns] == ["user", "assistant", "user"]
    assert SUMMARY in "".join(p.text for p in reply.turns[0].parts if isinstance(p, TextPart))
    counted = await sdk.beta.messages.count_tokens(
        model=MODEL, messages=history, context_management=compact(trigger=200), betas=BETAS
    )
    assert counted.input_tokens == second.usage.input_tokens


async def test_an_edited_summary_is_refused(served: Any) -> None:
    app, _ = served
    sdk = sdk_client(app)
    first = await sdk.beta.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=CONVERSATION,
        context_management=compact(),
        betas=BETAS,
    )
    block = first.content[0].model_dump(exclude_none=True)
    block["content"] = "The user is planning a trip to Porto."
    history = [*CONVERSATION, {"role": "assistant", "content": [block]}]
    history.append({"role": "user", "content": "and shoes"})
    with pytest.raises(anthropic.BadRequestError) as info:
        await sdk.beta.messages.create(model=MODEL, max_tokens=10, messages=history, betas=BETAS)
    assert info.value.body["error"]["message"] == (
        "messages.3.content.0: Invalid `signature` in `compaction` block"
    )
    block["signature"] = "sïgné"  # not even ASCII: the same 400, never a 500
    with pytest.raises(anthropic.BadRequestError) as info:
        await sdk.beta.messages.create(model=MODEL, max_tokens=10, messages=history, betas=BETAS)
    assert "Invalid `signature` in `compaction` block" in info.value.body["error"]["message"]


async def test_a_failed_compaction_is_a_no_op(served: Any) -> None:
    app, backend = served
    sdk = sdk_client(app)
    failed = {"type": "compaction", "content": None}
    history = [
        *CONVERSATION,
        {"role": "assistant", "content": [failed, {"type": "text", "text": "Pack light."}]},
        {"role": "user", "content": "and shoes"},
    ]
    await sdk.beta.messages.create(model=MODEL, max_tokens=10, messages=history, betas=BETAS)
    roles = [t.role for t in backend.requests[-1].turns]
    assert roles == ["user", "assistant", "user", "assistant", "user"]


async def test_an_empty_summary_keeps_the_whole_conversation(tmp_path: Path) -> None:
    def silent_summarizer(request: GenerationRequest) -> list[BackendEvent]:
        if last_user_text(request).endswith(DEFAULT_INSTRUCTIONS):
            return [Finished("end_turn", 0)]
        return echo(request)

    settings = make_settings(tmp_path, models=[{"id": MODEL, "backend": "scripted"}])
    backend = ScriptedBackend(silent_summarizer)
    async with running(create_app(settings, backends={MODEL: backend})) as app:
        message = await sdk_client(app).beta.messages.create(
            model=MODEL,
            max_tokens=100,
            messages=CONVERSATION,
            context_management=compact(),
            betas=BETAS,
        )
    block = message.content[0]
    assert block.type == "compaction" and block.content is None and block.signature is None
    assert message.content[1].type == "text"
    assert len(backend.requests[-1].turns) == 3


@pytest.mark.parametrize(
    ("body", "betas", "message"),
    [
        (
            {"context_management": compact()},
            ["context-management-2025-06-27"],
            "context_management.edits.0: `compact_20260112` edits need the "
            "`anthropic-beta: compact-2026-01-12` header",
        ),
        (
            {"compaction": {"type": "summarize"}, "context_management": compact()},
            BETAS,
            "compaction: cannot be combined with `context_management`",
        ),
        ({"compaction": {"type": "summarize"}}, [], "compaction: Extra inputs are not permitted"),
    ],
)
async def test_refused_with_the_reason(
    served: Any, body: dict[str, Any], betas: list[str], message: str
) -> None:
    app, _ = served
    sdk = sdk_client(app)
    with pytest.raises(anthropic.BadRequestError) as info:
        await sdk.beta.messages.create(
            model=MODEL, max_tokens=10, messages=CONVERSATION, betas=betas, **body
        )
    assert info.value.body["error"]["message"] == message


async def test_no_room_for_the_summary_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, models=[{"id": MODEL, "backend": "scripted"}])
    caps = Capabilities(context_window=120, max_output_tokens=100)
    backend = ScriptedBackend(summarize_when_asked, capabilities=caps)
    async with running(create_app(settings, backends={MODEL: backend})) as app:
        with pytest.raises(anthropic.BadRequestError) as info:
            await sdk_client(app).beta.messages.create(
                model=MODEL,
                max_tokens=10,
                messages=CONVERSATION,
                context_management=compact(),
                betas=BETAS,
            )
    assert info.value.body["error"]["message"].startswith(
        "context_management.edits.0: the conversation ("
    )
    assert "compact earlier (a lower trigger)" in info.value.body["error"]["message"]
    assert backend.requests == []
