"""How often a forced tool call finishes inside a modest ``max_tokens``, over many seeds.

The case of issue 21: a call forced by name to a two-field weather tool (``city`` a free
string, ``unit`` an enum), ``max_tokens`` 96, sampled at temperature 1 on the bundled
model. Each seed is one request through the OpenAI-compatible door (the only one with a
``seed``; it runs the same Messages pipeline). Reported: how many calls came back
finished (``tool_calls``) and how many were cut by ``max_tokens`` (``length``), and the
longest ``city`` written.

    .venv/bin/python bench/forced_call_rate.py --seeds 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from collections import Counter
from pathlib import Path

import httpx2
import openai

from parley.app import create_app
from parley.config import load_settings

KEY = "sk-parley-api01-benchmark" + "0" * 43
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. San Francisco"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}
ASK = [{"role": "user", "content": "What's the weather like in Paris today?"}]


async def run(seeds: int, max_tokens: int) -> None:
    settings = load_settings(
        data_dir=Path(tempfile.mkdtemp()),
        auth={"bootstrap_api_key": KEY},
        models=[{"id": "smollm2", "options": {"gguf": "bundled:smollm2"}}],
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        http = httpx2.AsyncClient(transport=transport, base_url="http://bench", timeout=600)
        client = openai.AsyncOpenAI(api_key=KEY, base_url="http://bench/v1", http_client=http)
        outcomes: Counter[str] = Counter()
        longest = 0
        for seed in range(seeds):
            answer = await client.chat.completions.create(
                model="smollm2",
                messages=ASK,  # type: ignore[arg-type]
                tools=[WEATHER],  # type: ignore[list-item]
                tool_choice={"type": "function", "function": {"name": "get_weather"}},
                max_tokens=max_tokens,
                temperature=1.0,
                seed=seed,
            )
            choice = answer.choices[0]
            outcomes[choice.finish_reason] += 1
            for call in choice.message.tool_calls or []:
                city = json.loads(call.function.arguments).get("city", "")  # type: ignore[union-attr]
                longest = max(longest, len(city))
        finished = outcomes["tool_calls"]
        print(f"seeds {seeds}, max_tokens {max_tokens}: {dict(outcomes)}")
        print(
            f"finished {finished}/{seeds} ({100 * finished / seeds:.1f}%), longest city {longest}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--max-tokens", type=int, default=96)
    args = parser.parse_args()
    asyncio.run(run(args.seeds, args.max_tokens))


if __name__ == "__main__":
    main()
