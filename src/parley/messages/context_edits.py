"""Context management: edits applied to the conversation before its prompt is built.

``clear_tool_uses_20250919`` keeps a long agent loop inside the model's window. Once the
conversation passes its ``trigger`` (input tokens, default 100,000, or a number of tool
uses), every tool use but the last ``keep`` (default 3), and those of ``exclude_tools``,
has its result replaced by a short placeholder, and with ``clear_tool_inputs`` (all
tools, or the named ones) its input emptied too. The ``tool_use``/``tool_result``
pairing stays, so the conversation is still valid and the model knows a call happened.
With ``clear_at_least`` the edit is applied only if it frees that many tokens.

The client keeps sending its full history; the edit is worked out again on each request
from it, so the same history always gives the same prompt. Tokens are counted by the
serving model's own ``count_tokens`` before and after, which is what
``applied_edits[].cleared_input_tokens`` and count_tokens' ``original_input_tokens``
report. ``clear_thinking_20251015`` needs no work here: earlier turns' thinking never
reaches the prompt (``translate.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from parley.wire.content import (
    MessageParam,
    TextBlockParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
)
from parley.wire.requests import ClearToolUsesEditParam, _MessageInputParams

P = TypeVar("P", bound=_MessageInputParams)
Counter = Callable[[_MessageInputParams], Awaitable[int]]

CLEARED_RESULT = "[Tool result cleared to save context; call the tool again if it is needed.]"
DEFAULT_TRIGGER_TOKENS = 100_000
DEFAULT_KEEP = 3


@dataclass(frozen=True)
class AppliedEdit:
    type: str
    cleared_tool_uses: int
    cleared_input_tokens: int

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "cleared_tool_uses": self.cleared_tool_uses,
            "cleared_input_tokens": self.cleared_input_tokens,
        }


@dataclass(frozen=True)
class Edited(Generic[P]):
    """The request to serve, the edits applied to it, and its size before them."""

    params: P
    applied: tuple[AppliedEdit, ...] = ()
    original_input_tokens: int | None = None
    # The prompt's tokens after the edits, when they were counted.
    input_tokens: int | None = None

    def context_management(self) -> dict[str, Any] | None:
        """The response's ``context_management``, when the request asked for any."""
        if self.original_input_tokens is None:
            return None
        return {"applied_edits": [edit.to_wire() for edit in self.applied]}


async def apply_edits(params: P, count: Counter) -> Edited[P]:
    """``params`` with its ``clear_tool_uses`` edits applied, in order."""
    config = params.context_management
    sent = config.edits or [] if config else []
    edits = [e for e in sent if isinstance(e, ClearToolUsesEditParam)]
    if not edits:
        return Edited(params)
    original = await count(params)
    current, tokens, applied = params, original, []
    for edit in edits:
        candidate = _cleared(current, edit, tokens)
        if candidate is None:
            continue
        edited, cleared_uses = candidate
        after = await count(edited)
        least = edit.clear_at_least.value if edit.clear_at_least else 0
        if tokens - after < max(least, 1):
            continue
        applied.append(AppliedEdit(edit.type, cleared_uses, tokens - after))
        current, tokens = edited, after
    return Edited(current, tuple(applied), original, tokens)


def _cleared(params: P, edit: ClearToolUsesEditParam, tokens: int) -> tuple[P, int] | None:
    """``params`` with the edit's tool uses cleared, and how many, or None when the
    edit's trigger is not reached or nothing is left to clear."""
    uses = [
        block
        for message in params.messages
        if message.role == "assistant"
        for block in message.content
        if isinstance(block, ToolUseBlockParam)
    ]
    trigger = edit.trigger
    if trigger is None or trigger.type == "input_tokens":
        limit = trigger.value if trigger else DEFAULT_TRIGGER_TOKENS
        if tokens <= limit:
            return None
    elif len(uses) <= trigger.value:
        return None
    keep = edit.keep.value if edit.keep else DEFAULT_KEEP
    kept = set(edit.exclude_tools or ())
    older = uses[: max(0, len(uses) - keep)]
    chosen = {use.id: use.name for use in older if use.name not in kept}
    if not chosen:
        return None
    inputs = edit.clear_tool_inputs
    emptied = (
        set(chosen) if inputs is True else {i for i, n in chosen.items() if n in (inputs or ())}
    )
    messages = [_clear_message(m, set(chosen), emptied) for m in params.messages]
    return params.model_copy(update={"messages": messages}), len(chosen)


def _clear_message(message: MessageParam, results: set[str], inputs: set[str]) -> MessageParam:
    content = [_clear_block(block, results, inputs) for block in message.content]
    if all(new is old for new, old in zip(content, message.content, strict=True)):
        return message
    return message.model_copy(update={"content": content})


def _clear_block(block: Any, results: set[str], inputs: set[str]) -> Any:
    if isinstance(block, ToolResultBlockParam) and block.tool_use_id in results:
        placeholder = TextBlockParam(type="text", text=CLEARED_RESULT)
        return block.model_copy(update={"content": [placeholder]})
    if isinstance(block, ToolUseBlockParam) and block.id in inputs:
        return block.model_copy(update={"input": {}})
    return block
