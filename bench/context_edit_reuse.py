"""How much of the prompt the KV cache still serves when context edits rewrite history.

A 30-turn agent loop on the bundled model (one forced ``read_page`` call per turn,
each result about 300 tokens, automatic prompt caching with a top-level
``cache_control``), run once per way of keeping it inside the window:

- ``none``: no edit (the loop stops when the history no longer fits);
- ``clear``: ``clear_tool_uses_20250919``, trigger 3,000 input tokens, keep 3;
- ``clear-at-least``: the same, clearing at least 1,500 tokens at a time;
- ``compact``: ``compact_20260112``, trigger 5,000 input tokens.

Per turn the prompt's tokens split into cache reads and tokens prefilled (plain input
plus cache writes). Reported per mode, over the turns after the first edit applied:
the share of prompt tokens read from the cache, and the tokens prefilled per turn.

    .venv/bin/python bench/context_edit_reuse.py [--turns 30]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

import anthropic
import httpx2

from parley.app import create_app
from parley.config import load_settings

KEY = "sk-parley-api01-benchmark" + "0" * 43
MODEL = "smollm2"
WINDOW = 8192
TOOL = {
    "name": "read_page",
    "description": "Read one page of the manual.",
    "input_schema": {
        "type": "object",
        "properties": {"page": {"type": "integer"}},
        "required": ["page"],
    },
}
CLEAR = {
    "type": "clear_tool_uses_20250919",
    "trigger": {"type": "input_tokens", "value": 3000},
    "keep": {"type": "tool_uses", "value": 3},
}
MODES: dict[str, dict[str, Any] | None] = {
    "none": None,
    "clear": {"edits": [CLEAR]},
    "clear-at-least": {
        "edits": [CLEAR | {"clear_at_least": {"type": "input_tokens", "value": 1500}}]
    },
    "compact": {
        "edits": [{"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 5000}}]
    },
}
BETAS = ["context-management-2025-06-27", "compact-2026-01-12"]
FORCED = {"type": "tool", "name": "read_page", "disable_parallel_tool_use": True}


def page(n: int) -> str:
    return f"Page {n}. " + " ".join(
        f"Paragraph {n}.{k} describes valve {k * n}, its pressure rating of {k + n} bar and "
        "the torque its flange bolts take."
        for k in range(12)
    )


async def loop(sdk: anthropic.AsyncAnthropic, mode: str, turns: int) -> list[tuple[int, int, bool]]:
    """(prompt tokens, tokens read from the cache, an edit applied) per turn."""
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Read the manual page by page, one call per page."}
    ]
    extra: dict[str, Any] = {"betas": BETAS}
    if MODES[mode] is not None:
        extra["context_management"] = MODES[mode]
    rows = []
    for turn in range(turns):
        try:
            message = await sdk.beta.messages.create(
                model=MODEL,
                max_tokens=48,
                messages=messages,  # type: ignore[arg-type]
                tools=[TOOL],  # type: ignore[list-item]
                tool_choice={
                    "type": "tool",
                    "name": "read_page",
                    "disable_parallel_tool_use": True,
                },
                cache_control={"type": "ephemeral"},
                **extra,
            )
        except anthropic.BadRequestError as exc:
            print(f"  {mode}: turn {turn} refused: {exc.body['error']['message'][:80]}")  # type: ignore[index]
            break
        usage = message.usage
        read = usage.cache_read_input_tokens or 0
        prompt = usage.input_tokens + read + (usage.cache_creation_input_tokens or 0)
        applied = bool(message.context_management and message.context_management.applied_edits)
        applied = applied or message.content[0].type == "compaction"
        rows.append((prompt, read, applied))
        kept = [b.model_dump(exclude_none=True) for b in message.content]
        use = next(b for b in message.content if b.type == "tool_use")
        messages.append({"role": "assistant", "content": kept})
        messages.append(
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": use.id, "content": page(turn)}],
            }
        )
    return rows


def report(mode: str, rows: list[tuple[int, int, bool]]) -> None:
    first = next((i for i, (_, _, applied) in enumerate(rows) if applied), None)
    after = rows[first:] if first is not None else rows
    prompt = sum(p for p, _, _ in after)
    read = sum(r for _, r, _ in after)
    prefilled = (prompt - read) / max(1, len(after))
    where = f"from turn {first}" if first is not None else "no edit applied"
    print(
        f"{mode:>15}: {len(rows)} turns, {where}: {100 * read / max(1, prompt):.1f}% of prompt "
        f"tokens read from the cache, {prefilled:.0f} prefilled per turn"
    )


async def run(turns: int) -> None:
    settings = load_settings(
        data_dir=Path(tempfile.mkdtemp()),
        auth={"bootstrap_api_key": KEY},
        models=[
            {
                "id": MODEL,
                "options": {"gguf": "bundled:smollm2", "slots": 1, "ctx_per_slot": WINDOW},
            }
        ],
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        http = httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://bench", timeout=600
        )
        sdk = anthropic.AsyncAnthropic(api_key=KEY, base_url="http://bench", http_client=http)
        for mode in MODES:
            report(mode, await loop(sdk, mode, turns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=30)
    asyncio.run(run(parser.parse_args().turns))


if __name__ == "__main__":
    main()
