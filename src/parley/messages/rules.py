"""The Messages API's rules beyond the schema, checked on validated wire params.

Pydantic already enforced types and unknown fields; this module enforces what a
schema cannot say (reference §2.2, §1.6, §0.2): version- and beta-gated fields,
non-empty content, where each block may appear, ``tool_use``/``tool_result`` pairing,
prefill whitespace, thinking budgets, tool choice, cache breakpoints, and features the
serving model or Parley cannot honour. Every failure is a 400 whose message names the
field path and, where the API has a known wording, uses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.backends.base import Capabilities
from parley.errors import InvalidRequestError
from parley.messages.client_tools import TEXT_EDITOR_NAMES, TOOL_BETAS
from parley.messages.media import RequestMedia
from parley.messages.schemas import check_json_schema
from parley.protocol import ApiVersion
from parley.wire.content import (
    SERVER_BLOCK_TYPES,
    CompactionBlockParam,
    ContentBlockParam,
    DocumentBlockParam,
    ImageBlockParam,
    MessageParam,
    TextBlockParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
)
from parley.wire.requests import (
    BETA_GATED_FIELDS,
    SAMPLING_FIELDS,
    MessageCreateParams,
    ThinkingConfigEnabledParam,
    _MessageInputParams,
)
from parley.wire.tools import (
    AnthropicToolParam,
    ClientToolParam,
    ComputerToolParam,
    TextEditorToolParam,
    ToolParam,
)

MAX_CACHE_BREAKPOINTS = 4
# The most output tokens any Claude model can produce. Up to this, a larger max_tokens
# than the serving model's is clamped to it (clients size requests for Claude models);
# beyond it no model could honour it, and it is refused as the hosted API refuses it.
MAX_ANY_MODEL_OUTPUT = 128_000
SUPPORTED_CONTEXT_EDITS = frozenset(
    {"clear_thinking_20251015", "clear_tool_uses_20250919", "compact_20260112"}
)
COMPACT_BETA = "compact-2026-01-12"


@dataclass(frozen=True)
class RequestTraits:
    """What the rules depend on besides the body."""

    version: ApiVersion
    betas: frozenset[str]
    capabilities: Capabilities
    model: str


def _fail(message: str) -> InvalidRequestError:
    return InvalidRequestError(message)


def check_gated_fields(
    params: _MessageInputParams, version: ApiVersion, betas: frozenset[str]
) -> None:
    """Fields the schema knows but this version or these betas do not allow."""
    sent = params.model_fields_set
    if version.rejects_sampling:
        for name in SAMPLING_FIELDS:
            if name in sent:
                raise _fail(f"{name}: Extra inputs are not permitted")
    for name, needed in BETA_GATED_FIELDS.items():
        if name in sent and not betas.intersection(needed):
            raise _fail(f"{name}: Extra inputs are not permitted")


def check_request(params: _MessageInputParams, traits: RequestTraits, media: RequestMedia) -> None:
    """All body rules for messages and count_tokens; raises on the first violation.
    ``media`` is the request's documents and images, as ``media.scan`` found them."""
    check_gated_fields(params, traits.version, traits.betas)
    _check_unsupported_features(params, traits)
    _check_tools(params, traits.betas)
    _check_messages(params.messages, traits)
    for ref in media.refs:
        _check_media(ref.path, ref.block, traits)
    _check_citations(media)
    _check_cache_breakpoints(params)
    if isinstance(params, MessageCreateParams):
        _check_generation(params, traits.model)


def _check_unsupported_features(params: _MessageInputParams, traits: RequestTraits) -> None:
    if params.mcp_servers:
        raise _fail(
            "mcp_servers: Parley does not run the MCP connector; call MCP tools from your "
            "client and pass them to the model as custom tools"
        )
    if params.speed == "fast":
        raise _fail(f'speed: fast mode is not available for {traits.model}; use "standard"')
    _check_context_management(params, traits.betas)
    fmt = params.output_config.format if params.output_config else None
    if (fmt or params.output_format) and not traits.capabilities.structured_output:
        raise _fail(f"output_config.format: {traits.model} does not support structured outputs")
    if fmt is not None:
        check_json_schema(fmt.schema_, "output_config.format.schema")
    if params.output_format is not None:
        check_json_schema(params.output_format.schema_, "output_format.schema")
    if isinstance(params, MessageCreateParams) and params.container is not None:
        raise _fail(
            "container: Parley does not run code-execution containers, so skills and "
            "containers cannot be used in messages"
        )


def _check_context_management(params: _MessageInputParams, betas: frozenset[str]) -> None:
    if params.compaction is not None and params.context_management is not None:
        raise _fail("compaction: cannot be combined with `context_management`")
    edits = params.context_management.edits or [] if params.context_management else []
    for index, edit in enumerate(edits):
        if edit.type not in SUPPORTED_CONTEXT_EDITS:
            raise _fail(
                f"context_management.edits.{index}: Parley does not apply "
                f"`{edit.type}` edits; supported: {', '.join(sorted(SUPPORTED_CONTEXT_EDITS))}"
            )
        if edit.type == "compact_20260112" and COMPACT_BETA not in betas:
            raise _fail(
                f"context_management.edits.{index}: `compact_20260112` edits need the "
                f"`anthropic-beta: {COMPACT_BETA}` header"
            )


def _check_tools(params: _MessageInputParams, betas: frozenset[str]) -> None:
    names: list[str] = []
    for index, tool in enumerate(params.tools or []):
        if isinstance(tool, AnthropicToolParam):
            raise _fail(
                f"tools.{index}: tool type `{tool.type}` is not supported by Parley; it runs "
                "no server tools or toolsets. Describe the tool as a custom tool with a name "
                "and input_schema instead"
            )
        if isinstance(tool, ToolParam):
            schema = tool.input_schema.model_dump(exclude_unset=True)
            check_json_schema(schema, f"tools.{index}.input_schema")
        else:
            _check_client_tool(f"tools.{index}", tool, betas)
        names.append(tool.name)
    if len(set(names)) != len(names):
        raise _fail("tools: Tool names must be unique.")
    choice = params.tool_choice
    if choice is None or choice.type == "none":
        return
    if choice.type in ("any", "tool") and not names:
        raise _fail(f'tool_choice: tool_choice.type "{choice.type}" requires `tools`')
    if choice.type == "tool" and choice.name not in names:
        raise _fail(f"tool_choice.tool.name: no tool named `{choice.name}` in `tools`")
    if choice.type in ("any", "tool") and isinstance(params.thinking, ThinkingConfigEnabledParam):
        raise _fail("Thinking may not be enabled when tool_choice forces tool use.")


def _check_client_tool(path: str, tool: ClientToolParam, betas: frozenset[str]) -> None:
    beta = TOOL_BETAS.get(tool.type)
    if beta is not None and beta not in betas:
        raise _fail(f"{path}: tool type `{tool.type}` requires the `{beta}` beta header")
    if isinstance(tool, TextEditorToolParam):
        expected = TEXT_EDITOR_NAMES[tool.type]
        if tool.name != expected:
            raise _fail(f"{path}.name: `{tool.type}` is named `{expected}`, not `{tool.name}`")
        if tool.max_characters is not None and tool.type != "text_editor_20250728":
            raise _fail(f"{path}.max_characters: Extra inputs are not permitted")
    zoom = isinstance(tool, ComputerToolParam) and tool.enable_zoom is not None
    if zoom and tool.type != "computer_20251124":
        raise _fail(f"{path}.enable_zoom: Extra inputs are not permitted")


def _check_generation(params: MessageCreateParams, model: str) -> None:
    if params.max_tokens > MAX_ANY_MODEL_OUTPUT:
        raise _fail(
            f"max_tokens: {params.max_tokens} > {MAX_ANY_MODEL_OUTPUT}, which is the maximum "
            f"allowed number of output tokens for {model}"
        )
    thinking = params.thinking
    if isinstance(thinking, ThinkingConfigEnabledParam):
        if thinking.budget_tokens < 1024:
            raise _fail(
                "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
            )
        if params.max_tokens <= thinking.budget_tokens:
            raise _fail("`max_tokens` must be greater than `thinking.budget_tokens`")
    if params.max_tokens == 0 and params.stream:
        raise _fail("max_tokens: 0 is only allowed without streaming, to pre-warm the cache")


# --- messages -----------------------------------------------------------------------


def _check_messages(messages: list[MessageParam], traits: RequestTraits) -> None:
    if not messages:
        raise _fail("messages: List should have at least 1 item after validation, not 0")
    last = len(messages) - 1
    for index, message in enumerate(messages):
        if not message.content and not (index == last and message.role == "assistant"):
            raise _fail(
                f"messages.{index}: all messages must have non-empty content except for "
                "the optional final assistant message"
            )
        _check_role_and_blocks(index, message, messages, traits)
    _check_tool_pairing(messages)
    _check_prefill(messages)


def _check_role_and_blocks(
    index: int, message: MessageParam, messages: list[MessageParam], traits: RequestTraits
) -> None:
    if message.role == "system" and (index == 0 or messages[index - 1].role != "user"):
        raise _fail(
            f"messages.{index}: a system message must come immediately after a user "
            "message; put an opening system prompt in the top-level `system` field"
        )
    for field in ("output_config", "clear_at"):
        if message.role != "system" and getattr(message, field) is not None:
            raise _fail(f'messages.{index}.{field}: only permitted on `role: "system"` messages')
    seen_other = False
    for position, block in enumerate(message.content):
        path = f"messages.{index}.content.{position}"
        _check_block(path, block, message.role, traits)
        if isinstance(block, ToolResultBlockParam):
            if seen_other:
                raise _fail(
                    f"{path}: `tool_result` blocks must come first in the user message "
                    "content, before any other blocks"
                )
        else:
            seen_other = True


_ROLE_BLOCKS: dict[str, frozenset[str]] = {
    "user": frozenset({"text", "image", "document", "search_result", "tool_result"}),
    "assistant": frozenset(
        {"text", "thinking", "redacted_thinking", "tool_use", "document", "compaction"}
    ),
    "system": frozenset({"text", "mid_conv_system"}),
}


def _check_block(path: str, block: ContentBlockParam, role: str, traits: RequestTraits) -> None:
    if block.type in SERVER_BLOCK_TYPES:
        raise _fail(
            f"{path}: `{block.type}` blocks belong to server-side tools and features "
            "(web search, code execution, MCP), which Parley does not run"
        )
    if block.type not in _ROLE_BLOCKS[role]:
        raise _fail(f"{path}: `{block.type}` blocks are not allowed in {role} messages")
    if isinstance(block, CompactionBlockParam) and block.content == "":
        raise _fail(f"{path}.content: a `compaction` block's content cannot be empty; use null")
    if isinstance(block, TextBlockParam):
        if not block.text.strip() and role != "assistant":
            raise _fail("messages: text content blocks must contain non-whitespace text")
        if block.citations and role == "user" and traits.version.rejects_user_citations:
            raise _fail(
                f"{path}.text.citations: citations are not accepted in user messages with "
                "anthropic-version 2026-10-21"
            )
    rejects_documents = traits.version.rejects_assistant_documents
    if isinstance(block, DocumentBlockParam) and role == "assistant" and rejects_documents:
        raise _fail(
            f"{path}: `document` blocks are not accepted in assistant messages with "
            "anthropic-version 2026-10-21"
        )


def _check_media(
    path: str, block: ImageBlockParam | DocumentBlockParam, traits: RequestTraits
) -> None:
    if isinstance(block, ImageBlockParam):
        if not traits.capabilities.images:
            raise _fail(
                f"{path}: {traits.model} is a text-only model and cannot read images; send "
                "the request to a vision-capable model or describe the image in text"
            )
        if block.source.type == "url":
            raise _fail(
                f"{path}.image.source: Parley does not fetch URLs; send the image as base64 "
                "or upload it with the Files API and send its file_id"
            )
        return
    if block.source.type == "url":
        raise _fail(
            f"{path}.document.source: Parley does not fetch URLs; send the document as a file, "
            "base64, text or content instead"
        )


def _turns(messages: list[MessageParam]) -> list[tuple[int, list[ContentBlockParam]]]:
    """Consecutive same-role messages combined: (first original index, blocks)."""
    turns: list[tuple[int, list[ContentBlockParam]]] = []
    previous_role = None
    for index, message in enumerate(messages):
        if message.role == previous_role:
            turns[-1][1].extend(message.content)
        else:
            turns.append((index, list(message.content)))
        previous_role = message.role
    return turns


def _check_tool_pairing(messages: list[MessageParam]) -> None:
    roles = [m.role for m in messages]
    turns = _turns(messages)
    for position, (index, blocks) in enumerate(turns):
        uses = [b.id for b in blocks if isinstance(b, ToolUseBlockParam)]
        if roles[index] == "user":
            previous = turns[position - 1][1] if position else []
            known = {b.id for b in previous if isinstance(b, ToolUseBlockParam)}
            for block in blocks:
                if isinstance(block, ToolResultBlockParam) and block.tool_use_id not in known:
                    raise _fail(
                        f"messages.{index}: unexpected `tool_use_id` found in `tool_result` "
                        f"blocks: {block.tool_use_id}. Each `tool_result` block must have a "
                        "corresponding `tool_use` block in the previous message."
                    )
        if not uses:
            continue
        following = turns[position + 1][1] if position + 1 < len(turns) else []
        answered = {b.tool_use_id for b in following if isinstance(b, ToolResultBlockParam)}
        missing = [u for u in uses if u not in answered]
        if missing:
            raise _fail(
                f"messages.{index}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )


def _check_prefill(messages: list[MessageParam]) -> None:
    last = messages[-1]
    if last.role != "assistant" or not last.content:
        return
    final = last.content[-1]
    if isinstance(final, TextBlockParam) and final.text != final.text.rstrip():
        raise _fail("messages: final assistant content cannot end with trailing whitespace")


def _check_citations(media: RequestMedia) -> None:
    enabled = {bool(b.citations and b.citations.enabled) for b in media.document_blocks}
    if len(enabled) > 1:
        raise _fail("citations must be enabled on all or none of the documents within a request")


def _check_cache_breakpoints(params: _MessageInputParams) -> None:
    count = sum(1 for t in params.tools or [] if getattr(t, "cache_control", None))
    count += sum(1 for b in params.system or [] if b.cache_control)
    for message in params.messages:
        count += sum(1 for b in message.content if getattr(b, "cache_control", None))
    if params.cache_control is not None:
        count += 1
    if count > MAX_CACHE_BREAKPOINTS:
        raise _fail(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {count}."
        )
