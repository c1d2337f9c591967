"""The bounds on schema-driven grammars, held against llama.cpp's own grammar parser.

llama.cpp's parser recurses once per nested group and the converter nests one group
per allowed repetition, so a schema's bounds decide whether the parser returns at all.
These tests show that everything Parley lets through at its bounds parses — in a
worker thread, where Parley builds grammars — and that what lies beyond is refused
with a ``SchemaError`` before it can reach native code.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import llama_cpp as lc
import pytest

from parley.backends.base import ToolMode, ToolSpec
from parley.backends.common.gguf import LlamaModel, resolve_gguf
from parley.backends.llama_cpp.grammar import (
    MAX_ENUM,
    MAX_GRAMMAR_NESTING,
    MAX_PROPERTIES,
    MAX_REPETITION,
    MAX_SCHEMA_DEPTH,
    GrammarSpec,
    SchemaError,
    check_schema_bounds,
    grammar_nesting,
    json_schema_grammar,
    tool_call_grammar,
)


@pytest.fixture(scope="module")
def model() -> Iterator[LlamaModel]:
    loaded = LlamaModel(resolve_gguf("bundled:smollm2"), vocab_only=True)
    yield loaded
    loaded.close()


def parses_in_a_thread(model: LlamaModel, grammar: GrammarSpec) -> bool:
    result: list[bool] = []

    def parse() -> None:
        sampler = lc.llama_sampler_init_grammar(model.vocab, grammar.text.encode(), b"root")
        result.append(bool(sampler))
        if sampler:
            lc.llama_sampler_free(sampler)

    thread = threading.Thread(target=parse)
    thread.start()
    thread.join()
    return result == [True]


def nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth - 1):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


AT_THE_BOUNDS = [
    {"type": "string", "maxLength": MAX_REPETITION},
    {"type": "string", "minLength": MAX_REPETITION, "maxLength": MAX_REPETITION},
    {"type": "array", "items": {"type": "integer"}, "maxItems": MAX_REPETITION},
    nested(MAX_SCHEMA_DEPTH),
    {"type": "object", "properties": {f"p{i}": {"type": "integer"} for i in range(40)}},
    {"enum": [f"v{i}" for i in range(MAX_ENUM)]},
]


@pytest.mark.parametrize("schema", AT_THE_BOUNDS, ids=range(len(AT_THE_BOUNDS)))
def test_what_passes_the_bounds_parses(model: LlamaModel, schema: dict[str, Any]) -> None:
    grammar = json_schema_grammar(schema)
    assert grammar_nesting(grammar.text) <= MAX_GRAMMAR_NESTING
    assert parses_in_a_thread(model, grammar)


BEYOND = [
    ({"type": "string", "maxLength": 100_000}, ".maxLength"),
    ({"type": "string", "minLength": MAX_REPETITION + 1}, ".minLength"),
    ({"type": "array", "maxItems": 30_000, "items": {}}, ".maxItems"),
    (
        {"type": "object", "properties": {"a": {"type": "array", "minItems": 5000}}},
        ".properties.a.minItems",
    ),
    (nested(MAX_SCHEMA_DEPTH + 1), ".properties.a" * MAX_SCHEMA_DEPTH),
    (
        {"type": "object", "properties": {f"p{i}": {} for i in range(MAX_PROPERTIES + 1)}},
        ".properties",
    ),
    ({"enum": list(range(MAX_ENUM + 1))}, ".enum"),
]


@pytest.mark.parametrize(("schema", "path"), BEYOND, ids=range(len(BEYOND)))
def test_what_lies_beyond_is_refused_with_its_path(schema: dict[str, Any], path: str) -> None:
    with pytest.raises(SchemaError) as raised:
        json_schema_grammar(schema)
    assert raised.value.path == path
    with pytest.raises(SchemaError):
        check_schema_bounds(schema)


def test_a_pattern_of_nested_groups_is_caught_after_conversion() -> None:
    """Nothing in the schema's keywords shows this depth; the grammar check does."""
    depth = MAX_GRAMMAR_NESTING + 10
    with pytest.raises(SchemaError):
        json_schema_grammar({"type": "string", "pattern": "^" + "(a" * depth + ")" * depth + "$"})


def test_a_tool_past_a_bound_is_named_by_its_position() -> None:
    tools = (
        ToolSpec("fine", "", {"type": "object"}),
        ToolSpec("wide", "", {"type": "object", "properties": {"s": {"maxLength": 10**6}}}),
    )
    with pytest.raises(SchemaError) as raised:
        tool_call_grammar(tools, ToolMode("any"))
    assert (raised.value.tool, raised.value.path) == (1, ".properties.s.maxLength")


def test_with_auto_a_bound_past_the_limit_is_left_to_the_client(model: LlamaModel) -> None:
    """Claude Code's Workflow tool has ``maxLength: 524288``: with ``tool_choice:
    auto`` the call is still constrained by everything else in its schema."""
    schema = {"type": "object", "properties": {"s": {"type": "string", "maxLength": 524288}}}
    grammar = tool_call_grammar((ToolSpec("Workflow", "", schema),), ToolMode("auto"))
    assert grammar is not None and parses_in_a_thread(model, grammar)
    with pytest.raises(SchemaError):  # a depth past the limit is still refused
        tool_call_grammar((ToolSpec("deep", "", nested(MAX_SCHEMA_DEPTH + 1)),), ToolMode("auto"))


@pytest.mark.parametrize(
    "schema",
    [{"type": "object", "properties": {"a": 1}}, {"anyOf": [1]}, {"$ref": "#/nowhere"}, False],
)
def test_converter_failures_become_schema_errors(schema: Any) -> None:
    with pytest.raises(SchemaError):
        json_schema_grammar(schema)


@pytest.mark.parametrize("schema", [{}, True, {"description": "any value"}, {"format": "email"}])
def test_schemas_without_constraints_admit_any_value(model: LlamaModel, schema: Any) -> None:
    grammar = json_schema_grammar(
        {"type": "object", "properties": {"v": schema}, "required": ["v"]}
    )
    assert "value" in grammar.text and parses_in_a_thread(model, grammar)


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("root ::= a", 0),
        ("root ::= (a (b)?)?", 2),
        ('root ::= "((((" [(] (x)', 1),
        ('root ::= "\\"(" (x)  # (((', 1),
        ("root ::= [\\]((] ((y))", 2),
    ],
)
def test_grammar_nesting_skips_literals_classes_and_comments(text: str, depth: int) -> None:
    assert grammar_nesting(text) == depth
