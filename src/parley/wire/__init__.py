"""The Claude API wire schema, and only it.

Pydantic models named as the official SDK names them (``MessageCreateParams``,
``ToolUseBlock``, ``RawMessageStartEvent``…). Request models are strict and forbid
unknown fields, so validation errors read as the API's do
(``messages.0.content.1.tool_use.text: Extra inputs are not permitted``).
This package imports nothing else from Parley.
"""
