"""Render a ``GenerationRequest`` into prompt text with the model's own chat template.

Tools. Models whose template takes a ``tools`` variable get the tools, their earlier
calls and results in the template's own shapes (OpenAI-style ``tool_calls`` and
``tool`` messages, as Qwen- and Hermes-style templates expect). Models whose template
has no tool support (SmolLM2, the bundled model) get Parley's documented prompt
format, the widely trained Hermes convention:

- the system prompt gains a ``# Tools`` section listing each tool as JSON inside
  ``<tools></tools>`` and asking for calls as
  ``<tool_call>{"name": …, "arguments": {…}}</tool_call>``;
- an earlier assistant call is written back in that same form;
- a tool result is a user-turn ``<tool_response>…</tool_response>`` block
  (prefixed ``Error:`` when ``is_error``).

Either way the model answers in the ``<tool_call>`` form that ``output.py`` parses and
``grammar.py`` constrains. With ``tool_choice: none`` tools are left out of the prompt.

Thinking. For a reasoning model (``thinking`` markers set) the template gets
``enable_thinking`` (Qwen3's variable), and a request that does not ask for thinking
has its section closed as ``thinking.py`` describes.

A final assistant turn is a prefill: the rest of the conversation is rendered with the
generation prompt and the prefill text appended, so the model continues it.

Cache breakpoints: ``render_marked`` renders with a private-use sentinel where each
``CachePoint`` falls, then strips the sentinels and returns the clean text with the
character offset of every breakpoint, so the backend can map them to token positions
without rendering twice.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from parley.backends.base import (
    CachePoint,
    CacheTTL,
    GenerationRequest,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    ToolSpec,
    Turn,
)
from parley.backends.common.thinking import ThinkingMarkers

# Used for GGUFs that carry no chat template at all: plain ChatML.
CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

TOOLS_PREAMBLE = (
    "# Tools\n\n"
    "You may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
TOOLS_INSTRUCTIONS = (
    "</tools>\n\n"
    "For each function call, return a json object with function name and arguments "
    "within <tool_call></tool_call> XML tags:\n"
    '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)


_SENTINEL = re.compile("\ue000(\\d+)\ue001")


class _Marks:
    """Hands out sentinels when marking, nothing otherwise: one per cache breakpoint
    (its TTL) and one per block boundary (None), where cached prefixes may end."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.kinds: list[CacheTTL | None] = []

    def __call__(self, point: CachePoint | None) -> str:
        if point is None or not self.enabled:
            return ""
        self.kinds.append(point.ttl)
        return f"\ue000{len(self.kinds) - 1}\ue001"

    def boundary(self) -> str:
        if not self.enabled:
            return ""
        self.kinds.append(None)
        return f"\ue000{len(self.kinds) - 1}\ue001"


def _raise(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


def _tojson(value: Any, indent: int | None = None, **_: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


def function_json(tool: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.input_schema,
        },
    }


def call_text(name: str, arguments: dict[str, Any]) -> str:
    body = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


class ChatTemplate:
    """A compiled Jinja chat template, rendered the way Hugging Face renders it."""

    def __init__(
        self,
        source: str | None,
        *,
        bos_token: str,
        eos_token: str,
        thinking: ThinkingMarkers | None = None,
    ) -> None:
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.filters["tojson"] = _tojson
        env.globals["raise_exception"] = _raise
        env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        self.source = source or CHATML
        self._template = env.from_string(self.source)
        self._bos = bos_token
        self._eos = eos_token
        # A template that mentions `tools` renders tool definitions itself.
        self.native_tools = "tools" in self.source
        self.thinking = thinking

    def render(self, request: GenerationRequest) -> str:
        """The full prompt text for ``request`` (prefill appended when present)."""
        return self._render(request, _Marks(enabled=False))

    def render_marked(
        self, request: GenerationRequest
    ) -> tuple[str, list[tuple[int, CacheTTL | None]]]:
        """The prompt text and the character offset of each cache breakpoint (with its
        TTL) and of each block boundary (TTL None), in text order."""
        marks = _Marks(enabled=True)
        marked = self._render(request, marks)
        offsets: list[tuple[int, CacheTTL | None]] = []
        pieces: list[str] = []
        length = 0
        last = 0
        for match in _SENTINEL.finditer(marked):
            pieces.append(marked[last : match.start()])
            length += match.start() - last
            offsets.append((length, marks.kinds[int(match.group(1))]))
            last = match.end()
        pieces.append(marked[last:])
        return "".join(pieces), offsets

    def _render(self, request: GenerationRequest, marks: _Marks) -> str:
        turns = request.turns
        prefill = None
        if request.prefill is not None:
            prefill = "".join(
                p.text if isinstance(p, TextPart) else marks(p) if isinstance(p, CachePoint) else ""
                for p in turns[-1].parts
            )
            turns = turns[:-1]
        show_tools = bool(request.tools) and request.tool_mode.kind != "none"
        tools = request.tools if show_tools else ()
        system = _marked_system(request, marks)
        variables: dict[str, Any] = {
            "messages": self._messages(system, turns, tools, marks),
            "add_generation_prompt": True,
            "bos_token": self._bos,
            "eos_token": self._eos,
        }
        if show_tools and self.native_tools:
            variables["tools"] = [_marked_function(t, marks) for t in tools]
        thinks = request.reasoning.mode != "disabled"
        if self.thinking is not None:
            variables["enable_thinking"] = thinks
        text = self._template.render(**variables)
        if self.thinking is not None and not thinks:
            text = self.thinking.closed(text, template_decides="enable_thinking" in self.source)
        return text + (prefill or "")

    def _messages(
        self,
        system: str | None,
        turns: tuple[Turn, ...],
        tools: tuple[ToolSpec, ...],
        marks: _Marks,
    ) -> list[dict[str, Any]]:
        if tools and not self.native_tools:
            system = self._with_tool_section(system, tools, marks)
        messages: list[dict[str, Any]] = []
        if system:
            messages.append({"role": "system", "content": system})
        for turn in turns:
            messages.extend(self._turn_messages(turn, marks))
        return messages

    @staticmethod
    def _with_tool_section(system: str | None, tools: tuple[ToolSpec, ...], marks: _Marks) -> str:
        listing = "".join(
            "\n" + json.dumps(function_json(t), ensure_ascii=False) + marks(t.cache) for t in tools
        )
        section = f"{TOOLS_PREAMBLE}{listing}\n{TOOLS_INSTRUCTIONS}"
        return f"{system}\n\n{section}" if system else section

    def _turn_messages(self, turn: Turn, marks: _Marks) -> list[dict[str, Any]]:
        if self.native_tools:
            return self._native_turn(turn, marks)
        chunks: list[str] = []
        for part in turn.parts:
            if isinstance(part, TextPart):
                chunks.append(part.text)
            elif isinstance(part, ToolCallPart):
                chunks.append(call_text(part.name, part.arguments))
            elif isinstance(part, ToolResultPart):
                chunks.append(f"<tool_response>\n{_result_text(part)}\n</tool_response>")
            if isinstance(part, CachePoint):
                # A breakpoint closes the chunk before it; it is not a chunk of its own.
                chunks[-1:] = [(chunks[-1] if chunks else "") + marks(part)]
            elif chunks:
                chunks[-1] += marks.boundary()
        return [{"role": turn.role, "content": "\n".join(chunks)}]

    @staticmethod
    def _native_turn(turn: Turn, marks: _Marks) -> list[dict[str, Any]]:
        text = "\n".join(p.text for p in turn.parts if isinstance(p, TextPart))
        text += "".join(marks(p) for p in turn.parts if isinstance(p, CachePoint))
        text += marks.boundary() if text else ""
        calls = [p for p in turn.parts if isinstance(p, ToolCallPart)]
        results = [p for p in turn.parts if isinstance(p, ToolResultPart)]
        out: list[dict[str, Any]] = [
            {"role": "tool", "tool_call_id": r.call_id, "content": _result_text(r)} for r in results
        ]
        if calls:
            out.append(
                {
                    "role": "assistant",
                    "content": text,
                    "tool_calls": [
                        {
                            "id": c.call_id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments},
                        }
                        for c in calls
                    ],
                }
            )
        elif text or not results:
            out.append({"role": turn.role, "content": text})
        return out


def _marked_system(request: GenerationRequest, marks: _Marks) -> str | None:
    system = request.system
    if system is None or not marks.enabled:
        return system
    for offset, point in sorted(request.system_cache, key=lambda item: item[0], reverse=True):
        system = system[:offset] + marks(point) + system[offset:]
    # Sentinels were handed out last-first; renumbering is not needed because each
    # sentinel carries its own index into ``marks.kinds``.
    return system


def _marked_function(tool: ToolSpec, marks: _Marks) -> dict[str, Any]:
    function = function_json(tool)
    function["function"]["description"] += marks(tool.cache)
    return function


def _result_text(result: ToolResultPart) -> str:
    text = "\n".join(p.text for p in result.parts if isinstance(p, TextPart))
    return f"Error: {text}" if result.is_error else text
