"""The Anthropic-defined tools the client runs: bash, the text editor, memory, computer.

The API defines these by ``type`` and a fixed ``name``; the request carries no input
schema, because the hosted models know the tools. A local model does not, so Parley
gives each one the input schema its documentation and the SDK's command types describe
(``types/beta/beta_memory_tool_20250818_*_command.py``, ``types/computer_*_input.py``)
and a short description, and from there it is served like a custom tool: rendered in
the prompt, constrained by a grammar when ``tool_choice`` forces it, counted by
``count_tokens``. The calls come back as ordinary ``tool_use`` blocks, which the client
executes as it does against the hosted API.
"""

from __future__ import annotations

from typing import Any

from parley.wire.tools import (
    BashToolParam,
    ClientToolParam,
    ComputerToolParam,
    MemoryToolParam,
    TextEditorToolParam,
)

# Which name each text-editor version takes (the API refuses the other one).
TEXT_EDITOR_NAMES = {
    "text_editor_20241022": "str_replace_editor",
    "text_editor_20250124": "str_replace_editor",
    "text_editor_20250429": "str_replace_based_edit_tool",
    "text_editor_20250728": "str_replace_based_edit_tool",
}
# The beta header a tool type still needs (computer use was never made generally available).
TOOL_BETAS = {
    "bash_20241022": "computer-use-2024-10-22",
    "text_editor_20241022": "computer-use-2024-10-22",
    "computer_20241022": "computer-use-2024-10-22",
    "computer_20250124": "computer-use-2025-01-24",
    "computer_20251124": "computer-use-2025-11-24",
}


def _string(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def _integer(description: str) -> dict[str, Any]:
    return {"type": "integer", "description": description}


def _integers(description: str, count: int, minimum: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "integer"}
    if minimum is not None:
        item["minimum"] = minimum
    items = {"type": "array", "items": item, "minItems": count, "maxItems": count}
    return items | {"description": description}


def _variant(
    key: str, value: str, required: dict[str, Any], optional: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The input of one command (``key`` = ``value``): exactly its own fields."""
    return {
        "type": "object",
        "properties": {key: {"const": value}, **required, **(optional or {})},
        "required": [key, *required],
        "additionalProperties": False,
    }


def _one_of(variants: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "object", "anyOf": variants}


# --- bash ---------------------------------------------------------------------------

_BASH = _one_of(
    [
        {
            "type": "object",
            "properties": {"command": _string("The shell command to run.")},
            "required": ["command"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"restart": {"const": True, "description": "Restart the shell."}},
            "required": ["restart"],
            "additionalProperties": False,
        },
    ]
)
_BASH_DESCRIPTION = (
    "Run a command in a persistent bash shell and see its output. State (the working "
    "directory, variables) carries over between calls; restart: true starts a new shell."
)

# --- the text editor and memory -----------------------------------------------------

_PATH = {"path": _string("Absolute path of the file or directory.")}
_VIEW_RANGE = {"view_range": _integers("[first, last] line to show; last -1 is the end.", 2)}
_FILE_TEXT = {"file_text": _string("The whole content of the new file.")}
_OLD_STR = {"old_str": _string("The exact text to replace; it must occur once.")}
_NEW_STR = {"new_str": _string("The replacement text.")}
_INSERT_LINE = {"insert_line": _integer("The line after which to insert (0: the top).")}


def _text_editor(tool: TextEditorToolParam) -> dict[str, Any]:
    legacy = TEXT_EDITOR_NAMES[tool.type] == "str_replace_editor"
    # The first versions insert ``new_str``; from text_editor_20250429 it is ``insert_text``.
    inserted = _NEW_STR if legacy else {"insert_text": _string("The text to insert.")}
    variants = [
        _variant("command", "view", _PATH, _VIEW_RANGE),
        _variant("command", "create", _PATH | _FILE_TEXT),
        _variant("command", "str_replace", _PATH | _OLD_STR, _NEW_STR),
        _variant("command", "insert", _PATH | _INSERT_LINE | inserted),
    ]
    if legacy:
        variants.append(_variant("command", "undo_edit", _PATH))
    return _one_of(variants)


_TEXT_EDITOR_DESCRIPTION = (
    "View, create and edit text files: view shows a file with line numbers or lists a "
    "directory; create writes a new file; str_replace replaces one exact occurrence of "
    "old_str; insert adds text after a line."
)

# As the SDK's ``BetaMemoryTool20250818*Command`` types have them.
_MEMORY = _one_of(
    [
        _variant("command", "view", _PATH, _VIEW_RANGE),
        _variant("command", "create", _PATH | _FILE_TEXT),
        _variant("command", "str_replace", _PATH | _OLD_STR | _NEW_STR),
        _variant(
            "command",
            "insert",
            _PATH | _INSERT_LINE | {"insert_text": _string("The text to insert.")},
        ),
        _variant("command", "delete", _PATH),
        _variant(
            "command",
            "rename",
            {"old_path": _string("The current path."), "new_path": _string("The new path.")},
        ),
    ]
)
_MEMORY_DESCRIPTION = (
    "A memory directory (/memories) that persists between conversations: view it "
    "before starting a task, and record progress and what you learn as files in it."
)

# --- computer use -------------------------------------------------------------------

_POINT = {"coordinate": _integers("[x, y] in screen pixels from the top left.", 2, 0)}
_KEYS = {"text": _string("A key or chord in xdotool names, such as ctrl+s or Return.")}
_MODIFIER = {"text": _string("Keys to hold while clicking, such as shift.")}
_SECONDS = {"duration": _integer("How many seconds.")}
_CLICKS = ("left_click", "right_click", "middle_click", "double_click")


def _computer_actions(tool: ComputerToolParam) -> list[dict[str, Any]]:
    """Each action's input, as the SDK's ``Computer*Input`` types have them."""
    first = tool.type == "computer_20241022"
    # The first version clicks where the pointer is (mouse_move puts it there); later
    # ones take an optional point and keys to hold.
    clicked: tuple[dict[str, Any], dict[str, Any]] = ({}, {} if first else _POINT | _MODIFIER)
    actions = [
        _variant("action", "key", _KEYS),
        _variant("action", "type", {"text": _string("The text to type.")}),
        _variant("action", "mouse_move", _POINT),
        *(_variant("action", click, *clicked) for click in _CLICKS),
        _variant(
            "action",
            "left_click_drag",
            _POINT if first else _POINT | {"start_coordinate": _POINT["coordinate"]},
        ),
        _variant("action", "screenshot", {}),
        _variant("action", "cursor_position", {}),
    ]
    if first:
        return actions
    direction = {"type": "string", "enum": ["up", "down", "left", "right"]}
    actions += [
        _variant("action", "triple_click", *clicked),
        _variant("action", "left_mouse_down", {}),
        _variant("action", "left_mouse_up", {}),
        _variant(
            "action",
            "scroll",
            {
                "scroll_direction": direction,
                "scroll_amount": _integer("How many notches.") | {"minimum": 0},
            },
            _POINT | _MODIFIER,
        ),
        _variant("action", "hold_key", _KEYS | _SECONDS),
        _variant("action", "wait", _SECONDS),
    ]
    if tool.type == "computer_20251124" and tool.enable_zoom:
        region = _integers("[x0, y0, x1, y1] of the area to see up close.", 4, 0)
        actions.append(_variant("action", "zoom", {"region": region}))
    return actions


def _computer_description(tool: ComputerToolParam) -> str:
    display = f"{tool.display_width_px}x{tool.display_height_px} pixels"
    if tool.display_number is not None:
        display += f", X11 display :{tool.display_number}"
    return (
        "Use a computer's mouse and keyboard, and take screenshots to see the screen "
        f"({display}). Take a screenshot first, then act on what it shows."
    )


def definition(tool: ClientToolParam) -> tuple[str, dict[str, Any]]:
    """The description and the input schema ``tool`` is served with."""
    if isinstance(tool, BashToolParam):
        return _BASH_DESCRIPTION, _BASH
    if isinstance(tool, TextEditorToolParam):
        return _TEXT_EDITOR_DESCRIPTION, _text_editor(tool)
    if isinstance(tool, MemoryToolParam):
        return _MEMORY_DESCRIPTION, _MEMORY
    return _computer_description(tool), _one_of(_computer_actions(tool))
