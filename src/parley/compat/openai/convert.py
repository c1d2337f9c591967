"""Chat-completions requests to ``MessageCreateParams``, Claude messages to completions.

The mapping follows the hosted Claude API's own OpenAI compatibility where it has one:
``system`` and ``developer`` messages, wherever they stand, are joined (in order, by a
blank line) into the system prompt; ``temperature`` above 1 is taken as 1; consecutive
``tool`` results become one user turn. ``seed`` has no Claude field, so it travels
beside the params. Parameters Parley does not honour are refused by name, except at
the value that changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from parley.compat.openai.wire import (
    AssistantMessage,
    ChatCompletionCreateParams,
    ChatMessage,
    FilePart,
    FunctionTool,
    ImagePart,
    JSONObjectFormat,
    JSONSchemaFormat,
    NamedToolChoice,
    SystemMessage,
    TextPart,
    Tool,
    ToolMessage,
    UserMessage,
)
from parley.errors import InvalidRequestError, as_invalid_request
from parley.wire.requests import MessageCreateParams

# Fields Parley accepts only at the value that asks for nothing; any other value is
# refused. ``None`` is always accepted.
NEUTRAL: Mapping[str, tuple[object, ...]] = {
    "n": (1,),
    "logprobs": (False,),
    "top_logprobs": (0,),
    "frequency_penalty": (0,),
    "presence_penalty": (0,),
    "logit_bias": ({},),
    "store": (False,),
    "modalities": (["text"],),
    "service_tier": ("auto", "default"),
}
# Fields accepted and without effect here, by design: OpenAI's ``metadata`` tags stored
# completions (Parley stores none), and ``prompt_cache_key`` routes to a cache that
# Parley keys on the prompt prefix itself.
WITHOUT_EFFECT = frozenset({"metadata", "prompt_cache_key"})

FINISH_REASONS: Mapping[str | None, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

_DATA_URL = re.compile(r"data:(?P<type>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Converted:
    """What a chat-completions request asks of the Messages service."""

    params: MessageCreateParams
    seed: int | None
    include_usage: bool


def to_messages(params: ChatCompletionCreateParams, *, max_tokens: int) -> Converted:
    """The Claude request for ``params``; ``max_tokens`` when the request names none."""
    _refuse_unhonoured(params)
    system, turns = _conversation(params.messages)
    body: dict[str, Any] = {
        "model": params.model,
        "messages": turns,
        "max_tokens": params.max_completion_tokens or params.max_tokens or max_tokens,
    }
    if system is not None:
        body["system"] = system
    if params.stream:
        body["stream"] = True
    body |= _sampling(params) | _tools(params)
    schema = _output_schema(params)
    if schema is not None:
        body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    user = params.user or params.safety_identifier
    if user:
        body["metadata"] = {"user_id": user}
    try:
        claude = MessageCreateParams.model_validate_json(json.dumps(body))
    except ValidationError as exc:
        raise as_invalid_request(exc) from None
    options = params.stream_options
    return Converted(
        params=claude, seed=params.seed, include_usage=bool(options and options.include_usage)
    )


def _sampling(params: ChatCompletionCreateParams) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if params.temperature is not None:
        out["temperature"] = min(params.temperature, 1.0)
    if params.top_p is not None:
        out["top_p"] = params.top_p
    if params.stop:
        out["stop_sequences"] = [params.stop] if isinstance(params.stop, str) else params.stop
    return out


def _tools(params: ChatCompletionCreateParams) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if params.tools:
        out["tools"] = [_tool(t, i) for i, t in enumerate(params.tools)]
    choice = _tool_choice(params)
    if choice is not None:
        out["tool_choice"] = choice
    return out


def _refuse_unhonoured(params: ChatCompletionCreateParams) -> None:
    if params.stream_options is not None and not params.stream:
        raise InvalidRequestError("stream_options: only allowed when stream is true.")
    for name, value in (params.model_extra or {}).items():
        if value is None or name in WITHOUT_EFFECT or value in NEUTRAL.get(name, ()):
            continue
        if name in NEUTRAL:
            raise InvalidRequestError(
                f"{name}: {json.dumps(value)} is not supported by Parley's chat completions; "
                f"send {json.dumps(NEUTRAL[name][0])} or leave it out."
            )
        raise InvalidRequestError(
            f"{name}: not supported by Parley's chat completions; leave it out."
        )


def _conversation(
    messages: Sequence[ChatMessage],
) -> tuple[str | None, list[dict[str, Any]]]:
    """The system prompt and the Claude turns; same-role neighbours are merged."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if isinstance(message, SystemMessage):
            system.append(_text_of(message.content))
        elif isinstance(message, UserMessage):
            _append(turns, "user", _user_blocks(message, where))
        elif isinstance(message, AssistantMessage):
            _append(turns, "assistant", _assistant_blocks(message, where))
        elif isinstance(message, ToolMessage):
            result = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": _text_of(message.content),
            }
            _append(turns, "user", [result])
        else:
            raise InvalidRequestError(
                f"{where}.role: 'function' messages are deprecated and not supported; "
                "send the result as a 'tool' message with its tool_call_id."
            )
    return ("\n\n".join(system) if system else None), turns


def _append(turns: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def _text_of(content: str | Sequence[TextPart]) -> str:
    return content if isinstance(content, str) else "".join(p.text for p in content)


def _user_blocks(message: UserMessage, where: str) -> list[dict[str, Any]]:
    if isinstance(message.content, str):
        return [{"type": "text", "text": message.content}]
    blocks: list[dict[str, Any]] = []
    for j, part in enumerate(message.content):
        at = f"{where}.content.{j}"
        if isinstance(part, TextPart):
            blocks.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            blocks.append(_image(part.image_url.url))
        elif isinstance(part, FilePart):
            blocks.append(_document(part, at))
        else:
            raise InvalidRequestError(f"{at}.type: audio input is not supported.")
    return blocks


def _image(url: str) -> dict[str, Any]:
    found = _DATA_URL.fullmatch(url)
    if found is None:
        # A URL source: the Messages rules answer it as they answer Claude clients.
        return {"type": "image", "source": {"type": "url", "url": url}}
    source = {"type": "base64", "media_type": found["type"], "data": found["data"]}
    return {"type": "image", "source": source}


def _document(part: FilePart, at: str) -> dict[str, Any]:
    ref = part.file
    if ref.file_id:
        return {"type": "document", "source": {"type": "file", "file_id": ref.file_id}}
    if not ref.file_data:
        raise InvalidRequestError(f"{at}.file: give file_id or file_data.")
    found = _DATA_URL.fullmatch(ref.file_data)
    # Without a data: prefix the data is taken as a PDF's base64, as OpenAI takes it.
    media_type = found["type"] if found else "application/pdf"
    data = found["data"] if found else ref.file_data
    if media_type != "application/pdf":
        raise InvalidRequestError(
            f"{at}.file.file_data: {media_type} files are not supported; send a PDF."
        )
    document: dict[str, Any] = {
        "type": "document",
        "source": {"type": "base64", "media_type": media_type, "data": data},
    }
    if ref.filename:
        document["title"] = ref.filename
    return document


def _assistant_blocks(message: AssistantMessage, where: str) -> list[dict[str, Any]]:
    if message.audio is not None or message.function_call is not None:
        field = "audio" if message.audio is not None else "function_call"
        raise InvalidRequestError(f"{where}.{field}: not supported; use content and tool_calls.")
    texts: list[str] = []
    if isinstance(message.content, str):
        texts.append(message.content)
    elif message.content:
        texts.extend(p.text if isinstance(p, TextPart) else p.refusal for p in message.content)
    if message.refusal:
        texts.append(message.refusal)
    blocks: list[dict[str, Any]] = [{"type": "text", "text": t} for t in texts if t]
    for j, call in enumerate(message.tool_calls or ()):
        at = f"{where}.tool_calls.{j}.function.arguments"
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except json.JSONDecodeError:
            raise InvalidRequestError(f"{at}: not valid JSON.") from None
        if not isinstance(arguments, dict):
            raise InvalidRequestError(f"{at}: must be a JSON object.")
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.function.name, "input": arguments}
        )
    return blocks


def _tool(tool: Tool, index: int) -> dict[str, Any]:
    if not isinstance(tool, FunctionTool):
        raise InvalidRequestError(
            f"tools.{index}.type: only 'function' tools are supported; custom tools are not."
        )
    function = tool.function
    schema = dict(function.parameters or {"type": "object", "properties": {}})
    schema.setdefault("type", "object")
    out: dict[str, Any] = {"name": function.name, "input_schema": schema}
    if function.description:
        out["description"] = function.description
    return out


def _tool_choice(params: ChatCompletionCreateParams) -> dict[str, Any] | None:
    choice = params.tool_choice
    single = params.parallel_tool_calls is False
    if choice is None:
        if single and params.tools:
            return {"type": "auto", "disable_parallel_tool_use": True}
        return None
    if choice == "none":
        return {"type": "none"}
    if isinstance(choice, NamedToolChoice):
        out: dict[str, Any] = {"type": "tool", "name": choice.function.name}
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "auto":
        out = {"type": "auto"}
    else:
        raise InvalidRequestError(
            "tool_choice: only 'none', 'auto', 'required' and a named function are supported."
        )
    if single:
        out["disable_parallel_tool_use"] = True
    return out


def _output_schema(params: ChatCompletionCreateParams) -> dict[str, Any] | None:
    fmt = params.response_format
    if isinstance(fmt, JSONObjectFormat):
        return {"type": "object"}
    if isinstance(fmt, JSONSchemaFormat):
        return fmt.json_schema.schema_ or {"type": "object"}
    return None


# --- answers -------------------------------------------------------------------------


def usage(claude: Mapping[str, Any]) -> dict[str, Any]:
    """OpenAI's usage for a Claude ``usage``: cached and cache-written tokens are part of
    the prompt, as OpenAI counts them."""
    cached = claude.get("cache_read_input_tokens") or 0
    prompt = (claude.get("input_tokens") or 0) + cached
    prompt += claude.get("cache_creation_input_tokens") or 0
    completion = claude.get("output_tokens") or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def completion(message: Mapping[str, Any], *, created: int) -> dict[str, Any]:
    """The ``chat.completion`` for a Claude ``Message`` in its wire form."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message.get("content", ()):
        if block.get("type") == "text":
            texts.append(block["text"])
        elif block.get("type") == "tool_use":
            calls.append(tool_call(block, json.dumps(block.get("input", {}))))
    answer: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not calls else None,
        "refusal": None,
    }
    if calls:
        answer["tool_calls"] = calls
    return {
        "id": message["id"],
        "object": "chat.completion",
        "created": created,
        "model": message["model"],
        "choices": [
            {
                "index": 0,
                "message": answer,
                "finish_reason": FINISH_REASONS.get(message.get("stop_reason"), "stop"),
                "logprobs": None,
            }
        ],
        "usage": usage(message.get("usage", {})),
    }


def tool_call(block: Mapping[str, Any], arguments: str) -> dict[str, Any]:
    """A ``tool_use`` block as OpenAI's ``tool_calls`` entry."""
    return {
        "id": block["id"],
        "type": "function",
        "function": {"name": block["name"], "arguments": arguments},
    }


def model_entry(model_id: str, created_at: datetime) -> dict[str, Any]:
    """One served model in OpenAI's ``model`` shape."""
    return {
        "id": model_id,
        "object": "model",
        "created": int(created_at.timestamp()),
        "owned_by": "parley",
    }
