"""The Messages API's rules beyond the schema (``messages.rules``), one case at a time.

Each case is a body that passes pydantic validation and the 400 message the rules must
give it (None: accepted), so every rule is shown both to refuse and to let through.
"""

from __future__ import annotations

from typing import Any

import pytest

from parley.backends.base import Capabilities
from parley.errors import InvalidRequestError
from parley.messages.media import scan
from parley.messages.rules import RequestTraits, check_request
from parley.protocol import ApiVersion
from parley.wire.requests import MessageCountTokensParams, MessageCreateParams

TEXT_ONLY = Capabilities(context_window=8192, max_output_tokens=4096)
VISION = Capabilities(context_window=8192, max_output_tokens=4096, images=True)
NO_STRUCTURED = Capabilities(context_window=8192, max_output_tokens=4096, structured_output=False)
USER = {"role": "user", "content": "hi"}
TOOL = {"name": "f", "input_schema": {"type": "object"}}
PNG = {"type": "base64", "media_type": "image/png", "data": "aGk="}


def body(**changes: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 16, "messages": [USER], **changes}


def traits(
    version: ApiVersion = ApiVersion.V2023_06_01,
    betas: frozenset[str] = frozenset(),
    capabilities: Capabilities = TEXT_ONLY,
) -> RequestTraits:
    return RequestTraits(version=version, betas=betas, capabilities=capabilities, model="m")


def problem(
    raw: dict[str, Any], given: RequestTraits | None = None, *, count: bool = False
) -> str | None:
    model = MessageCountTokensParams if count else MessageCreateParams
    params = model.model_validate(raw)
    try:
        check_request(params, given or traits(), scan(params.messages))
    except InvalidRequestError as exc:
        return exc.message
    return None


def assistant(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


def user(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


USE = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}

CASES: list[tuple[str, dict[str, Any], str | None]] = [
    ("plain", body(), None),
    ("empty messages", body(messages=[]), "messages: List should have at least 1 item"),
    ("empty content", body(messages=[{"role": "user", "content": []}]), "messages.0: all messages"),
    ("empty final prefill", body(messages=[USER, assistant()]), None),
    (
        "whitespace text",
        body(messages=[{"role": "user", "content": " "}]),
        "messages: text content",
    ),
    (
        "system message first",
        body(messages=[{"role": "system", "content": "x"}, USER]),
        "messages.0: a system message must come immediately after a user message",
    ),
    (
        # Claude Code 2.1.332's per-turn settings (beta per-turn-control-2026-07-01)
        "system message with output_config and clear_at",
        body(
            messages=[
                USER,
                {
                    "role": "system",
                    "content": "x",
                    "output_config": {"effort": "medium"},
                    "clear_at": "next_user_message",
                },
            ]
        ),
        None,
    ),
    (
        "output_config on a user message",
        body(messages=[{**USER, "output_config": {"effort": "low"}}]),
        'messages.0.output_config: only permitted on `role: "system"` messages',
    ),
    (
        "clear_at on an assistant message",
        body(messages=[USER, {**assistant(), "clear_at": "never"}]),
        'messages.1.clear_at: only permitted on `role: "system"` messages',
    ),
    (
        "tool_use without result",
        body(messages=[USER, assistant(USE), {"role": "user", "content": "next"}]),
        "messages.1: `tool_use` ids were found without `tool_result` blocks",
    ),
    (
        "orphan tool_result",
        body(messages=[user(RESULT)]),
        "messages.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_1",
    ),
    ("paired", body(messages=[USER, assistant(USE), user(RESULT)]), None),
    (
        "tool_result after text",
        body(messages=[USER, assistant(USE), user({"type": "text", "text": "a"}, RESULT)]),
        "messages.2.content.1: `tool_result` blocks must come first",
    ),
    (
        "prefill trailing space",
        body(messages=[USER, {"role": "assistant", "content": "so "}]),
        "messages: final assistant content cannot end with trailing whitespace",
    ),
    (
        "thinking in a user turn",
        body(messages=[user({"type": "thinking", "thinking": "t", "signature": "s"})]),
        "messages.0.content.0: `thinking` blocks are not allowed in user messages",
    ),
    (
        "image on a text-only model",
        body(messages=[user({"type": "image", "source": PNG})]),
        "messages.0.content.0: m is a text-only model and cannot read images",
    ),
    (
        "image inside a tool result",
        body(
            messages=[
                USER,
                assistant(USE),
                user(
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "image", "source": PNG}],
                    }
                ),
            ]
        ),
        "messages.2.content.0.tool_result.content.0: m is a text-only model",
    ),
    (
        "document by URL",
        body(
            messages=[
                user(
                    {"type": "document", "source": {"type": "url", "url": "https://x.test/a.pdf"}},
                    {"type": "text", "text": "?"},
                )
            ]
        ),
        "messages.0.content.0.document.source: Parley does not fetch URLs",
    ),
    (
        "citations on some documents",
        body(
            messages=[
                user(
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "a"},
                        "citations": {"enabled": True},
                    },
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "b"},
                    },
                    {"type": "text", "text": "?"},
                )
            ]
        ),
        "citations must be enabled on all or none of the documents",
    ),
    ("duplicate tools", body(tools=[TOOL, TOOL]), "tools: Tool names must be unique."),
    (
        "server tool",
        body(tools=[{"type": "web_search_20250305", "name": "web_search"}]),
        "tools.0: tool type `web_search_20250305` is not supported by Parley",
    ),
    (
        "client tools are served",
        body(
            tools=[
                {"type": "bash_20250124", "name": "bash"},
                {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
                {"type": "memory_20250818", "name": "memory"},
            ],
            tool_choice={"type": "tool", "name": "memory"},
        ),
        None,
    ),
    (
        "client tool under another version's name",
        body(tools=[{"type": "text_editor_20250124", "name": "str_replace_based_edit_tool"}]),
        "tools.0.name: `text_editor_20250124` is named `str_replace_editor`, "
        "not `str_replace_based_edit_tool`",
    ),
    (
        "max_characters before text_editor_20250728",
        body(
            tools=[
                {
                    "type": "text_editor_20250429",
                    "name": "str_replace_based_edit_tool",
                    "max_characters": 100,
                }
            ]
        ),
        "tools.0.max_characters: Extra inputs are not permitted",
    ),
    (
        "computer use without its beta",
        body(
            tools=[
                {
                    "type": "computer_20251124",
                    "name": "computer",
                    "display_width_px": 800,
                    "display_height_px": 600,
                }
            ]
        ),
        "tools.0: tool type `computer_20251124` requires the `computer-use-2025-11-24` beta header",
    ),
    (
        "a custom tool named like a client tool",
        body(tools=[{**TOOL, "name": "bash"}, {"type": "bash_20250124", "name": "bash"}]),
        "tools: Tool names must be unique.",
    ),
    (
        "any without tools",
        body(tool_choice={"type": "any"}),
        'tool_choice: tool_choice.type "any" requires `tools`',
    ),
    (
        "named tool missing",
        body(tools=[TOOL], tool_choice={"type": "tool", "name": "g"}),
        "tool_choice.tool.name: no tool named `g` in `tools`",
    ),
    (
        "forced tool with thinking",
        body(
            max_tokens=4096,
            tools=[TOOL],
            tool_choice={"type": "any"},
            thinking={"type": "enabled", "budget_tokens": 1024},
        ),
        "Thinking may not be enabled when tool_choice forces tool use.",
    ),
    (
        "small thinking budget",
        body(thinking={"type": "enabled", "budget_tokens": 100}),
        "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
    ),
    (
        "budget over max_tokens",
        body(max_tokens=1024, thinking={"type": "enabled", "budget_tokens": 1024}),
        "`max_tokens` must be greater than `thinking.budget_tokens`",
    ),
    (
        "max_tokens 0 streaming",
        body(max_tokens=0, stream=True),
        "max_tokens: 0 is only allowed without streaming",
    ),
    ("max_tokens 0", body(max_tokens=0), None),
    ("max_tokens beyond any model", body(max_tokens=128_001), "max_tokens: 128001 > 128000"),
    (
        "five breakpoints",
        body(
            system=[
                {"type": "text", "text": f"s{i}", "cache_control": {"type": "ephemeral"}}
                for i in range(5)
            ]
        ),
        "A maximum of 4 blocks with cache_control may be provided. Found 5.",
    ),
    (
        "mcp servers",
        body(mcp_servers=[{"type": "url", "url": "https://x.test", "name": "x"}]),
        "mcp_servers: Extra inputs",
    ),
    ("fast mode", body(speed="fast"), "speed: fast mode is not available for m"),
    (
        "container",
        body(container="cntr_1"),
        "container: Parley does not run code-execution containers",
    ),
    (
        "a context edit Parley does not apply",
        body(context_management={"edits": [{"type": "compact_20260112"}]}),
        "context_management: Extra inputs are not permitted",
    ),
    (
        "invalid tool schema",
        body(tools=[{"name": "f", "input_schema": {"type": "object", "properties": {"a": 1}}}]),
        "tools.0.input_schema.properties.a: 1 is not of type 'object', 'boolean'",
    ),
    (
        "invalid output schema",
        body(output_config={"format": {"type": "json_schema", "schema": {"type": "nonsense"}}}),
        "output_config.format.schema.type:",
    ),
]


@pytest.mark.parametrize(("name", "raw", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule(name: str, raw: dict[str, Any], expected: str | None) -> None:
    found = problem(raw)
    if expected is None:
        assert found is None
    else:
        assert found is not None and found.startswith(expected), found


def test_sampling_is_refused_under_2026_10_21_only() -> None:
    raw = body(temperature=0.5)
    assert problem(raw) is None
    assert problem(raw, traits(version=ApiVersion.V2026_10_21)) == (
        "temperature: Extra inputs are not permitted"
    )


def test_beta_fields_need_their_beta() -> None:
    raw = body(context_management={"edits": [{"type": "clear_thinking_20251015"}]})
    assert problem(raw) == "context_management: Extra inputs are not permitted"
    with_beta = traits(betas=frozenset({"context-management-2025-06-27"}))
    assert problem(raw, with_beta) is None
    compact = body(context_management={"edits": [{"type": "compact_20260112"}]})
    assert problem(compact, with_beta) == (
        "context_management.edits.0: `compact_20260112` edits need the "
        "`anthropic-beta: compact-2026-01-12` header"
    )
    assert problem(compact, traits(betas=frozenset({"compact-2026-01-12"}))) is None


def test_version_2026_refuses_assistant_documents_and_user_citations() -> None:
    document = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "d"},
    }
    raw = body(messages=[USER, assistant(document)])
    cited = {
        "type": "text",
        "text": "x",
        "citations": [
            {
                "type": "char_location",
                "cited_text": "x",
                "document_index": 0,
                "document_title": None,
                "start_char_index": 0,
                "end_char_index": 1,
            }
        ],
    }
    quoted = body(messages=[user(cited)])
    new = traits(version=ApiVersion.V2026_10_21)
    assert problem(raw) is None and problem(quoted) is None
    assert (problem(raw, new) or "").endswith("anthropic-version 2026-10-21")
    assert (problem(quoted, new) or "").startswith("messages.0.content.0.text.citations:")


def test_computer_use_with_its_beta() -> None:
    computer = {"name": "computer", "display_width_px": 800, "display_height_px": 600}
    zoomed = {**computer, "type": "computer_20251124", "enable_zoom": True}
    betas = traits(betas=frozenset({"computer-use-2025-11-24", "computer-use-2025-01-24"}))
    assert problem(body(tools=[zoomed]), betas) is None
    older = {**computer, "type": "computer_20250124", "enable_zoom": True}
    assert problem(body(tools=[older]), betas) == (
        "tools.0.enable_zoom: Extra inputs are not permitted"
    )


def test_images_pass_on_a_vision_model() -> None:
    raw = body(messages=[user({"type": "image", "source": PNG})])
    assert problem(raw, traits(capabilities=VISION)) is None


def test_structured_output_needs_a_model_that_has_it() -> None:
    raw = body(output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}})
    assert problem(raw) is None
    assert problem(raw, traits(capabilities=NO_STRUCTURED)) == (
        "output_config.format: m does not support structured outputs"
    )


def test_count_tokens_skips_the_generation_rules() -> None:
    raw = {
        k: v
        for k, v in body(thinking={"type": "enabled", "budget_tokens": 100}).items()
        if k != "max_tokens"
    }
    assert problem(raw, count=True) is None
