"""Compaction: a long conversation summarized by the serving model, and continued from
the summary (beta ``compact-2026-01-12``).

Two ways in:

- the ``compact_20260112`` context edit: when the prompt (after any clearing edits)
  reaches ``trigger`` input tokens, the model first writes a summary of the whole
  conversation; the answer is then a ``compaction`` block holding it, followed by the
  reply the model writes from the summary alone — or, with ``pause_after_compaction``,
  the block alone, with ``stop_reason: "compaction"``;
- the ``compaction`` parameter (``type: "summarize"``): the request only summarizes,
  and the answer is the block alone.

Sent back in a later request, the last compaction block with a summary stands for
everything before it: the messages before its assistant message and the blocks before
it in that message are dropped, and the summary reaches the model as a user turn
(``resumed``). The reply after a fresh compaction is written from exactly that view, so
a compacted conversation sent back goes on where it left off, and the prefix cache
holds from the summary on. A block without a summary (a compaction that failed) is a
no-op, as on the hosted API.

The summary request is the conversation as it stands plus one user turn of
instructions (the request's ``instructions``, else Parley's own), with the same system
prompt and tools, so it reads the conversation's prefix from the KV cache. Tool calls
the model makes instead of summarizing are ignored; an empty summary is a failed
compaction (content ``null``) and the reply is then written from the whole
conversation.

Default trigger: the API's 150,000 tokens, but never more than three quarters of the
serving model's context window (local models' windows are small, which is also why the
hosted API's minimum trigger of 50,000 is not applied).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

from parley.errors import InvalidRequestError
from parley.wire.content import CompactionBlockParam, MessageParam, TextBlockParam
from parley.wire.requests import (
    MAX_MESSAGES,
    CompactEditParam,
    MessageCreateParams,
    _MessageInputParams,
)

P = TypeVar("P", bound=_MessageInputParams)

DEFAULT_TRIGGER = 150_000
# The most a summary may take (and at most an eighth of the window), and the least
# room worth trying to write one in.
SUMMARY_MAX_TOKENS = 2048
SUMMARY_MIN_TOKENS = 64

DEFAULT_INSTRUCTIONS = (
    "Your context is nearly full, so this conversation will continue from a summary you "
    "write now instead of from the messages above. Write that summary: the user's "
    "requests and goals, decisions made, what has been done so far (files, commands, "
    "tool results that still matter), the current state of the work, and the next "
    "step, including the latest request if it is not yet answered. Be specific and "
    "brief. Do not call any tools. Write the summary inside <summary></summary> tags."
)
_PREAMBLE = "This conversation continues from a summary of its earlier part:\n"
_SUMMARY_TAG = re.compile(r"<summary>(.*?)(?:</summary>|$)", re.DOTALL)


@dataclass(frozen=True)
class CompactionPlan:
    """A compaction this request will make: with which instructions, whether the answer
    stops after the block, and where in the body it was asked for (error paths)."""

    instructions: str
    pause: bool
    path: str


def asks_for_compaction(params: MessageCreateParams) -> bool:
    edits = params.context_management.edits or [] if params.context_management else []
    return params.compaction is not None or any(isinstance(e, CompactEditParam) for e in edits)


def default_trigger(context_window: int) -> int:
    return min(DEFAULT_TRIGGER, context_window * 3 // 4)


def plan(
    params: MessageCreateParams, input_tokens: int, context_window: int
) -> CompactionPlan | None:
    """The compaction ``params`` asks for at ``input_tokens``, if any."""
    if params.compaction is not None:
        return CompactionPlan(_instructions(params.compaction.instructions), True, "compaction")
    edits = params.context_management.edits or [] if params.context_management else []
    for index, edit in enumerate(edits):
        if not isinstance(edit, CompactEditParam):
            continue
        trigger = edit.trigger.value if edit.trigger else default_trigger(context_window)
        if input_tokens < trigger:
            return None
        path = f"context_management.edits.{index}"
        return CompactionPlan(
            _instructions(edit.instructions), bool(edit.pause_after_compaction), path
        )
    return None


def _instructions(given: str | None) -> str:
    return given if given and given.strip() else DEFAULT_INSTRUCTIONS


def summary_params(params: MessageCreateParams, plan: CompactionPlan) -> MessageCreateParams:
    """The request that asks the model for the summary (``max_tokens`` set later)."""
    if len(params.messages) >= MAX_MESSAGES:
        raise InvalidRequestError(
            f"{plan.path}: a conversation of {len(params.messages)} messages leaves no room "
            f"for the summary's instruction (at most {MAX_MESSAGES} messages); compact earlier"
        )
    ask = MessageParam(role="user", content=[TextBlockParam(type="text", text=plan.instructions)])
    update: dict[str, object] = {
        "messages": [*params.messages, ask],
        "thinking": None,
        "output_config": None,
        "output_format": None,
        "stop_sequences": None,
        "context_management": None,
        "compaction": None,
        "stream": None,
    }
    if params.tools:
        # Shown as in the conversation (so its prefix is read from the cache), never forced.
        update["tool_choice"] = {"type": "auto"}
    return MessageCreateParams.model_validate(
        params.model_dump(by_alias=True, exclude_unset=True) | update
    )


def summary_room(
    prompt_tokens: int, context_window: int, max_output: int, plan: CompactionPlan
) -> int:
    """How many tokens the summary may take; raises when the conversation leaves none."""
    room = min(SUMMARY_MAX_TOKENS, context_window // 8, max_output, context_window - prompt_tokens)
    if room < SUMMARY_MIN_TOKENS:
        raise InvalidRequestError(
            f"{plan.path}: the conversation ({prompt_tokens} tokens with the summary "
            f"instructions) leaves no room in the model's {context_window}-token context "
            "window to write its summary; compact earlier (a lower trigger)"
        )
    return room


def summary_text(written: str) -> str | None:
    """The summary in what the model wrote (inside its <summary> tags when it used them),
    or None when it wrote nothing."""
    match = _SUMMARY_TAG.search(written)
    text = (match.group(1) if match else written).strip()
    return text or None


def continued(params: P, summary: str) -> P:
    """``params`` as the model sees it once compacted: the summary alone."""
    return params.model_copy(update={"messages": [_summary_turn(summary, None)]})


def resumed(params: P) -> P:
    """``params`` with everything before its last compaction block (with a summary)
    replaced by that summary; compaction blocks without one are dropped."""
    messages = params.messages
    if not any(isinstance(b, CompactionBlockParam) for m in messages for b in m.content):
        return params
    last = _last_compaction(messages)
    if last is not None:
        index, position = last
        block = messages[index].content[position]
        assert isinstance(block, CompactionBlockParam) and block.content is not None
        rest = messages[index].content[position + 1 :]
        head = [_summary_turn(block.content, block)]
        if rest:
            head.append(MessageParam(role="assistant", content=rest))
        messages = [*head, *messages[index + 1 :]]
    return params.model_copy(update={"messages": _without_failed(messages)})


def _last_compaction(messages: list[MessageParam]) -> tuple[int, int] | None:
    found = None
    for index, message in enumerate(messages):
        for position, block in enumerate(message.content):
            if isinstance(block, CompactionBlockParam) and block.content is not None:
                found = (index, position)
    return found


def _summary_turn(summary: str, block: CompactionBlockParam | None) -> MessageParam:
    text = TextBlockParam(
        type="text",
        text=f"{_PREAMBLE}<summary>\n{summary}\n</summary>",
        cache_control=block.cache_control if block else None,
    )
    return MessageParam(role="user", content=[text])


def _without_failed(messages: list[MessageParam]) -> list[MessageParam]:
    """Messages without compaction blocks that hold no summary (and without messages
    left empty by that)."""
    kept = []
    for message in messages:
        content = [b for b in message.content if not isinstance(b, CompactionBlockParam)]
        if len(content) == len(message.content):
            kept.append(message)
        elif content:
            kept.append(message.model_copy(update={"content": content}))
    return kept
