"""Throughput of the same requests sent three ways: as a Message Batch, by concurrent
clients, and one after another.

Every mode sends the same N requests (distinct prompts, greedy, ``--max-tokens`` each)
to one server and reports wall time, output tokens and output tokens/s:

- ``batch``: one Message Batch, timed from create until it has ended (Parley);
- ``clients``: ``--clients C`` clients each sending ``POST /v1/messages`` one after
  another until the N requests are done, so C sequences are always asked for (a peer
  such as llama-server at ``--parallel C``);
- ``one-by-one``: one ``POST /v1/messages`` at a time.

    python bench/batch_bench.py --base-url http://127.0.0.1:8090 --api-key "$KEY" --mode batch

``--label`` and ``--json`` print one JSON line instead of a table, for
``bench/compare_llama_server.sh batch``, which runs the modes against Parley and
llama-server over several rounds and then summarises the lines with ``--summarize FILE``
(median tok/s per label, the range over rounds, and ratios to the first label). With
``--pid`` the server's resident memory is read before the run and at its peak during it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections import defaultdict
from typing import Any

import httpx

from peak_rss import PeakRss


def requests(n: int, model: str, max_tokens: int) -> list[dict[str, Any]]:
    return [
        {
            "custom_id": f"r{i}",
            "params": {
                "model": model,
                "max_tokens": max_tokens,
                "temperature": 0,
                "messages": [{"role": "user", "content": f"Item {i}: describe a lighthouse."}],
            },
        }
        for i in range(n)
    ]


def as_batch(http: httpx.Client, items: list[dict[str, Any]]) -> tuple[float, int]:
    start = time.perf_counter()
    batch = http.post("/v1/messages/batches", json={"requests": items}).raise_for_status().json()
    while batch["processing_status"] != "ended":
        time.sleep(0.1)
        batch = http.get(f"/v1/messages/batches/{batch['id']}").raise_for_status().json()
    wall = time.perf_counter() - start
    lines = http.get(f"/v1/messages/batches/{batch['id']}/results").raise_for_status().text
    tokens = 0
    for line in lines.splitlines():
        result = json.loads(line)["result"]
        assert result["type"] == "succeeded", result
        tokens += result["message"]["usage"]["output_tokens"]
    return wall, tokens


def one_by_one(http: httpx.Client, items: list[dict[str, Any]]) -> tuple[float, int]:
    start = time.perf_counter()
    tokens = 0
    for item in items:
        message = http.post("/v1/messages", json=item["params"]).raise_for_status().json()
        tokens += message["usage"]["output_tokens"]
    return time.perf_counter() - start, tokens


async def by_clients(
    base_url: str, headers: dict[str, str], items: list[dict[str, Any]], clients: int
) -> tuple[float, int]:
    queue = list(reversed(items))
    tokens = 0

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal tokens
        while queue:
            item = queue.pop()
            response = await http.post("/v1/messages", json=item["params"])
            tokens += response.raise_for_status().json()["usage"]["output_tokens"]

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=3600, limits=limits
    ) as http:
        start = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        return time.perf_counter() - start, tokens


def summarize(path: str) -> None:
    """The table of a file of ``--json`` lines: median tok/s per label over rounds."""
    rates: dict[str, list[float]] = defaultdict(list)
    peaks: dict[str, list[float]] = defaultdict(list)
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("{"):
                row = json.loads(line)
                rates[row["label"]].append(row["tokens"] / row["wall"])
                peaks[row["label"]].append(row.get("rss_peak_mib", 0.0))
    labels = list(rates)
    first = labels[0]
    print(
        f"| target | rounds | output tok/s, median (range) | ratio {first} / target (range) "
        "| peak RSS MiB |"
    )
    print("|---|---|---|---|---|")
    for label in labels:
        values = rates[label]
        ratios = [a / b for a, b in zip(rates[first], values, strict=False)]
        spread = f"{min(values):.1f} to {max(values):.1f}"
        ratio = f"{statistics.median(ratios):.2f} ({min(ratios):.2f} to {max(ratios):.2f})"
        memory = f"{max(peaks[label]):,.0f}" if max(peaks[label]) else "-"
        median = statistics.median(values)
        print(f"| {label} | {len(values)} | {median:.1f} ({spread}) | {ratio} | {memory} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", default="http://127.0.0.1:8080")
    parser.add_argument("--api-key", default="")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--requests", type=int, default=96)
    parser.add_argument("--max-tokens", type=int, default=64)
    modes = ["batch", "clients", "one-by-one", "both"]
    parser.add_argument("--mode", choices=modes, default="both")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--label", help="name of this run in --json output")
    parser.add_argument("--json", action="store_true", help="print one JSON line per mode")
    parser.add_argument("--summarize", metavar="FILE", help="print the table of a file of lines")
    parser.add_argument("--pid", type=int, help="the server's process, for its resident memory")
    args = parser.parse_args()
    if args.summarize:
        summarize(args.summarize)
        return
    headers = {"x-api-key": args.api_key, "anthropic-version": "2023-06-01"}
    items = requests(args.requests, args.model, args.max_tokens)
    modes = ["batch", "one-by-one"] if args.mode == "both" else [args.mode]
    rows = []
    with httpx.Client(base_url=args.base_url, headers=headers, timeout=3600) as http:
        for mode in modes:
            with PeakRss(args.pid) as memory:
                if mode == "batch":
                    wall, tokens = as_batch(http, items)
                elif mode == "one-by-one":
                    wall, tokens = one_by_one(http, items)
                else:
                    run = by_clients(args.base_url, headers, items, args.clients)
                    wall, tokens = asyncio.run(run)
            rows.append((mode, wall, tokens, memory))
    if args.json:
        for mode, wall, tokens, memory in rows:
            label = args.label or mode
            line = {"label": label, "mode": mode, "wall": wall, "tokens": tokens}
            if args.pid is not None:
                line |= {"rss_idle_mib": memory.idle_mib, "rss_peak_mib": memory.peak_mib}
            print(json.dumps(line))
        return
    print(f"{args.requests} requests, max_tokens {args.max_tokens}, greedy\n")
    print("| mode | wall s | output tokens | output tok/s | peak RSS MiB |")
    print("|---|---|---|---|---|")
    for mode, wall, tokens, memory in rows:
        rss = f"{memory.peak_mib:,.0f}" if memory.peak_mib else "-"
        print(f"| {mode} | {wall:.1f} | {tokens} | {tokens / wall:.1f} | {rss} |")
    if len(rows) == 2:
        (_, wall_a, tokens_a, _), (_, wall_b, tokens_b, _) = rows
        print(f"\nbatch speed-up (tok/s): {tokens_a / wall_a / (tokens_b / wall_b):.2f}x")


if __name__ == "__main__":
    main()
