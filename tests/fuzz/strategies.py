"""Request bodies for the fuzzer, three ways.

- ``from_model``: from Parley's own wire models — their JSON Schema (pydantic's
  ``model_json_schema``) read into hypothesis strategies: objects with their required
  and optional properties, unions, enums, numbers at and past their bounds. Values are
  mostly valid in shape, so they reach the rules, translation and backends.
- ``from_sdk``: from the official SDK's request TypedDicts (``st.from_type``), made
  JSON: what a real client's code could send, including fields Parley refuses.
- ``mutated``: valid bodies with their bytes damaged — truncated, flipped, spliced,
  nested deep — for the parser and the error paths.

Strings lean towards what breaks parsers and templates: control characters, lone
surrogates, Jinja delimiters, very long runs.
"""

from __future__ import annotations

import json
import os
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pydantic import BaseModel

# Examples per fuzz test: 40 in `make test`; set PARLEY_FUZZ_EXAMPLES for a long run.
FUZZ = settings(
    max_examples=int(os.environ.get("PARLEY_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
# Examples per test that runs the model: each one prefills a prompt on llama.cpp.
FUZZ_MODEL = settings(FUZZ, max_examples=max(5, FUZZ.max_examples // 4))
NASTY = ["{{", "}}", "{%", "%}", "<tool_call>", "</s>", "<|im_end|>", "\x00", "\ud800", "\u202e"]
text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(NASTY),
    st.builds(lambda s, n: s * n, st.sampled_from(["a", "é", "\n", " "]), st.integers(0, 3000)),
)
# For prompts the model must prefill: the same kinds of text, shorter.
short_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(NASTY),
    st.builds(lambda s, n: s * n, st.sampled_from(["a", "é", "\n", " "]), st.integers(0, 400)),
)
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
any_json = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


def from_model(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    schema = model.model_json_schema()
    return _Schema(schema.get("$defs", {})).strategy(schema, depth=0)  # type: ignore[return-value]


class _Schema:
    """JSON Schema → strategy, for the subset pydantic writes."""

    MAX_DEPTH = 6

    def __init__(self, defs: Mapping[str, Any]) -> None:
        self.defs = defs

    def strategy(self, node: Any, depth: int) -> st.SearchStrategy[Any]:
        if not isinstance(node, dict) or depth > self.MAX_DEPTH:
            return json_leaf
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return st.deferred(lambda: self.strategy(self.defs[name], depth + 1))
        for key in ("anyOf", "oneOf"):
            if key in node:
                return st.one_of([self.strategy(n, depth + 1) for n in node[key]])
        if "const" in node:
            return st.just(node["const"])
        if "enum" in node:
            return st.sampled_from(node["enum"]) | json_leaf
        return self._typed(node, node.get("type"), depth)

    def _typed(self, node: dict[str, Any], kind: Any, depth: int) -> st.SearchStrategy[Any]:
        if kind == "object":
            return self._object(node, depth)
        if kind == "array":
            items = self.strategy(node.get("items", {}), depth + 1)
            return st.lists(items, min_size=node.get("minItems", 0), max_size=3)
        if kind == "string":
            return text
        if kind == "integer":
            low, high = node.get("minimum", -(10**6)), node.get("maximum", 10**6)
            return st.integers(low - 1, high + 1) | st.sampled_from([0, 1, 2**31, 10**30])
        if kind == "number":
            return st.floats(node.get("minimum", -10) - 1, node.get("maximum", 10) + 1)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        return any_json

    def _object(self, node: dict[str, Any], depth: int) -> st.SearchStrategy[dict[str, Any]]:
        properties = node.get("properties", {})
        required = set(node.get("required", []))
        needed = {k: self.strategy(v, depth + 1) for k, v in properties.items() if k in required}
        optional = {
            k: self.strategy(v, depth + 1) for k, v in properties.items() if k not in required
        }
        if not properties:
            return st.dictionaries(text, any_json, max_size=3)
        return st.fixed_dictionaries(needed, optional=optional)


# The SDK types free-form fields (a tool call's ``input``, metadata) as ``object``;
# hypothesis would fill them with any Python object at all, slowly. JSON is what a
# client can send.
st.register_type_strategy(object, any_json)


def from_sdk(typed_dict: Any) -> st.SearchStrategy[Any]:
    """The SDK's own request type, with its iterables as lists and its models dumped."""
    return st.from_type(typed_dict).map(as_json)


def _sdk(*names: str) -> st.SearchStrategy[Any]:
    return st.one_of([from_sdk(sdk_type(f"anthropic.types.{name}")) for name in names])


def sdk_message_body(*, generation: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """A Messages body assembled from the SDK's param types (the SDK's whole
    ``MessageCreateParams`` is one union too large for hypothesis to handle quickly)."""
    block = _sdk(
        "TextBlockParam",
        "ImageBlockParam",
        "DocumentBlockParam",
        "ToolUseBlockParam",
        "ToolResultBlockParam",
        "SearchResultBlockParam",
        "ThinkingBlockParam",
    )
    message = st.fixed_dictionaries(
        {
            "role": st.sampled_from(["user", "assistant", "system"]),
            "content": text | st.lists(block, max_size=3),
        }
    )
    tool = _sdk(
        "ToolParam",
        "ToolBash20250124Param",
        "ToolTextEditor20250728Param",
        "MemoryTool20250818Param",
        "WebSearchTool20250305Param",
    )
    required: dict[str, st.SearchStrategy[Any]] = {
        "model": st.just("scripted") | text,
        "messages": st.lists(message, min_size=1, max_size=3),
    }
    if generation:
        required["max_tokens"] = st.integers(0, 64) | st.integers(-5, 10**9)
    optional = {
        "system": text | st.lists(_sdk("TextBlockParam"), max_size=2),
        "tools": st.lists(tool, max_size=3),
        "tool_choice": _sdk("ToolChoiceParam"),
        "thinking": _sdk("ThinkingConfigParam"),
        "output_config": _sdk("OutputConfigParam"),
        "cache_control": _sdk("CacheControlEphemeralParam"),
    }
    if generation:
        optional |= {
            "metadata": _sdk("MetadataParam"),
            "stop_sequences": st.lists(text, max_size=3),
            "temperature": st.floats(-1, 2),
            "top_k": st.integers(-1, 100),
        }
    return st.fixed_dictionaries(required, optional=optional)


def as_json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return as_json(value.model_dump(mode="json"))
    if isinstance(value, Mapping):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, Iterable):
        return [as_json(v) for v in value]
    return str(value)


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> bytes:
    """``valid``'s JSON with its bytes damaged."""
    raw = bytearray(json.dumps(valid).encode())
    how = draw(st.sampled_from(["truncate", "flip", "splice", "nest", "duplicate", "bom"]))
    if how == "truncate":
        return bytes(raw[: draw(st.integers(0, max(0, len(raw) - 1)))])
    if how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(raw) - 1))
            raw[i] = draw(st.integers(0, 255))
        return bytes(raw)
    if how == "splice":
        i = draw(st.integers(0, len(raw)))
        return bytes(raw[:i]) + draw(st.binary(max_size=32)) + bytes(raw[i:])
    if how == "nest":
        depth = draw(st.integers(100, 5000))
        return (
            json.dumps({**valid, "metadata": None}).encode()[:-1]
            + b', "system": '
            + b"[" * depth
            + b"]" * depth
            + b"}"
        )
    if how == "duplicate":
        return bytes(raw[:-1]) + b', "model": 5, "max_tokens": "x"}'
    return b"\xef\xbb\xbf" + bytes(raw)


def sdk_type(path: str) -> Any:
    """``anthropic.types...`` by dotted path, resolving the SDK's forward references."""
    module_name, _, name = path.rpartition(".")
    module = __import__(module_name, fromlist=[name])
    found = getattr(module, name)
    if isinstance(found, type):
        typing.get_type_hints(found)  # fails here, not inside hypothesis, if unresolvable
    return found


def _openai(*names: str) -> st.SearchStrategy[Any]:
    return st.one_of([from_sdk(sdk_type(f"openai.types.chat.{name}")) for name in names])


def openai_chat_body() -> st.SearchStrategy[dict[str, Any]]:
    """A chat-completions body from the ``openai`` SDK's param types, per field."""
    message = _openai(
        "ChatCompletionSystemMessageParam",
        "ChatCompletionDeveloperMessageParam",
        "ChatCompletionUserMessageParam",
        "ChatCompletionAssistantMessageParam",
        "ChatCompletionToolMessageParam",
        "ChatCompletionFunctionMessageParam",
    )
    # Plain user turns and the served model's name, often, so that bodies get past
    # validation to the conversion and the model.
    plain = st.fixed_dictionaries({"role": st.just("user"), "content": text})
    required: dict[str, st.SearchStrategy[Any]] = {
        "model": st.just("scripted") | st.just("scripted") | text,
        "messages": st.lists(plain | message, min_size=1, max_size=3),
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "max_tokens": st.integers(1, 64) | st.integers(-5, 10**9),
        "max_completion_tokens": st.integers(0, 64),
        "temperature": st.floats(-1, 3),
        "top_p": st.floats(-1, 2),
        "stop": text | st.lists(text, max_size=3),
        "seed": st.integers(-(2**70), 2**70),
        "n": st.integers(-1, 3),
        "logprobs": st.booleans(),
        "tools": st.lists(_openai("ChatCompletionFunctionToolParam"), max_size=2),
        "tool_choice": st.sampled_from(["auto", "none", "required"]) | any_json,
        "parallel_tool_calls": st.booleans(),
        "response_format": st.sampled_from(
            [{"type": "text"}, {"type": "json_object"}, {"type": "json_schema"}]
        )
        | any_json,
        "stream": st.booleans(),
        "stream_options": _openai("ChatCompletionStreamOptionsParam"),
        "user": text,
    }
    return st.fixed_dictionaries(required, optional=optional)
