"""What a proxy in front of an upstream costs: time to first token, per-request latency
and ``count_tokens`` throughput, for the upstream called directly and for each proxy.

Each target is ``name=protocol+base_url``; ``openai`` targets are called on
``/v1/chat/completions`` (the upstream itself), ``anthropic`` targets on
``/v1/messages`` (Parley, LiteLLM). Requests rotate over the targets so machine noise
hits them alike, and every prompt starts with a number used once, so no target answers
from a prefix another target left in the upstream's cache. Sampling is greedy and
``max_tokens`` small, so every target generates the same number of tokens; the table
shows the counts seen, so a mismatch is visible.

    python bench/upstream_bench.py --api-key "$KEY" \\
        --target direct=openai+http://127.0.0.1:8091 \\
        --target parley=anthropic+http://127.0.0.1:8090 \\
        --target litellm=anthropic+http://127.0.0.1:8092

The added latency of a proxy is its percentile minus the direct target's percentile.
``count_tokens`` goes to ``/v1/messages/count_tokens`` on every target (llama-server
answers it itself), twice: the same body every time (what a proxy may answer from a
cache), then a body never sent before every time (what each count really costs).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

PROMPT = "{n:06d}. Write a short poem about the sea."
COUNT_PROMPT = "{n}Count the tokens of this sentence about lighthouses, storms and the sea."


@dataclass(frozen=True)
class Target:
    name: str
    protocol: str  # "openai" or "anthropic"
    url: str


@dataclass
class Samples:
    ttft_ms: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    output_tokens: set[int] = field(default_factory=set)
    count_rps: float = 0.0  # the same body each time
    count_distinct_rps: float = 0.0  # a new body each time


def parse_target(spec: str) -> Target:
    name, _, rest = spec.partition("=")
    protocol, _, url = rest.partition("+")
    if protocol not in ("openai", "anthropic") or not url:
        raise argparse.ArgumentTypeError(
            f"--target {spec!r}: expected name=openai+URL or name=anthropic+URL"
        )
    return Target(name, protocol, url.rstrip("/"))


def request(
    target: Target, key: str, model: str, n: int, max_tokens: int, stream: bool
) -> tuple[str, dict[str, str], dict[str, object]]:
    messages = [{"role": "user", "content": PROMPT.format(n=n)}]
    body: dict[str, object] = {
        "model": model,
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": stream,
        "messages": messages,
    }
    if target.protocol == "openai":
        if stream:
            body["stream_options"] = {"include_usage": True}
        return f"{target.url}/v1/chat/completions", {"authorization": f"Bearer {key}"}, body
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    return f"{target.url}/v1/messages", headers, body


async def data_lines(response: httpx.Response) -> AsyncIterator[dict[str, object]]:
    async for line in response.aiter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            yield json.loads(line[6:])


def is_first_content(protocol: str, event: dict[str, object]) -> bool:
    if protocol == "anthropic":
        return event.get("type") == "content_block_delta"
    choices = event.get("choices") or []
    return bool(choices) and bool(choices[0].get("delta", {}).get("content"))  # type: ignore[union-attr,index]


async def time_to_first_token(
    client: httpx.AsyncClient, target: Target, key: str, model: str, n: int
) -> float:
    url, headers, body = request(target, key, model, n, 4, stream=True)
    sent = time.perf_counter()
    first = None
    async with client.stream("POST", url, headers=headers, json=body) as response:
        response.raise_for_status()
        async for event in data_lines(response):  # read to the end, so the next starts clean
            if first is None and is_first_content(target.protocol, event):
                first = time.perf_counter()
    if first is not None:
        return (first - sent) * 1000
    raise RuntimeError(f"{target.name}: the stream carried no content")


async def whole_request(
    client: httpx.AsyncClient, target: Target, key: str, model: str, n: int, max_tokens: int
) -> tuple[float, int]:
    url, headers, body = request(target, key, model, n, max_tokens, stream=False)
    sent = time.perf_counter()
    response = await client.post(url, headers=headers, json=body)
    elapsed = (time.perf_counter() - sent) * 1000
    response.raise_for_status()
    usage = response.json()["usage"]
    return elapsed, int(usage.get("output_tokens", usage.get("completion_tokens", -1)))


async def count_rps(
    target: Target, key: str, model: str, seconds: float, concurrency: int, *, distinct: bool
) -> float:
    headers = {
        "x-api-key": key,
        "anthropic-version": "2023-06-01",
        "authorization": f"Bearer {key}",
    }
    numbers = itertools.count(int(time.time() * 1000))

    def body() -> dict[str, object]:
        text = COUNT_PROMPT.format(n=f"{next(numbers)}. " if distinct else "")
        return {"model": model, "messages": [{"role": "user", "content": text}]}

    done = 0
    stop_at = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            response = await client.post(
                f"{target.url}/v1/messages/count_tokens", headers=headers, json=body()
            )
            response.raise_for_status()
            done += 1

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


def percentile(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


async def measure(args: argparse.Namespace) -> dict[str, Samples]:
    samples = {t.name: Samples() for t in args.target}
    numbers = itertools.count(args.seed)
    async with httpx.AsyncClient(timeout=120) as client:
        for target in args.target:  # warm connections, templates and caches once
            await whole_request(
                client, target, args.api_key, args.model, next(numbers), args.max_tokens
            )
        for run in range(args.runs):
            order = args.target[run % len(args.target) :] + args.target[: run % len(args.target)]
            for target in order:
                ttft = await time_to_first_token(
                    client, target, args.api_key, args.model, next(numbers)
                )
                samples[target.name].ttft_ms.append(ttft)
            for target in order:
                latency, tokens = await whole_request(
                    client, target, args.api_key, args.model, next(numbers), args.max_tokens
                )
                samples[target.name].latency_ms.append(latency)
                samples[target.name].output_tokens.add(tokens)
    for target in args.target:
        for distinct in (False, True):
            rps = await count_rps(
                target,
                args.api_key,
                args.model,
                args.count_seconds,
                args.count_concurrency,
                distinct=distinct,
            )
            if distinct:
                samples[target.name].count_distinct_rps = rps
            else:
                samples[target.name].count_rps = rps
    return samples


COLUMNS = (
    "target",
    "TTFT p50 / p99 ms",
    "added TTFT p50 / p99 ms",
    "latency p50 / p99 ms",
    "added latency p50 / p99 ms",
    "count_tokens req/s, same body / new bodies",
    "output tokens",
)


def pair(values: list[float], base: list[float] | None = None) -> str:
    p50, p99 = percentile(values, 50), percentile(values, 99)
    if base is None:
        return f"{p50:.1f} / {p99:.1f}"
    return f"{p50 - percentile(base, 50):+.1f} / {p99 - percentile(base, 99):+.1f}"


def report(args: argparse.Namespace, samples: dict[str, Samples]) -> None:
    base = samples[args.target[0].name]
    print(f"{args.runs} runs per target, max_tokens={args.max_tokens}")
    print(f"added = target's percentile - {args.target[0].name}'s percentile")
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for target in args.target:
        s = samples[target.name]
        cells = (
            target.name,
            pair(s.ttft_ms),
            pair(s.ttft_ms, base.ttft_ms),
            pair(s.latency_ms),
            pair(s.latency_ms, base.latency_ms),
            f"{s.count_rps:.0f} / {s.count_distinct_rps:.0f}",
            ",".join(str(t) for t in sorted(s.output_tokens)),
        )
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--target",
        type=parse_target,
        action="append",
        required=True,
        help="name=openai+URL or name=anthropic+URL; the first is the baseline",
    )
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 800_000 + 100_000)
    parser.add_argument("--count-seconds", type=float, default=10)
    parser.add_argument("--count-concurrency", type=int, default=4)
    args = parser.parse_args()
    report(args, asyncio.run(measure(args)))


if __name__ == "__main__":
    main()
