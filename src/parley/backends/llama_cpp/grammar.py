"""GBNF grammars that constrain decoding: tool calls and JSON output.

JSON Schemas are converted with ``llama_cpp.llama_grammar.SchemaConverter`` (the
Python port of llama.cpp's own converter), with one correction: its ``char`` rule, the
characters of a free string, admits raw control characters (a newline inside a
string), which JSON forbids, so a model could write arguments no JSON parser accepts;
ours is JSON's. (Its ``pattern`` strings and enum or const values holding escapes
still go by the converter's own rules.)

A tool-call grammar accepts exactly the ``<tool_call>{"name": "<tool>", "arguments":
<object>}</tool_call>`` form of ``prompt.py``, one alternative per tool, with each
tool's arguments bound to its ``input_schema`` (required properties, enums, types).
Once the grammar's root is complete only end-of-generation tokens remain possible, so
the model stops.

With ``tool_choice: auto`` the same grammar is installed lazily: it starts to apply
when the model writes ``<tool_call>``, and the text before it is free.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from llama_cpp.llama_grammar import BuiltinRule, SchemaConverter

from parley.backends.base import ToolMode, ToolSpec

TRIGGER = "<tool_call>"


@dataclass(frozen=True, slots=True)
class GrammarSpec:
    """A grammar and, when lazy, the regex that switches it on."""

    text: str
    lazy_trigger: str | None = None


# A character of a JSON string (RFC 8259 §7): anything but a quote, a backslash or a
# control character U+0000-U+001F, or an escape.
_HEX = " ".join(["[0-9a-fA-F]"] * 4)
_JSON_CHAR = BuiltinRule(rf'[^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" {_HEX})', [])


class _JsonConverter(SchemaConverter):
    """The converter, with JSON's string characters in place of its own ``char``."""

    def _add_primitive(self, name: str, rule: BuiltinRule) -> str:
        return str(super()._add_primitive(name, _JSON_CHAR if name == "char" else rule))


def _converter() -> SchemaConverter:
    return _JsonConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)


def _literal(text: str) -> str:
    return json.dumps(text)


def json_schema_grammar(schema: dict[str, Any]) -> GrammarSpec:
    """Output must be one JSON value matching ``schema`` (``output_config.format``)."""
    converter = _converter()
    resolved = converter.resolve_refs(schema, "request")
    converter.visit(resolved, "")
    return GrammarSpec(converter.format_grammar())


def tool_call_grammar(tools: tuple[ToolSpec, ...], mode: ToolMode) -> GrammarSpec | None:
    """The grammar for ``mode``, or None when tool calls are not constrained."""
    if mode.kind == "none" or not tools:
        return None
    allowed = [t for t in tools if mode.only is None or t.name == mode.only]
    converter = _converter()
    alternatives = []
    for index, tool in enumerate(allowed):
        schema = converter.resolve_refs(dict(tool.input_schema), f"tool-{index}")
        args_rule = converter.visit(schema, f"tool-{index}-arguments")
        head = _literal('{"name": "' + tool.name + '", "arguments": ')
        alternatives.append(f"{head} {args_rule} {_literal('}')}")
    call = f"{_literal(TRIGGER + chr(10))} tool-call-body {_literal(chr(10) + '</tool_call>')}"
    repeat = "" if mode.single else ' ("\\n" tool-call)*'
    rules = [
        f"root ::= tool-call{repeat}",
        f"tool-call ::= {call}",
        "tool-call-body ::= " + " | ".join(alternatives),
        converter.format_grammar(),
    ]
    lazy = None if mode.kind == "required" else TRIGGER
    return GrammarSpec("\n".join(rules), lazy_trigger=lazy)
