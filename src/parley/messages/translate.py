"""Wire params → ``GenerationRequest``: the only module that speaks both vocabularies.

Runs after ``rules.check_request`` has accepted the body, so it can assume the
rules hold. Decisions made here:

- consecutive same-role messages become one turn, as the API combines them;
- system text blocks are joined with a newline; Claude Code's per-request
  ``x-anthropic-billing-header`` block (Claude Code ≥ 2.1.36) is dropped, because it
  changes on every request, means nothing to a local model and would defeat prefix
  reuse;
- earlier thinking blocks are dropped (the API ignores them for earlier turns, and a
  model without reasoning never reads them);
- documents and search results become text, wrapped in ``<document>`` /
  ``<search_result>`` tags that name their title and source; a PDF's pages (extracted
  by ``documents.py``) each sit in a ``<page number="n">`` tag;
- sampling: the request's own ``temperature``/``top_p``/``top_k`` when it sends any
  (only possible under ``2023-06-01``), otherwise the model's configured defaults;
- ``max_tokens`` above what the model can produce is clamped to it (documented
  leniency: clients size requests for Claude models);
- every ``cache_control`` becomes a ``CachePoint`` right after its block (tools and
  system blocks carry theirs), and a top-level ``cache_control`` marks the last block,
  as the API's automatic caching does.
"""

from __future__ import annotations

from collections.abc import Iterable

from parley.backends.base import (
    CachePoint,
    GenerationRequest,
    ImagePart,
    Part,
    Reasoning,
    Sampling,
    TextPart,
    ToolCallPart,
    ToolMode,
    ToolResultPart,
    ToolSpec,
    Turn,
)
from parley.messages import client_tools
from parley.messages.media import Attachments
from parley.wire.common import CacheControlEphemeral
from parley.wire.content import (
    ContentBlockParam,
    ContentBlockSourceParam,
    DocumentBlockParam,
    ImageBlockParam,
    MessageParam,
    MidConversationSystemBlockParam,
    PlainTextSourceParam,
    SearchResultBlockParam,
    TextBlockParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
)
from parley.wire.requests import (
    MessageCreateParams,
    ThinkingConfigEnabledParam,
    _MessageInputParams,
)
from parley.wire.tools import AnthropicToolParam, ClientToolParam, ToolChoiceParam, ToolParam

BILLING_HEADER_PREFIX = "x-anthropic-billing-header:"


def to_generation(
    params: _MessageInputParams,
    *,
    model: str,
    max_output_tokens: int,
    default_sampling: Sampling,
    attachments: Attachments | None = None,
) -> GenerationRequest:
    """The neutral request for ``params`` (a create or a count_tokens body)."""
    served = [t for t in params.tools or [] if not isinstance(t, AnthropicToolParam)]
    tools = tuple(_tool_spec(t) for t in served)
    create = params if isinstance(params, MessageCreateParams) else None
    system, system_cache = _system(params.system)
    turns = tuple(_turns(params.messages, attachments or Attachments()))
    if params.cache_control is not None and turns:
        turns = _mark_last(turns, _point(params.cache_control))
    return GenerationRequest(
        model=model,
        system=system,
        system_cache=system_cache,
        turns=turns,
        max_tokens=min(create.max_tokens, max_output_tokens) if create else 0,
        tools=tools,
        tool_mode=tool_mode(params.tool_choice, has_tools=bool(tools)),
        stop_sequences=tuple(create.stop_sequences or ()) if create else (),
        sampling=_sampling(create, default_sampling),
        json_schema=_json_schema(params),
        reasoning=_reasoning(params),
    )


def _point(control: CacheControlEphemeral | None) -> CachePoint | None:
    if control is None:
        return None
    return CachePoint(ttl=control.ttl or "5m")


def _system(
    blocks: list[TextBlockParam] | None,
) -> tuple[str | None, tuple[tuple[int, CachePoint], ...]]:
    kept = [b for b in blocks or [] if not b.text.startswith(BILLING_HEADER_PREFIX)]
    points = []
    length = 0
    for index, block in enumerate(kept):
        length += len(block.text) + (1 if index else 0)
        point = _point(block.cache_control)
        if point is not None:
            points.append((length, point))
    text = "\n".join(b.text for b in kept)
    return (text or None), tuple(points)


def _mark_last(turns: tuple[Turn, ...], point: CachePoint | None) -> tuple[Turn, ...]:
    last = turns[-1]
    if point is None or (last.parts and isinstance(last.parts[-1], CachePoint)):
        return turns
    return (*turns[:-1], Turn(role=last.role, parts=(*last.parts, point)))


def tool_mode(choice: ToolChoiceParam | None, *, has_tools: bool) -> ToolMode:
    if choice is None:
        return ToolMode("auto" if has_tools else "none")
    if choice.type == "none":
        return ToolMode("none")
    single = bool(choice.disable_parallel_tool_use)
    if choice.type == "auto":
        return ToolMode("auto", single=single)
    if choice.type == "any":
        return ToolMode("required", single=single)
    return ToolMode("required", only=choice.name, single=single)


def _tool_spec(tool: ToolParam | ClientToolParam) -> ToolSpec:
    if isinstance(tool, ToolParam):
        description = tool.description or ""
        schema = tool.input_schema.model_dump(exclude_unset=True)
    else:
        description, schema = client_tools.definition(tool)
    return ToolSpec(
        name=tool.name,
        description=description,
        input_schema=schema,
        cache=_point(tool.cache_control),
    )


def _sampling(params: MessageCreateParams | None, default: Sampling) -> Sampling:
    if params is None or not {"temperature", "top_p", "top_k"} & params.model_fields_set:
        return default
    temperature = params.temperature if params.temperature is not None else 1.0
    return Sampling(temperature=temperature, top_p=params.top_p, top_k=params.top_k)


def _reasoning(params: _MessageInputParams) -> Reasoning:
    effort = params.output_config.effort if params.output_config else None
    thinking = params.thinking
    if isinstance(thinking, ThinkingConfigEnabledParam):
        return Reasoning("enabled", budget_tokens=thinking.budget_tokens, effort=effort)
    if thinking is None or thinking.type in ("disabled", "between_tools"):
        # between_tools is thinking off (the notes between tool calls it adds are not
        # written here; /v1/models says it is not supported).
        return Reasoning("disabled", effort=effort)
    return Reasoning("adaptive", effort=effort)


def _json_schema(params: _MessageInputParams) -> dict[str, object] | None:
    fmt = params.output_config.format if params.output_config else None
    fmt = fmt or params.output_format
    return dict(fmt.schema_) if fmt else None


# --- conversation -------------------------------------------------------------------


def _turns(messages: list[MessageParam], attachments: Attachments) -> Iterable[Turn]:
    merged: list[tuple[str, list[Part]]] = []
    for message in _shown(messages):
        parts = [p for block in message.content for p in _marked_parts(block, attachments)]
        if merged and merged[-1][0] == message.role:
            merged[-1][1].extend(parts)
        else:
            merged.append((message.role, parts))
    for role, parts in merged:
        yield Turn(role=role, parts=tuple(parts))  # type: ignore[arg-type]


def _shown(messages: list[MessageParam]) -> list[MessageParam]:
    """The messages the model sees: a system message with ``clear_at:
    "next_user_message"`` is shown only until a later user message exists. (A system
    message's ``output_config.effort`` changes nothing on a model that does not think,
    and a thinking model's effort is the request's.)"""
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    return [
        m
        for i, m in enumerate(messages)
        if not (m.role == "system" and m.clear_at == "next_user_message" and i < last_user)
    ]


def _marked_parts(block: ContentBlockParam, attachments: Attachments) -> list[Part]:
    point = _point(getattr(block, "cache_control", None))
    parts = _parts(block, attachments)
    return [*parts, point] if point is not None else parts


def _parts(block: ContentBlockParam, attachments: Attachments) -> list[Part]:
    if isinstance(block, TextBlockParam):
        return [TextPart(block.text)]
    if isinstance(block, ToolUseBlockParam):
        return [ToolCallPart(call_id=block.id, name=block.name, arguments=dict(block.input))]
    if isinstance(block, ToolResultBlockParam):
        inner = [p for item in block.content or [] for p in _parts(item, attachments)]  # type: ignore[arg-type]
        media = tuple(p for p in inner if isinstance(p, TextPart | ImagePart))
        return [
            ToolResultPart(call_id=block.tool_use_id, parts=media, is_error=bool(block.is_error))
        ]
    if isinstance(block, ImageBlockParam):
        _, image = attachments.of(block)
        if image is None:  # not loaded: a URL, which the rules refuse
            return []
        return [ImagePart(media_type=image.media_type, data=image.data)]
    if isinstance(block, DocumentBlockParam):
        return [TextPart(_document_text(block, attachments))]
    if isinstance(block, SearchResultBlockParam):
        body = "\n".join(b.text for b in block.content)
        return [
            TextPart(
                f'<search_result source="{block.source}" title="{block.title}">\n'
                f"{body}\n</search_result>"
            )
        ]
    if isinstance(block, MidConversationSystemBlockParam):
        return [TextPart(b.text) for b in block.content]
    return []  # thinking and redacted thinking are not shown to the model


def _document_text(block: DocumentBlockParam, attachments: Attachments) -> str:
    source = block.source
    _, loaded = attachments.of(block)
    if isinstance(source, PlainTextSourceParam):
        body = source.data
    elif isinstance(source, ContentBlockSourceParam):
        body = "\n".join(b.text for b in source.content if isinstance(b, TextBlockParam))
    elif loaded is not None and loaded.is_pdf:
        body = "\n".join(
            f'<page number="{n}">\n{text}\n</page>' for n, text in enumerate(loaded.pages, start=1)
        )
    elif loaded is not None:
        body = loaded.pages[0]
    else:  # URL sources were refused by rules.check_request
        body = ""
    head = "".join(
        f"<{name}>{value}</{name}>\n"
        for name, value in (("title", block.title), ("context", block.context))
        if value
    )
    return f"<document>\n{head}{body}\n</document>"
