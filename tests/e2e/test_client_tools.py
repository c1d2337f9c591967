"""Anthropic's client-executed tools (bash, the text editor, memory, computer use) on the
bundled model, through the official SDK: accepted by their documented type and name,
forced by ``tool_choice``, and answered with an input the SDK's own command types parse."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic.types.beta import BetaMemoryTool20250818Command
from pydantic import TypeAdapter

from tests.support import sdk_client

pytestmark = pytest.mark.slow

MODEL = "smollm2-135m-instruct"
TEXT_EDITOR_COMMANDS = {
    "str_replace_editor": {"view", "create", "str_replace", "insert", "undo_edit"},
    "str_replace_based_edit_tool": {"view", "create", "str_replace", "insert"},
}
TEXT_EDITOR_FIELDS = {
    "view": {"path"},
    "create": {"path", "file_text"},
    "str_replace": {"path", "old_str"},
    "undo_edit": {"path"},
}


def forced(tool: dict[str, Any], ask: str, max_tokens: int = 400) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": max_tokens,
        "extra_body": {"temperature": 0.0},  # one answer per prompt: a pass is a pass
        "messages": [{"role": "user", "content": ask}],
        "tools": [tool],
        "tool_choice": {"type": "tool", "name": tool["name"], "disable_parallel_tool_use": True},
    }


def client(app: Any) -> anthropic.AsyncAnthropic:
    """The SDK on the API version that still takes sampling parameters."""
    return sdk_client(app, default_headers={"anthropic-version": "2023-06-01"})


def only_call(message: Any, name: str) -> dict[str, Any] | None:
    """The one call the answer is, or None when max_tokens cut it short (a 135M model may
    ramble inside a free string; which way greedy decoding goes differs between CPUs)."""
    assert [b.type for b in message.content] == ["tool_use"]
    assert message.content[0].name == name
    assert message.stop_reason in ("tool_use", "max_tokens"), message
    return dict(message.content[0].input) if message.stop_reason == "tool_use" else None


async def test_bash(model_app: Any) -> None:
    tool = {"type": "bash_20250124", "name": "bash"}
    message = await client(model_app).messages.create(
        **forced(tool, "List the files in the current directory.")
    )
    call = only_call(message, "bash")
    if call is not None:
        assert set(call) in ({"command"}, {"restart"})
        assert isinstance(call.get("command", ""), str)


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("text_editor_20250728", "str_replace_based_edit_tool"),
        ("text_editor_20250429", "str_replace_based_edit_tool"),
        ("text_editor_20250124", "str_replace_editor"),
    ],
)
async def test_text_editor(model_app: Any, kind: str, name: str) -> None:
    tool = {"type": kind, "name": name}
    message = await client(model_app).messages.create(
        **forced(tool, "Show me the file /tmp/notes.txt.")
    )
    call = only_call(message, name)
    if call is not None:
        command = call["command"]
        assert command in TEXT_EDITOR_COMMANDS[name]
        inserted = "new_str" if name == "str_replace_editor" else "insert_text"
        required = TEXT_EDITOR_FIELDS.get(command, {"path", "insert_line", inserted})
        assert required <= set(call), call


async def test_memory_parses_as_the_sdk_command(model_app: Any) -> None:
    tool = {"type": "memory_20250818", "name": "memory"}
    message = await client(model_app).messages.create(
        **forced(tool, "Check your memory directory before you start.")
    )
    call = only_call(message, "memory")
    if call is not None:
        TypeAdapter(BetaMemoryTool20250818Command).validate_python(call)


async def test_computer_use_with_its_beta(model_app: Any) -> None:
    tool = {
        "type": "computer_20250124",
        "name": "computer",
        "display_width_px": 1024,
        "display_height_px": 768,
    }
    sdk = client(model_app)
    message = await sdk.beta.messages.create(
        **forced(tool, "Take a screenshot of the screen."), betas=["computer-use-2025-01-24"]
    )
    call = only_call(message, "computer")
    if call is not None:
        assert call["action"] in {
            "key",
            "type",
            "mouse_move",
            "left_click",
            "right_click",
            "middle_click",
            "double_click",
            "triple_click",
            "left_click_drag",
            "left_mouse_down",
            "left_mouse_up",
            "scroll",
            "hold_key",
            "wait",
            "screenshot",
            "cursor_position",
        }
    with pytest.raises(anthropic.BadRequestError) as info:
        await sdk.messages.create(**forced(tool, "Take a screenshot."))
    assert "requires the `computer-use-2025-01-24` beta header" in info.value.message


async def test_streamed_and_counted(model_app: Any) -> None:
    sdk = client(model_app)
    tool = {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"}
    request = forced(tool, "Create /tmp/hello.py that prints hello.")
    async with sdk.messages.stream(**request) as stream:
        final = await stream.get_final_message()
    assert final.content[0].type == "tool_use"
    assert final.content[0].name == "str_replace_based_edit_tool"
    # count_tokens renders the tool's schema as generation does.
    count = await sdk.messages.count_tokens(
        model=MODEL, messages=request["messages"], tools=request["tools"]
    )
    without = await sdk.messages.count_tokens(model=MODEL, messages=request["messages"])
    assert count.input_tokens > without.input_tokens + 50
