"""Inputs that reach native code, fuzzed against the bundled model on llama.cpp:
decoding grammars from schemas, chat templates and the tokenizer from any text; and,
on a vision-capable scripted model, images and PDFs as the loader meets them.

The properties are those of ``test_fuzz_http``: never a 5xx, the API's envelope on
every error, and a server (this process) still alive and answering afterwards.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.app import create_app
from parley.backends.base import Capabilities
from parley.backends.scripted import ScriptedBackend
from tests.fixtures.pdf import make_pdf
from tests.fuzz.strategies import FUZZ, FUZZ_MODEL, NASTY, short_text, text
from tests.fuzz.test_fuzz_http import check
from tests.support import V1, ServerThread, make_settings

MODEL = "smollm2-135m-instruct"
ASK = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    settings = make_settings(tmp_path_factory.mktemp("fuzz-native"))
    with (
        ServerThread(create_app(settings)) as running,
        httpx.Client(base_url=running.base_url, timeout=120) as client,
    ):
        yield client
        healthy = client.post(
            "/v1/messages", headers=V1, json={"model": MODEL, "max_tokens": 2, "messages": ASK}
        )
        assert healthy.status_code == 200, f"after the fuzzing: {healthy.text}"


def schemas(depth: int = 3) -> st.SearchStrategy[Any]:
    """JSON Schemas of every shape the converter meets, sizes included."""
    sizes = st.integers(0, 3) | st.sampled_from([999, 1000, 1001, 50_000, 10**9, -1])
    leaf = st.one_of(
        st.fixed_dictionaries(
            {"type": st.sampled_from(["string", "integer", "number", "boolean", "null"])},
            optional={"description": text},
        ),
        st.fixed_dictionaries(
            {"type": st.just("string")},
            optional={
                "minLength": sizes,
                "maxLength": sizes,
                "pattern": st.sampled_from(
                    [
                        "^a+$",
                        "((",
                        "^(a|b)*$",
                        "^" + "(" * 50 + "a" + ")" * 50 + "$",
                        "[",
                        "^\\d{1,5}$",
                    ]
                )
                | text,
                "format": st.sampled_from(["date", "uuid", "email", "x"]),
            },
        ),
        st.fixed_dictionaries(
            {"enum": st.lists(st.one_of(text, st.integers(), st.none()), max_size=5)}
        ),
        st.fixed_dictionaries({"const": st.one_of(text, st.integers())}),
        st.fixed_dictionaries({}, optional={"description": text}),
        st.booleans(),
        st.fixed_dictionaries(
            {"$ref": st.sampled_from(["#/$defs/a", "#/nowhere", "https://x.test/s", "#"])}
        ),
    )
    if depth == 0:
        return leaf
    inner = schemas(depth - 1)
    return st.one_of(
        leaf,
        st.fixed_dictionaries(
            {"type": st.just("object"), "properties": st.dictionaries(text, inner, max_size=4)},
            optional={
                "required": st.lists(text, max_size=3),
                "additionalProperties": st.booleans() | inner,
                "$defs": st.fixed_dictionaries({"a": inner}),
            },
        ),
        st.fixed_dictionaries(
            {"type": st.just("array"), "items": inner},
            optional={"minItems": sizes, "maxItems": sizes},
        ),
        st.fixed_dictionaries({"anyOf": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"allOf": st.lists(inner, max_size=2)}),
    )


@pytest.mark.slow
@FUZZ_MODEL
@given(schema=schemas(), forced=st.sampled_from(["format", "any", "auto"]), stream=st.booleans())
def test_grammars_from_any_schema(
    model_server: httpx.Client, schema: Any, forced: str, stream: bool
) -> None:
    body: dict[str, Any] = {"model": MODEL, "max_tokens": 4, "messages": ASK, "stream": stream}
    if forced == "format":
        body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    else:
        tool_schema = (
            schema
            if isinstance(schema, dict) and schema.get("type") == "object"
            else {"type": "object", "properties": {"x": schema}}
        )
        body["tools"] = [{"name": "f", "input_schema": tool_schema}]
        body["tool_choice"] = {"type": forced}
    check(model_server.post("/v1/messages", headers=V1, content=json.dumps(body).encode()))


conversation_text = st.one_of(
    short_text,
    st.sampled_from(
        [
            "<|im_start|>system\nx<|im_end|>",
            "{{ raise_exception('x') }}",
            "{% for x in y %}",
            "\x00\x01\x02",
            '<tool_call>{"name": 1}</tool_call>',
        ]
    ),
    st.lists(st.sampled_from(NASTY), min_size=1, max_size=20).map("".join),
)


@pytest.mark.slow
@FUZZ_MODEL
@given(
    system=st.one_of(st.none(), conversation_text),
    turns=st.lists(conversation_text, min_size=1, max_size=4),
    tool_name=st.from_regex(r"[a-zA-Z0-9_-]{1,64}", fullmatch=True),
    tool_description=conversation_text,
    prefill=st.one_of(st.none(), conversation_text),
)
def test_templates_and_tokenizer_on_any_text(
    model_server: httpx.Client,
    system: str | None,
    turns: list[str],
    tool_name: str,
    tool_description: str,
    prefill: str | None,
) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)
    ]
    if prefill is not None and messages[-1]["role"] == "user":
        messages.append({"role": "assistant", "content": prefill})
    body: dict[str, Any] = {"model": MODEL, "messages": messages}
    if system is not None:
        body["system"] = system
    body["tools"] = [
        {"name": tool_name, "description": tool_description, "input_schema": {"type": "object"}}
    ]
    # json.dumps escapes lone surrogates (httpx's json= would refuse to send them).
    counted = json.dumps(body).encode()
    check(model_server.post("/v1/messages/count_tokens", headers=V1, content=counted))
    created = json.dumps({**body, "max_tokens": 2}).encode()
    check(model_server.post("/v1/messages", headers=V1, content=created))


@pytest.fixture(scope="module")
def vision_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    capabilities = Capabilities(context_window=8192, max_output_tokens=1024, images=True)
    settings = make_settings(tmp_path_factory.mktemp("fuzz-media"), models=[])
    backend = ScriptedBackend(capabilities=capabilities)
    app = create_app(settings, backends={"scripted": backend})
    with ServerThread(app) as running, httpx.Client(base_url=running.base_url, timeout=60) as c:
        yield c


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
PDF = make_pdf(["one page of text"])


@FUZZ
@given(
    raw=st.one_of(
        st.binary(max_size=2048),
        st.just(PNG),
        st.just(PNG[:20]),
        st.just(PDF),
        st.just(PDF[: len(PDF) // 2]),
    ),
    kind=st.sampled_from(["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"]),
    garble=st.booleans(),
)
def test_images_and_pdfs(vision_server: httpx.Client, raw: bytes, kind: str, garble: bool) -> None:
    data = base64.b64encode(raw).decode()
    if garble:
        data = data[:-3] + "!@#"
    block = {
        "type": "document" if kind == "application/pdf" else "image",
        "source": {"type": "base64", "media_type": kind, "data": data},
    }
    body = {
        "model": "scripted",
        "max_tokens": 4,
        "messages": [{"role": "user", "content": [block, {"type": "text", "text": "?"}]}],
    }
    check(vision_server.post("/v1/messages", headers=V1, json=body))
    check(
        vision_server.post(
            "/v1/messages/count_tokens",
            headers=V1,
            json={k: v for k, v in body.items() if k != "max_tokens"},
        )
    )


def test_targeted_media_cases(vision_server: httpx.Client) -> None:
    """The cases the fuzzer must keep finding right, stated once."""

    def ask(block: dict[str, Any]) -> httpx.Response:
        body = {
            "model": "scripted",
            "max_tokens": 4,
            "messages": [{"role": "user", "content": [block, {"type": "text", "text": "?"}]}],
        }
        return vision_server.post("/v1/messages", headers=V1, json=body)

    def image(raw: bytes | str, kind: str = "image/png") -> dict[str, Any]:
        data = raw if isinstance(raw, str) else base64.b64encode(raw).decode()
        return {"type": "image", "source": {"type": "base64", "media_type": kind, "data": data}}

    def pdf(raw: bytes) -> dict[str, Any]:
        return {
            "type": "document",
            "source": {
                "type": "base64",
                "media_type": "application/pdf",
                "data": base64.b64encode(raw).decode(),
            },
        }

    assert ask(image(PNG)).status_code == 200
    wrong_type = ask(image(PNG, "image/jpeg"))
    assert wrong_type.status_code == 400
    assert "the image data is image/png, but media_type says image/jpeg" in wrong_type.text
    assert "not valid base64" in ask(image("%%%")).json()["error"]["message"]
    assert ask(image(b"not an image")).status_code == 400
    url = ask({"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}})
    assert url.status_code == 400 and "does not fetch URLs" in url.text
    assert ask(pdf(PDF)).status_code == 200
    broken = ask(pdf(PDF[: len(PDF) // 2]))
    assert broken.status_code == 400 and "the PDF could not be read" in broken.text
    long = ask(pdf(make_pdf([f"page {i}" for i in range(101)])))
    assert (
        long.status_code == 400 and "the PDF has 101 pages; Parley reads at most 100" in long.text
    )
