"""The decoding grammars, run by llama.cpp's own grammar sampler on the bundled
model's vocabulary: what they let a model write, token by token."""

from __future__ import annotations

import ctypes
import json
from collections.abc import Iterator
from typing import Any

import llama_cpp as lc
import pytest

from parley.backends.base import ToolMode, ToolSpec
from parley.backends.common.gguf import LlamaModel, resolve_gguf
from parley.backends.llama_cpp.grammar import (
    CallBudget,
    GrammarSpec,
    call_budget,
    json_schema_grammar,
    tool_call_grammar,
)

WEATHER = ToolSpec(
    name="get_weather",
    description="Weather in a city.",
    input_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"],
    },
)
FORCED = ToolMode("required", only="get_weather", single=True)


@pytest.fixture(scope="module")
def model() -> Iterator[LlamaModel]:
    loaded = LlamaModel(resolve_gguf("bundled:smollm2"), vocab_only=True)
    yield loaded
    loaded.close()


def allows(model: LlamaModel, grammar: GrammarSpec, text: str) -> bool:
    """Whether the grammar lets the model write ``text`` (as the tokenizer splits it)
    and then stop."""
    sampler = lc.llama_sampler_init_grammar(model.vocab, grammar.text.encode(), b"root")
    assert sampler, "llama.cpp rejected the grammar"
    try:
        tokens = model.tokenize(text, prompt=False)
        for token in [*tokens, lc.llama_vocab_eos(model.vocab)]:
            if not _permitted(sampler, token):
                return False
            lc.llama_sampler_accept(sampler, token)
        return True
    finally:
        lc.llama_sampler_free(sampler)


def _permitted(sampler: Any, token: int) -> bool:
    candidate = lc.llama_token_data(token, 0.0, 0.0)
    array = lc.llama_token_data_array(ctypes.pointer(candidate), 1, -1, False)
    lc.llama_sampler_apply(sampler, ctypes.byref(array))
    return bool(candidate.logit > float("-inf"))


def call(arguments: str) -> str:
    return f'<tool_call>\n{{"name": "get_weather", "arguments": {arguments}}}\n</tool_call>'


def test_a_forced_call_must_match_the_schema(model: LlamaModel) -> None:
    grammar = tool_call_grammar((WEATHER,), FORCED)
    assert grammar is not None
    assert allows(model, grammar, call('{"city": "Paris", "unit": "celsius"}'))
    assert not allows(model, grammar, call("{}"))
    assert not allows(model, grammar, call('{"city": "Paris", "unit": "kelvin"}'))


@pytest.mark.parametrize("control", ["\n", "\t", "\r", "\x01"])
def test_strings_are_json_strings(model: LlamaModel, control: str) -> None:
    """A raw control character in a string is not JSON (json.loads refuses it, and so
    would the SDK's parser of the streamed input); escaped, it is."""
    grammar = tool_call_grammar((WEATHER,), FORCED)
    assert grammar is not None
    escaped = json.dumps(f"Par{control}is")
    assert allows(model, grammar, call(f'{{"city": {escaped}, "unit": "celsius"}}'))
    assert not allows(model, grammar, call(f'{{"city": "Par{control}is", "unit": "celsius"}}'))


def test_output_format_strings_are_json_strings(model: LlamaModel) -> None:
    grammar = json_schema_grammar({"type": "object", "properties": {"a": {"type": "string"}}})
    assert allows(model, grammar, '{"a": "one\\ntwo"}')
    assert not allows(model, grammar, '{"a": "one\ntwo"}')


def lazy_allows(model: LlamaModel, grammar: GrammarSpec, text: str) -> bool:
    """Like ``allows``, with the grammar lazy as ``tool_choice: auto`` installs it: free
    until its trigger appears in the output, then fed what was written from the
    trigger's group on (llama.cpp's own replay) and applied to every later token."""
    assert grammar.lazy_trigger is not None
    patterns = (ctypes.c_char_p * 1)(grammar.lazy_trigger.encode())
    sampler = lc.llama_sampler_init_grammar_lazy_patterns(
        model.vocab, grammar.text.encode(), b"root", patterns, 1, None, 0
    )
    assert sampler, "llama.cpp rejected the grammar or its trigger"
    try:
        for token in [*model.tokenize(text, prompt=False), lc.llama_vocab_eos(model.vocab)]:
            if not _permitted(sampler, token):
                return False
            lc.llama_sampler_accept(sampler, token)
        return True
    finally:
        lc.llama_sampler_free(sampler)


AUTO = ToolMode("auto")


@pytest.mark.parametrize(
    "opening",
    [
        'I\'ll check.\n```json\n{\n  "name": "get_weather",\n  "arguments": ',
        'Sure.\n{"name": "get_weather", "arguments": ',
        '<tool_call>\n{"name": "get_weather", "arguments": ',
    ],
    ids=["fenced", "bare", "tagged"],
)
def test_auto_constrains_a_call_in_each_form_once_it_starts(
    model: LlamaModel, opening: str
) -> None:
    """Qwen2.5-Coder writes calls as fenced JSON as often as in tags: whichever form
    starts, the arguments are held to the tool's schema from there."""
    grammar = tool_call_grammar((WEATHER,), AUTO)
    assert grammar is not None
    close = "}\n</tool_call>" if opening.startswith("<") else "}"
    assert lazy_allows(model, grammar, opening + '{"city": "Paris", "unit": "celsius"}' + close)
    assert not lazy_allows(model, grammar, opening + '{"city": "Paris", "unit": "kelvin"}')


def test_auto_leaves_prose_and_other_json_free(model: LlamaModel) -> None:
    grammar = tool_call_grammar((WEATHER,), AUTO)
    assert grammar is not None
    text = 'It is sunny.\n```json\n{"name": "my-app", "version": 1}\n```\nx {"name": "get_weather"}'
    assert lazy_allows(model, grammar, text)


def count_with(model: LlamaModel) -> Any:
    return lambda text: len(model.tokenize(text, prompt=False, special=True))


def test_a_forced_call_in_a_tight_budget_bounds_its_free_strings(model: LlamaModel) -> None:
    budget = call_budget((WEATHER,), FORCED, 96, count_with(model))
    skeleton = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "", "unit": '
    skeleton += '"fahrenheit"}}\n</tool_call>'
    expected = 96 - len(model.tokenize(skeleton, prompt=False, special=True)) - 8
    assert budget == CallBudget({"get_weather": expected}, max_calls=1)
    grammar = tool_call_grammar((WEATHER,), FORCED, budget)
    assert grammar is not None
    fits = json.dumps("x" * expected)
    too_long = json.dumps("x" * (expected + 1))
    assert allows(model, grammar, call(f'{{"city": {fits}, "unit": "celsius"}}'))
    assert not allows(model, grammar, call(f'{{"city": {too_long}, "unit": "celsius"}}'))
    # Whatever the model writes within the bound, the call fits in max_tokens.
    city = json.dumps("a " * (expected // 2))
    assert count_with(model)(call(f'{{"city": {city}, "unit": "fahrenheit"}}')) <= 96


def test_a_tight_budget_admits_only_the_calls_that_fit(model: LlamaModel) -> None:
    """Asked for a call with parallel calls allowed, the bundled model went on to a second
    call (another unit) and a third until max_tokens cut it, in 47 of 200 seeds."""
    parallel = ToolMode("required", only="get_weather")
    count = count_with(model)
    budget = call_budget((WEATHER,), parallel, 96, count)
    assert budget.max_calls == 1
    grammar = tool_call_grammar((WEATHER,), parallel, budget)
    assert grammar is not None
    one = call('{"city": "Paris", "unit": "celsius"}')
    assert allows(model, grammar, one)
    assert not allows(model, grammar, one + "\n" + one)
    # A tool without free strings: as many calls as fit whole.
    pick = ToolSpec("pick", "", {"type": "object", "properties": {"x": {"enum": ["a", "b"]}}})
    picked = '<tool_call>\n{"name": "pick", "arguments": {"x": "a"}}\n</tool_call>'
    calls = call_budget((pick,), ToolMode("required"), 96, count).max_calls
    assert calls is not None
    assert calls == 96 // (count(picked) + 8) and calls > 1
    grammar = tool_call_grammar((pick,), ToolMode("required"), CallBudget(max_calls=calls))
    assert grammar is not None
    assert allows(model, grammar, "\n".join([picked] * calls))
    assert not allows(model, grammar, "\n".join([picked] * (calls + 1)))


def test_loose_budgets_and_unforced_calls_are_not_bounded(model: LlamaModel) -> None:
    count = count_with(model)
    assert call_budget((WEATHER,), FORCED, 4096, count) == CallBudget()
    assert call_budget((WEATHER,), ToolMode("auto"), 96, count) == CallBudget()
    enum_only = ToolSpec("pick", "", {"type": "object", "properties": {"x": {"enum": ["a"]}}})
    assert call_budget((enum_only,), ToolMode("required"), 96, count).string_bounds == {}
    assert call_budget((enum_only,), ToolMode("required"), 4096, count).max_calls is None
    two = ToolSpec(
        "two",
        "",
        {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}},
    )
    (shared,) = call_budget((two,), ToolMode("required"), 96, count).string_bounds.values()
    (alone,) = call_budget((WEATHER,), FORCED, 96, count).string_bounds.values()
    assert shared < alone  # two free strings share the room
