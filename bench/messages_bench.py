"""Single-stream speed of a Claude-API server, for side-by-side comparisons.

For each target (``name=base_url``) and each run it streams ``POST /v1/messages`` and
records time to first token (request sent → first ``content_block_delta``) and output
tokens per second (``usage.output_tokens`` over the time from the first to the last
delta). Runs alternate between targets so machine noise hits them alike, and every
prompt starts with the run number so no target answers from a cached prefix.
Then it measures ``count_tokens`` requests per second with a few concurrent clients.

    python bench/messages_bench.py --target parley=http://127.0.0.1:8080 \\
        --target llama-server=http://127.0.0.1:8091 --api-key "$KEY"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from dataclasses import dataclass, field

import httpx

PROMPT = "Run {i}. Write a long, detailed story about a lighthouse keeper and a storm."


@dataclass
class Samples:
    ttft_ms: list[float] = field(default_factory=list)
    tokens_per_s: list[float] = field(default_factory=list)
    output_tokens: list[int] = field(default_factory=list)
    count_rps: float = 0.0


def headers(api_key: str) -> dict[str, str]:
    return {
        "x-api-key": api_key,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
    }


async def one_stream(
    client: httpx.AsyncClient, url: str, key: str, i: int, max_tokens: int, model: str
) -> tuple[float, float, int]:
    body = {
        "model": model,
        "max_tokens": max_tokens,
        "stream": True,
        "temperature": 0,
        "messages": [{"role": "user", "content": PROMPT.format(i=i)}],
    }
    sent = time.perf_counter()
    first = last = None
    output_tokens = 0
    async with client.stream(
        "POST", f"{url}/v1/messages", headers=headers(key), json=body
    ) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            if event.get("type") == "content_block_delta":
                last = time.perf_counter()
                first = first or last
            elif event.get("type") == "message_delta":
                output_tokens = event["usage"]["output_tokens"]
    assert first is not None and last is not None, "no content streamed"
    rate = (output_tokens - 1) / (last - first) if last > first else float("nan")
    return (first - sent) * 1000, rate, output_tokens


async def count_rps(url: str, key: str, model: str, seconds: float, concurrency: int) -> float:
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT.format(i=0)}]}
    done = 0
    stop_at = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            r = await client.post(
                f"{url}/v1/messages/count_tokens", headers=headers(key), json=body
            )
            r.raise_for_status()
            done += 1

    async with httpx.AsyncClient(timeout=60) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return done / (time.perf_counter() - start)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", action="append", required=True, help="name=base_url")
    parser.add_argument("--api-key", default="none")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--count-seconds", type=float, default=5.0)
    parser.add_argument("--count-concurrency", type=int, default=4)
    args = parser.parse_args()
    targets = dict(t.split("=", 1) for t in args.target)
    results = {name: Samples() for name in targets}
    async with httpx.AsyncClient(timeout=600) as client:
        for i in range(args.warmup + args.runs):
            for name, url in targets.items():
                ttft, rate, n = await one_stream(
                    client, url, args.api_key, i, args.max_tokens, args.model
                )
                if i >= args.warmup:
                    results[name].ttft_ms.append(ttft)
                    results[name].tokens_per_s.append(rate)
                    results[name].output_tokens.append(n)
    for name, url in targets.items():
        results[name].count_rps = await count_rps(
            url, args.api_key, args.model, args.count_seconds, args.count_concurrency
        )
    report(results, args)


def report(results: dict[str, Samples], args: argparse.Namespace) -> None:
    print(
        f"{args.runs} streamed runs per target (after {args.warmup} warm-up), max_tokens "
        f"{args.max_tokens}, temperature 0; count_tokens with {args.count_concurrency} "
        f"clients for {args.count_seconds:g}s\n"
    )
    print(
        "| target | output tok/s (median) | TTFT ms (median) | TTFT ms (p90) "
        "| output tokens | count_tokens req/s |"
    )
    print("|---|---|---|---|---|---|")
    for name, s in results.items():
        print(
            f"| {name} | {statistics.median(s.tokens_per_s):.1f} | "
            f"{statistics.median(s.ttft_ms):.1f} | {pct(s.ttft_ms, 0.9):.1f} | "
            f"{statistics.median(s.output_tokens):.0f} | {s.count_rps:.0f} |"
        )
    names = list(results)
    if len(names) >= 2:
        a, b = results[names[0]], results[names[1]]
        ratio = statistics.median(a.tokens_per_s) / statistics.median(b.tokens_per_s)
        added = statistics.median(a.ttft_ms) - statistics.median(b.ttft_ms)
        print(
            f"\n{names[0]} / {names[1]}: tokens/s ratio {ratio:.3f}, "
            f"TTFT difference {added:+.1f} ms (median)"
        )


if __name__ == "__main__":
    asyncio.run(main())
