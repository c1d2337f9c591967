"""Wire params → the neutral ``GenerationRequest`` (``messages.translate``)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from parley.backends.base import (
    CachePoint,
    GenerationRequest,
    ImagePart,
    Sampling,
    TextPart,
    ToolCallPart,
    ToolMode,
    ToolResultPart,
)
from parley.messages.media import Attachments, Loaded, scan
from parley.messages.translate import to_generation
from parley.wire.requests import MessageCountTokensParams, MessageCreateParams

DEFAULT = Sampling(temperature=0.2, top_p=0.9)


def translate(attachments: Attachments | None = None, **fields: Any) -> GenerationRequest:
    raw = {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    params = MessageCreateParams.model_validate({**raw, **fields})
    return to_generation(
        params, model="m", max_output_tokens=100, default_sampling=DEFAULT, attachments=attachments
    )


def test_consecutive_turns_of_one_role_merge() -> None:
    request = translate(
        messages=[
            {"role": "user", "content": "a"},
            {"role": "user", "content": [{"type": "text", "text": "b"}]},
            {"role": "assistant", "content": "c"},
        ]
    )
    assert [(t.role, t.parts) for t in request.turns] == [
        ("user", (TextPart("a"), TextPart("b"))),
        ("assistant", (TextPart("c"),)),
    ]
    assert request.prefill == "c"


def test_a_system_message_cleared_at_the_next_user_message_is_shown_until_then() -> None:
    """Claude Code 2.1.332's per-turn system messages (beta per-turn-control-2026-07-01)."""
    once = {"role": "system", "content": "once", "clear_at": "next_user_message"}
    kept = {"role": "system", "content": "kept", "output_config": {"effort": "medium"}}
    user = {"role": "user", "content": "q"}
    answer = {"role": "assistant", "content": "a"}
    first = translate(messages=[user, once, kept])
    assert [(t.role, t.parts) for t in first.turns] == [
        ("user", (TextPart("q"),)),
        ("system", (TextPart("once"), TextPart("kept"))),
    ]
    later = translate(messages=[user, once, kept, answer, {"role": "user", "content": "r"}])
    assert [t.role for t in later.turns] == ["user", "system", "assistant", "user"]
    assert later.turns[1].parts == (TextPart("kept"),)


def test_system_blocks_join_and_claude_codes_billing_header_is_dropped() -> None:
    request = translate(
        system=[
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1"},
            {"type": "text", "text": "one", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "two", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        ]
    )
    assert request.system == "one\ntwo"
    assert request.system_cache == ((3, CachePoint("5m")), (7, CachePoint("1h")))


def test_thinking_is_not_shown_to_the_model_but_tool_calls_are() -> None:
    request = translate(
        messages=[
            {"role": "user", "content": "q"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "is_error": True,
                        "content": [{"type": "text", "text": "boom"}],
                    }
                ],
            },
        ]
    )
    assert request.turns[1].parts == (ToolCallPart("toolu_1", "f", {"a": 1}),)
    assert request.turns[2].parts == (ToolResultPart("toolu_1", (TextPart("boom"),), True),)


def test_images_are_what_the_loader_decoded() -> None:
    data = base64.b64encode(b"\x89PNG").decode()
    source = {"type": "base64", "media_type": "image/png", "data": data}
    params = MessageCreateParams.model_validate(
        {
            "model": "m",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": [{"type": "image", "source": source}]}],
        }
    )
    media = scan(params.messages)
    key = media.refs[0].key
    assert key is not None and key.startswith("image:")
    attachments = Attachments(media, {key: Loaded("image/png", data=b"\x89PNG")})
    request = to_generation(
        params, model="m", max_output_tokens=100, default_sampling=DEFAULT, attachments=attachments
    )
    assert request.turns[0].parts == (ImagePart("image/png", b"\x89PNG"),)


def test_documents_become_tagged_text_and_pdfs_are_paged() -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {
                    "type": "document",
                    "title": "Notes",
                    "context": "from the wiki",
                    "source": {"type": "text", "media_type": "text/plain", "data": "hello"},
                },
                {"type": "document", "source": {"type": "file", "file_id": "file_1"}},
                {
                    "type": "search_result",
                    "source": "https://x.test",
                    "title": "X",
                    "content": [{"type": "text", "text": "found"}],
                },
            ],
        }
    ]
    params = MessageCreateParams.model_validate(
        {"model": "m", "max_tokens": 5, "messages": messages}
    )
    pdf = Loaded("application/pdf", pages=("page one", "page two"))
    attachments = Attachments(scan(params.messages), {"file:file_1": pdf})
    request = to_generation(
        params, model="m", max_output_tokens=100, default_sampling=DEFAULT, attachments=attachments
    )
    texts = [p.text for p in request.turns[0].parts if isinstance(p, TextPart)]
    assert (
        texts[0]
        == "<document>\n<title>Notes</title>\n<context>from the wiki</context>\nhello\n</document>"
    )
    pages = '<page number="1">\npage one\n</page>\n<page number="2">\npage two\n</page>'
    assert texts[1] == f"<document>\n{pages}\n</document>"
    assert texts[2] == '<search_result source="https://x.test" title="X">\nfound\n</search_result>'


def test_sampling_comes_from_the_request_or_the_models_defaults() -> None:
    assert translate().sampling == DEFAULT
    assert translate(temperature=0.0).sampling == Sampling(temperature=0.0)
    assert translate(top_k=5).sampling == Sampling(temperature=1.0, top_k=5)


def test_max_tokens_is_clamped_to_the_model() -> None:
    assert translate(max_tokens=10).max_tokens == 10
    assert translate(max_tokens=5000).max_tokens == 100


@pytest.mark.parametrize(
    ("choice", "mode"),
    [
        (None, ToolMode("auto")),
        ({"type": "auto", "disable_parallel_tool_use": True}, ToolMode("auto", single=True)),
        ({"type": "any"}, ToolMode("required")),
        ({"type": "tool", "name": "f"}, ToolMode("required", only="f")),
        ({"type": "none"}, ToolMode("none")),
    ],
)
def test_tool_choice(choice: Any, mode: ToolMode) -> None:
    tools = [{"name": "f", "description": "F.", "input_schema": {"type": "object"}}]
    request = translate(tools=tools, **({"tool_choice": choice} if choice else {}))
    assert request.tool_mode == mode
    assert request.tools[0].name == "f" and request.tools[0].input_schema == {"type": "object"}


def test_no_tools_is_no_tool_mode() -> None:
    assert translate().tool_mode == ToolMode("none")


def test_cache_control_marks_the_block_and_top_level_marks_the_last() -> None:
    marked = translate(
        messages=[
            {
                "role": "user",
                "content": [{"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}}],
            }
        ]
    )
    assert marked.turns[0].parts == (TextPart("a"), CachePoint("5m"))
    automatic = translate(cache_control={"type": "ephemeral", "ttl": "1h"})
    assert automatic.turns[-1].parts == (TextPart("hi"), CachePoint("1h"))


def test_output_format_and_legacy_output_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    current = translate(output_config={"format": {"type": "json_schema", "schema": schema}})
    legacy = translate(output_format={"type": "json_schema", "schema": schema})
    assert current.json_schema == legacy.json_schema == schema


def test_count_tokens_params_have_no_generation_fields() -> None:
    params = MessageCountTokensParams.model_validate(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "system": "s"}
    )
    request = to_generation(params, model="m", max_output_tokens=100, default_sampling=DEFAULT)
    assert request.max_tokens == 0 and request.stop_sequences == () and request.system == "s"
