"""Prompt rendering: Parley's documented tool format, native tool templates, prefill."""

from __future__ import annotations

from parley.backends.base import (
    GenerationRequest,
    TextPart,
    ToolCallPart,
    ToolMode,
    ToolResultPart,
    ToolSpec,
    Turn,
)
from parley.backends.common.chat_template import CHATML, ChatTemplate
from tests.fixtures.templates import HERMES_WITH_TOOLS

TOOL = ToolSpec("get_weather", "Weather for a city", {"type": "object", "properties": {}})
CONVERSATION = (
    Turn("user", (TextPart("Weather in Paris?"),)),
    Turn("assistant", (ToolCallPart("toolu_1", "get_weather", {"city": "Paris"}),)),
    Turn("user", (ToolResultPart("toolu_1", (TextPart("18C"),)), TextPart("Thanks"))),
)


def request(**changes: object) -> GenerationRequest:
    base: dict[str, object] = {
        "model": "m",
        "system": "Be brief.",
        "turns": CONVERSATION,
        "max_tokens": 10,
        "tools": (TOOL,),
    }
    base.update(changes)
    return GenerationRequest(**base)  # type: ignore[arg-type]


def test_documented_format_for_templates_without_tools() -> None:
    text = ChatTemplate(CHATML, bos_token="", eos_token="").render(request())
    assert text.startswith("<|im_start|>system\nBe brief.\n\n# Tools\n")
    assert '{"type": "function", "function": {"name": "get_weather"' in text
    assert (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>' in text
    )
    assert "<tool_response>\n18C\n</tool_response>\nThanks" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_native_template_renders_tools_itself() -> None:
    template = ChatTemplate(HERMES_WITH_TOOLS, bos_token="", eos_token="")
    assert template.native_tools
    text = template.render(request())
    assert "You may call one or more functions" not in text  # Parley's own section is not added
    assert '"name": "get_weather"' in text.split("</tools>")[0]
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}' in text
    assert "<tool_response>\n18C\n</tool_response>" in text


def test_tool_choice_none_leaves_tools_out() -> None:
    text = ChatTemplate(CHATML, bos_token="", eos_token="").render(
        request(tool_mode=ToolMode("none"))
    )
    assert "# Tools" not in text


def test_error_results_are_marked() -> None:
    turns = (
        *CONVERSATION[:2],
        Turn("user", (ToolResultPart("toolu_1", (TextPart("no such city"),), True),)),
    )
    text = ChatTemplate(CHATML, bos_token="", eos_token="").render(request(turns=turns))
    assert "<tool_response>\nError: no such city\n</tool_response>" in text


def test_prefill_is_appended_after_the_generation_prompt() -> None:
    turns = (
        Turn("user", (TextPart("Capital of France?"),)),
        Turn("assistant", (TextPart("It is"),)),
    )
    text = ChatTemplate(CHATML, bos_token="", eos_token="").render(request(turns=turns, tools=()))
    assert text.endswith("<|im_start|>assistant\nIt is")
