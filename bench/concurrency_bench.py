"""Many streams at once, and a long conversation, against Claude-API servers.

Part 1, for each concurrency C: C clients each stream ``--requests`` requests one after
another (distinct prompts asking for long stories, greedy, ``--max-tokens`` each).
Reported: output tokens (equal work when answers run to the limit), aggregate output
tokens/s over the phase's wall time, and p50/p99 time to first token.
Part 2: one client holds a ``--turns``-turn conversation, resending the growing history
each turn as agents do; reported: time to first token per turn. With
``--conversations K`` it holds K conversations that take turns (more than the slots:
each comes back after the others have used its slot).
Targets alternate phase by phase so machine noise hits them alike; with ``--rounds N``
the whole sequence runs N times, the order of targets reversed every other round,
and medians over rounds are reported (ratios with their range). With ``--pid
name=PID`` for a target, its resident memory is reported too: after the warm-up
(idle), and the peak during each phase of part 1 (``peak_rss.py``, sampled every
0.1 s).

    python bench/concurrency_bench.py --target parley=http://127.0.0.1:8090 \\
        --target llama-server=http://127.0.0.1:8091 --api-key "$KEY"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from typing import Any

import httpx

from peak_rss import PeakRss, rss_mib

# Part 1 asks for long stories so nearly every answer runs to max_tokens: both targets
# then do the same work, whatever small differences their greedy answers have.
TOPICS = [
    "a lighthouse keeper",
    "a comet",
    "a bridge builder",
    "a thunderstorm",
    "a night train",
    "a beekeeper",
    "a baker",
    "a river",
]

QUESTIONS = [
    "Tell me about lighthouses.",
    "Why is the sky blue?",
    "Name three rivers.",
    "What do bees eat?",
    "Describe a thunderstorm.",
    "How do trains work?",
    "What is a comet?",
    "Write a haiku about snow.",
    "Who builds bridges?",
    "What makes bread rise?",
]


def headers(key: str) -> dict[str, str]:
    return {"x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json"}


async def stream(
    client: httpx.AsyncClient,
    url: str,
    key: str,
    model: str,
    messages: list[dict[str, Any]],
    max_tokens: int,
) -> tuple[float, int, str]:
    body = {
        "model": model,
        "max_tokens": max_tokens,
        "stream": True,
        "temperature": 0,
        "messages": messages,
    }
    sent = time.perf_counter()
    first = None
    tokens = 0
    text: list[str] = []
    async with client.stream("POST", f"{url}/v1/messages", headers=headers(key), json=body) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            if event["type"] == "content_block_delta":
                first = first or time.perf_counter()
                text.append(event["delta"].get("text", ""))
            elif event["type"] == "message_delta":
                tokens = event["usage"]["output_tokens"]
    return ((first or time.perf_counter()) - sent) * 1000, tokens, "".join(text)


async def concurrency_phase(
    url: str,
    key: str,
    model: str,
    streams: int,
    requests: int,
    max_tokens: int,
    run: int,
    pid: int | None = None,
) -> dict[str, float]:
    ttfts: list[float] = []
    total = 0

    async def client_loop(c: int) -> None:
        nonlocal total
        # No keep-alive: llama-server closes idle connections in ways that race with
        # reuse; a fresh loopback connection per request costs both targets the same.
        fresh = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=600, limits=fresh) as client:
            for i in range(requests):
                topic = TOPICS[(c + i) % len(TOPICS)]
                prompt = f"Run {run}.{c}.{i}. Write a long, detailed story about {topic}."
                ttft, n, _ = await stream(
                    client, url, key, model, [{"role": "user", "content": prompt}], max_tokens
                )
                ttfts.append(ttft)
                total += n

    with PeakRss(pid) as memory:
        start = time.perf_counter()
        await asyncio.gather(*(client_loop(c) for c in range(streams)))
        wall = time.perf_counter() - start
    ordered = sorted(ttfts)
    return {
        "rss_mib": memory.peak_mib,
        "tok_s": total / wall,
        "tokens": total,
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
    }


async def conversations(
    url: str, key: str, model: str, turns: int, max_tokens: int, run: int, count: int
) -> list[float]:
    """``count`` conversations taking turns, one request at a time; time to first token
    per turn (the median over the conversations)."""
    histories: list[list[dict[str, Any]]] = [[] for _ in range(count)]
    per_turn = []
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=600, limits=fresh) as client:
        for turn in range(turns):
            ttfts = []
            for k, history in enumerate(histories):
                question = QUESTIONS[(turn + k) % len(QUESTIONS)]
                text = f"Conversation {run}.{k}. {question}" if turn == 0 else question
                marked = {"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}
                history.append({"role": "user", "content": [marked]})
                ttft, _, answer = await stream(client, url, key, model, history, max_tokens)
                ttfts.append(ttft)
                history[-1] = {"role": "user", "content": text}
                history.append({"role": "assistant", "content": answer.strip() or "OK."})
            per_turn.append(statistics.median(ttfts))
    return per_turn


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", action="append", required=True, help="name=base_url")
    parser.add_argument("--api-key", default="none")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--concurrency", default="1,4,8", help='"" skips part 1')
    parser.add_argument("--requests", type=int, default=3, help="per stream and phase")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--turn-max-tokens", type=int, default=48)
    parser.add_argument(
        "--conversations", type=int, default=1, help="held at once in part 2, taking turns"
    )
    parser.add_argument("--rounds", type=int, default=1, help="repeats, order reversed each")
    parser.add_argument("--pid", action="append", default=[], help="name=PID of a target's server")
    args = parser.parse_args()
    targets = dict(t.split("=", 1) for t in args.target)
    pids = {name: int(pid) for name, pid in (p.split("=", 1) for p in args.pid)}
    for url in targets.values():  # warm-up
        await concurrency_phase(url, args.api_key, args.model, 1, 1, 16, run=-1)
    idle = {name: rss_mib(pid) for name, pid in pids.items()}
    levels = [int(x) for x in args.concurrency.split(",") if x]
    table: Table = {c: {name: [] for name in targets} for c in levels}
    turns: dict[str, list[list[float]]] = {name: [] for name in targets}
    for r in range(args.rounds):
        order = list(targets.items())
        if r % 2:
            order.reverse()
        for c in levels:
            for name, url in order:
                table[c][name].append(
                    await concurrency_phase(
                        url,
                        args.api_key,
                        args.model,
                        c,
                        args.requests,
                        args.max_tokens,
                        run=100 * r + c,
                        pid=pids.get(name),
                    )
                )
                done = table[c][name][-1]
                print(
                    f"round {r + 1}, {c} streams, {name}: {done['tok_s']:.1f} tok/s",
                    file=sys.stderr,
                )
        for name, url in order:
            turns[name].append(
                await conversations(
                    url,
                    args.api_key,
                    args.model,
                    args.turns,
                    args.turn_max_tokens,
                    run=r,
                    count=args.conversations,
                )
            )
    report(table, turns, args)
    if idle:
        held = ", ".join(f"{name} {mib:,.0f} MiB" for name, mib in idle.items())
        print(f"\nResident memory after the warm-up: {held}.")


def report_streams(table: Table, names: list[str], args: argparse.Namespace) -> None:
    print(
        f"{args.requests} requests per stream, max_tokens {args.max_tokens}, greedy, "
        f"{args.rounds} round(s); medians over rounds\n"
    )
    print(
        "| streams | target | output tokens | aggregate output tok/s | TTFT p50 ms | TTFT p99 ms "
        "| peak RSS MiB |"
    )
    print("|---|---|---|---|---|---|---|")
    keys = ("tokens", "tok_s", "p50", "p99")
    for c, rows in table.items():
        for name in names:
            rounds = rows[name]
            tokens, tok_s, p50, p99 = (statistics.median(r[k] for r in rounds) for k in keys)
            rss = max(r["rss_mib"] for r in rounds)
            memory = f"{rss:,.0f}" if rss else "-"
            print(
                f"| {c} | {name} | {tokens:.0f} | {tok_s:.1f} | {p50:.0f} | {p99:.0f} | {memory} |"
            )
    if len(names) == 2:
        print()
        for c, rows in table.items():
            ratios = [
                a["tok_s"] / b["tok_s"] for a, b in zip(rows[names[0]], rows[names[1]], strict=True)
            ]
            print(f"- {c} streams: {names[0]} / {names[1]} aggregate tok/s = {spread(ratios)}")


# concurrency -> target -> one phase result per round
Table = dict[int, dict[str, list[dict[str, float]]]]


def spread(values: list[float]) -> str:
    """The median, with the range when there are several rounds."""
    middle = f"{statistics.median(values):.2f}"
    return middle if len(values) == 1 else f"{middle} ({min(values):.2f} to {max(values):.2f})"


def report(table: Table, turns: dict[str, list[list[float]]], args: argparse.Namespace) -> None:
    if table:
        report_streams(table, list(turns), args)
    names = list(turns)
    print(
        f"\n{args.conversations} {args.turns}-turn conversation(s) taking turns, time to "
        "first token per turn (ms, median):\n"
    )
    print("| turn | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for i in range(args.turns):
        cells = (f"{statistics.median(run[i] for run in turns[n]):.0f}" for n in names)
        print(f"| {i + 1} | " + " | ".join(cells) + " |")
    for name in names:
        ratios = [run[-1] / run[0] for run in turns[name]]
        print(f"\n{name}: turn {args.turns} / turn 1 = {spread(ratios)}")


if __name__ == "__main__":
    asyncio.run(main())
