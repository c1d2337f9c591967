"""GBNF grammars that constrain decoding: tool calls and JSON output.

JSON Schemas are converted with ``llama_cpp.llama_grammar.SchemaConverter`` (the
Python port of llama.cpp's own converter), with three corrections:

- its ``char`` rule, the characters of a free string, admits raw control characters
  (a newline inside a string), which JSON forbids, so a model could write arguments no
  JSON parser accepts; ours is JSON's;
- a schema without any keyword that constrains the value (``{}``, ``true``, or a
  property with only a ``description``, as in Claude Code's tools) means "any JSON
  value"; the converter asserts on the latter and reads ``{}`` as "an object";
- everything it produces is bounded before llama.cpp's grammar parser sees it.

Bounds. llama.cpp parses a grammar recursively, one level per parenthesised group, and
the converter writes ``maxLength: N`` (and ``maxItems``) as N nested groups: N = 30,000
overflows the stack of the thread that parses it and kills the process (measured with
llama-cpp-python 0.3.36; N = 2,000 is refused by llama.cpp itself, 1,000 works). So a
schema is checked before conversion (``MAX_SCHEMA_DEPTH`` levels of nested schemas,
length and item bounds up to ``MAX_REPETITION``, at most ``MAX_PROPERTIES`` properties
per object, ``MAX_ENUM`` enum values) and the grammar after it (at most
``MAX_GRAMMAR_BYTES``, groups nested at most ``MAX_GRAMMAR_NESTING`` deep, which
covers what the schema checks cannot see, such as a ``pattern`` of nested groups). A
schema past a bound, or one the converter cannot handle, raises ``SchemaError`` naming
the schema path; the backend answers it with a 400. (Its ``pattern`` strings and enum
or const values holding escapes still go by the converter's own rules.)

A tool-call grammar accepts exactly the ``<tool_call>{"name": "<tool>", "arguments":
<object>}</tool_call>`` form of ``prompt.py``, one alternative per tool, with each
tool's arguments bound to its ``input_schema`` (required properties, enums, types).
Once the grammar's root is complete only end-of-generation tokens remain possible, so
the model stops.

With ``tool_choice: auto`` the same grammar is installed lazily: it starts to apply
when the model writes ``<tool_call>``, or starts a line with a JSON object (bare or in a
code fence) naming one of the tools, the other form ``toolcalls.py`` reads; the text
before it is free. From there the object's arguments are bound to that tool's schema.

A forced call ends inside ``max_tokens``. A small model asked for a call can keep
writing inside a free string (one with no ``maxLength``, ``enum``, ``const``,
``pattern`` or ``format``), or write one call after another, until ``max_tokens`` cuts
the last one off. So when a call is forced and ``max_tokens`` is tight — what is left
after the call's fixed text, shared among its free strings, is under
``MAX_REPETITION`` characters each — each free string gets that many characters at
most, and the grammar admits only as many calls as fit whole in ``max_tokens`` with
their strings at that bound: one, for a tool with free strings (``call_budget``). Every
character costs at least one token (ASCII text; a character outside it can take up to
four byte tokens), so the calls then close before ``max_tokens``. Looser budgets change
nothing: the model may make several calls, each as long as it needs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from llama_cpp.llama_grammar import (
    PRIMITIVE_RULES,
    STRING_FORMAT_RULES,
    BuiltinRule,
    SchemaConverter,
)

from parley.backends.base import ToolMode, ToolSpec

TRIGGER = "<tool_call>"

MAX_SCHEMA_DEPTH = 32
MAX_REPETITION = 1000
MAX_PROPERTIES = 256
MAX_ENUM = 1000
MAX_GRAMMAR_BYTES = 1024 * 1024
MAX_GRAMMAR_NESTING = MAX_REPETITION + 2 * MAX_SCHEMA_DEPTH
MAX_FORCED_CALLS = 16  # more calls than this fitting in max_tokens: no limit is set

REPETITION_KEYWORDS = ("minLength", "maxLength", "minItems", "maxItems")
# Keywords whose value is one subschema, a list of them, or a name → subschema table.
_ONE: tuple[str, ...] = ("items", "additionalProperties", "not", "contains", "if", "then")
_ONE += ("else", "propertyNames", "unevaluatedItems", "unevaluatedProperties")
_MANY = ("anyOf", "oneOf", "allOf", "prefixItems")
_NAMED = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
# Keywords the converter turns into a constraint; a schema with none of them (and no
# string format it knows) admits any value.
_CONSTRAINING = {"$ref", "oneOf", "anyOf", "allOf", "type", "const", "enum", "properties"}
_CONSTRAINING |= {"additionalProperties", "items", "prefixItems", "pattern"}
_KNOWN_FORMATS = {"uuid", "uuid1", "uuid2", "uuid3", "uuid4", "uuid5"}
_KNOWN_FORMATS |= {name.removesuffix("-string") for name in STRING_FORMAT_RULES}
# The converter's failure modes on schemas it cannot handle: its own asserts and
# ValueErrors, and lookups on values of the wrong type.
_CONVERTER_ERRORS: tuple[type[Exception], ...] = (ValueError, KeyError, TypeError)
_CONVERTER_ERRORS += (AttributeError, AssertionError, IndexError, RecursionError)


@dataclass(frozen=True, slots=True)
class GrammarSpec:
    """A grammar and, when lazy, the regex that switches it on."""

    text: str
    lazy_trigger: str | None = None


class SchemaError(ValueError):
    """A schema that cannot become a decoding grammar. ``path`` is where in the schema
    (``""``, ``.properties.city``…) and ``tool`` the tool's position in the request's
    tools (None: the output format's schema)."""

    def __init__(self, path: str, problem: str, *, tool: int | None = None) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem
        self.tool = tool


# A character of a JSON string (RFC 8259 §7): anything but a quote, a backslash or a
# control character U+0000-U+001F, or an escape.
_HEX = " ".join(["[0-9a-fA-F]"] * 4)
_JSON_CHAR = BuiltinRule(rf'[^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" {_HEX})', [])


class _JsonConverter(SchemaConverter):
    """The converter, with JSON's string characters and "any value" schemas."""

    def _add_primitive(self, name: str, rule: BuiltinRule) -> str:
        return str(super()._add_primitive(name, _JSON_CHAR if name == "char" else rule))

    def visit(self, schema: Any, name: str) -> str:
        if schema is True or (isinstance(schema, dict) and _admits_anything(schema)):
            rule_name = name or "root"
            return str(self._add_rule(rule_name, self._add_primitive("value", _VALUE)))
        if not isinstance(schema, dict):
            raise SchemaError("", f"expected a schema object, got {json.dumps(schema)[:80]}")
        return str(super().visit(schema, name))


_VALUE = PRIMITIVE_RULES["value"]


def _admits_anything(schema: dict[str, Any]) -> bool:
    if _CONSTRAINING & schema.keys():
        return False
    return schema.get("format") not in _KNOWN_FORMATS


def _converter() -> SchemaConverter:
    return _JsonConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)


def _literal(text: str) -> str:
    return json.dumps(text)


def json_schema_grammar(schema: dict[str, Any]) -> GrammarSpec:
    """Output must be one JSON value matching ``schema`` (``output_config.format``)."""
    check_schema_bounds(schema)
    converter = _converter()
    _convert(lambda: converter.visit(converter.resolve_refs(_copy(schema), "request"), ""))
    return _bounded(GrammarSpec(converter.format_grammar()))


@dataclass(frozen=True, slots=True)
class CallBudget:
    """What forced calls may write so that they end inside ``max_tokens``: characters
    per free string, by tool name, and how many calls (None: as many as the model
    writes)."""

    string_bounds: dict[str, int] = field(default_factory=dict)
    max_calls: int | None = None


def tool_call_grammar(
    tools: tuple[ToolSpec, ...], mode: ToolMode, budget: CallBudget | None = None
) -> GrammarSpec | None:
    """The grammar for ``mode``, or None when tool calls are not constrained.
    ``budget`` bounds the free strings of the tools it names and the number of calls."""
    if mode.kind == "none" or not tools:
        return None
    budget = budget or CallBudget()
    converter = _converter()
    tagged, bare, names = [], [], []
    for index, tool in enumerate(tools):
        if mode.only is not None and tool.name != mode.only:
            continue
        bound = budget.string_bounds.get(tool.name)
        if bound is not None:
            tool = replace(tool, input_schema=_with_string_bound(tool.input_schema, bound))
        args_rule = _tool_arguments(converter, index, tool, loose=mode.kind == "auto")
        head = _literal('{"name": "' + tool.name + '", "arguments": ')
        tagged.append(f"{head} {args_rule} {_literal('}')}")
        bare.append(f"{_literal(json.dumps(tool.name))} {_JSON_CALL_TAIL.format(args=args_rule)}")
        names.append(tool.name)
    call = f"{_literal(TRIGGER + chr(10))} tool-call-body {_literal(chr(10) + '</tool_call>')}"
    rules = [f"tool-call ::= {call}", "tool-call-body ::= " + " | ".join(tagged)]
    if mode.kind == "required":
        first, lazy = "tool-call", None
    else:
        first, lazy = "any-call", json_call_trigger(names)
        rules += [
            "any-call ::= tool-call | json-call",
            f"json-call ::= {_JSON_CALL_HEAD} json-call-body",
            "json-call-body ::= " + " | ".join(bare),
            "call-ws ::= [ \\t\\n]{0,16}",
        ]
    rules = [f"root ::= {first}{_more_calls(first, mode, budget)}", *rules]
    return _bounded(GrammarSpec("\n".join([*rules, converter.format_grammar()]), lazy_trigger=lazy))


def _more_calls(first: str, mode: ToolMode, budget: CallBudget) -> str:
    """The grammar's repetition of calls after the first one."""
    calls = 1 if mode.single else budget.max_calls
    if calls == 1:
        return ""
    return f' ("\\n" {first})' + ("*" if calls is None else f"{{0,{calls - 1}}}")


def call_budget(
    tools: tuple[ToolSpec, ...], mode: ToolMode, max_tokens: int, count: Callable[[str], int]
) -> CallBudget:
    """The bounds under which forced calls surely end inside ``max_tokens`` when it is
    tight (see the module docstring); none otherwise. ``count`` is the model's token
    count of a text."""
    if mode.kind != "required":
        return CallBudget()
    bounds: dict[str, int] = {}
    costs: list[int] = []  # the most tokens one call of each tool can take
    loose = False  # a tool whose strings need no bound: no limit on calls either
    for tool in tools:
        if mode.only is not None and tool.name != mode.only:
            continue
        fixed = count(_call_skeleton(tool)) + _CALL_MARGIN
        free = sum(1 for _, node, _ in _subschemas(tool.input_schema) if _is_free_string(node))
        if not free:
            costs.append(fixed)
            continue
        each = (max_tokens - fixed) // free
        if each >= MAX_REPETITION:
            loose = True
            continue
        bounds[tool.name] = max(1, each)
        costs.append(fixed + free * bounds[tool.name])
    calls = None if loose or not costs else max(1, max_tokens // max(costs))
    return CallBudget(bounds, calls if calls is not None and calls <= MAX_FORCED_CALLS else None)


# Tokens a call may take beyond its skeleton's: numbers, booleans, separators.
_CALL_MARGIN = 8
_FREE_STRING_LIMITS = {"maxLength", "enum", "const", "pattern", "format"}


def _is_free_string(node: dict[str, Any]) -> bool:
    return node.get("type") == "string" and not _FREE_STRING_LIMITS & node.keys()


def _call_skeleton(tool: ToolSpec) -> str:
    """The text of a call to ``tool`` with empty strings: what any call writes besides
    its free strings' characters (longest enum values included)."""
    arguments: dict[str, Any] = {}
    for name, node in (tool.input_schema.get("properties") or {}).items():
        values = node.get("enum") if isinstance(node, dict) else None
        arguments[name] = max(values, key=lambda v: len(json.dumps(v))) if values else ""
    call = json.dumps({"name": tool.name, "arguments": arguments})
    return f"{TRIGGER}\n{call}\n</tool_call>"


def _with_string_bound(schema: dict[str, Any], bound: int) -> dict[str, Any]:
    bounded = _copy(schema)
    for _, node, _ in _subschemas(bounded):
        if _is_free_string(node):
            node["maxLength"] = bound
    return bounded


# A call written as a bare or fenced JSON object (``toolcalls.py``): spaced as JSON
# allows, so that text the model wrote before the trigger fired still fits.
_JSON_CALL_HEAD = '"{" call-ws "\\"name\\"" call-ws ":" call-ws'
_JSON_CALL_TAIL = 'call-ws "," call-ws "\\"arguments\\"" call-ws ":" call-ws {args} call-ws "}}"'


def json_call_trigger(names: list[str]) -> str:
    """The lazy grammar's trigger (an ECMAScript regex llama.cpp searches the output
    for): ``<tool_call>``, or a line starting a JSON object (in a code fence or not)
    whose ``name`` is one of ``names``. The grammar applies from the first non-empty
    group: the tag, or the object's ``{``."""
    alternatives = "|".join(_ecma_escape(json.dumps(name)) for name in names)
    # Inside the group, exactly the grammar's ``call-ws``: llama.cpp feeds the grammar
    # what the model already wrote from there, and text the grammar refuses would make
    # it throw.
    ws = r"[ \t\n]{0,16}"
    head = rf'\{{{ws}"name"{ws}:{ws}(?:{alternatives})'
    return rf"({TRIGGER})|(?:^|\n)[ \t]*(?:```[A-Za-z]*\s*)?({head})"


def _ecma_escape(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in '_ "' else "\\" + ch for ch in text)


def _tool_arguments(converter: SchemaConverter, index: int, tool: ToolSpec, *, loose: bool) -> str:
    """The name of the rule for ``tool``'s arguments (its ``input_schema``). ``loose``
    (``tool_choice: auto``): a length or item bound past ``MAX_REPETITION`` is left to
    the client's validation instead of refusing the request, as the hosted API leaves a
    tool without ``strict`` (Claude Code's Workflow tool has ``maxLength: 524288``); a
    forced call keeps its promise of valid input, so there such a bound is refused."""
    schema = _copy(tool.input_schema)
    if loose:
        for _, node, _ in _subschemas(schema):
            for keyword in REPETITION_KEYWORDS:
                value = node.get(keyword)
                if isinstance(value, int) and value > MAX_REPETITION:
                    del node[keyword]
    try:
        check_schema_bounds(schema)
        return _convert(
            lambda: converter.visit(
                converter.resolve_refs(schema, f"tool-{index}"), f"tool-{index}-arguments"
            )
        )
    except SchemaError as exc:
        raise SchemaError(exc.path, exc.problem, tool=index) from exc


def _copy(schema: dict[str, Any]) -> dict[str, Any]:
    """A private copy: the converter's ``resolve_refs`` rewrites ``$ref`` values in place."""
    return copy.deepcopy(schema)


def _convert(step: Any) -> str:
    try:
        return str(step())
    except SchemaError:
        raise
    except _CONVERTER_ERRORS as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise SchemaError("", f"cannot be turned into a decoding grammar ({detail})") from None


# --- bounds ---------------------------------------------------------------------------


def check_schema_bounds(schema: Any) -> None:
    """Raise ``SchemaError`` where ``schema`` passes one of the module's bounds."""
    for path, node, depth in _subschemas(schema):
        if depth > MAX_SCHEMA_DEPTH:
            raise SchemaError(path, f"schemas nest deeper than {MAX_SCHEMA_DEPTH} levels")
        for keyword in REPETITION_KEYWORDS:
            value = node.get(keyword)
            if isinstance(value, int) and not isinstance(value, bool) and value > MAX_REPETITION:
                raise SchemaError(
                    f"{path}.{keyword}",
                    f"{value} is more than Parley can enforce while decoding "
                    f"({MAX_REPETITION}); use a smaller bound or leave it out",
                )
        properties = node.get("properties")
        if isinstance(properties, dict) and len(properties) > MAX_PROPERTIES:
            raise SchemaError(
                f"{path}.properties", f"more than {MAX_PROPERTIES} properties in one object"
            )
        enum = node.get("enum")
        if isinstance(enum, list) and len(enum) > MAX_ENUM:
            raise SchemaError(f"{path}.enum", f"more than {MAX_ENUM} values")


def _subschemas(schema: Any) -> Iterator[tuple[str, dict[str, Any], int]]:
    """Every schema object inside ``schema`` as ``(path, schema, depth)``, iteratively
    (a schema nested thousands deep must not exhaust Python's stack either)."""
    stack: list[tuple[str, Any, int]] = [("", schema, 1)]
    while stack:
        path, node, depth = stack.pop()
        if not isinstance(node, dict):
            continue
        yield path, node, depth
        if depth > MAX_SCHEMA_DEPTH:
            continue
        for keyword in _ONE:
            stack.append((f"{path}.{keyword}", node.get(keyword), depth + 1))
        for keyword in _MANY:
            items = node.get(keyword)
            if isinstance(items, list):
                stack += [(f"{path}.{keyword}.{i}", s, depth + 1) for i, s in enumerate(items)]
        for keyword in _NAMED:
            table = node.get(keyword)
            if isinstance(table, dict):
                stack += [(f"{path}.{keyword}.{k}", s, depth + 1) for k, s in table.items()]


def _bounded(grammar: GrammarSpec) -> GrammarSpec:
    if len(grammar.text.encode()) > MAX_GRAMMAR_BYTES:
        raise SchemaError(
            "", f"the decoding grammar for it would exceed {MAX_GRAMMAR_BYTES // 1024} KiB"
        )
    if grammar_nesting(grammar.text) > MAX_GRAMMAR_NESTING:
        raise SchemaError(
            "", f"the decoding grammar for it would nest deeper than {MAX_GRAMMAR_NESTING} groups"
        )
    return grammar


def grammar_nesting(text: str) -> int:
    """The deepest nesting of parenthesised groups in GBNF ``text``: how deep
    llama.cpp's parser will recurse. Quoted literals, character classes and comments
    are skipped."""
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in '"[':
            i = _skip_quoted(text, i + 1, '"' if c == '"' else "]")
            continue
        if c == "#":
            newline = text.find("\n", i)
            i = n if newline < 0 else newline
            continue
        if c == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif c == ")":
            depth -= 1
        i += 1
    return deepest


def _skip_quoted(text: str, i: int, end: str) -> int:
    """The index after the ``end`` character closing a literal or class at ``i``."""
    n = len(text)
    while i < n and text[i] != end:
        i += 2 if text[i] == "\\" else 1
    return i + 1
