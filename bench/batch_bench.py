"""A Message Batch against the same requests sent one after another.

Both phases send the same N requests (distinct prompts, greedy, ``--max-tokens`` each)
to one server: first as one batch (wall time from create until the batch has ended),
then one ``POST /v1/messages`` at a time. Reported: wall time and output tokens/s of
each, and their ratio.

    python bench/batch_bench.py --base-url http://127.0.0.1:8090 --api-key "$KEY"
"""

from __future__ import annotations

import argparse
import json
import time

import httpx


def requests(n: int, model: str, max_tokens: int) -> list[dict[str, object]]:
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


def as_batch(http: httpx.Client, items: list[dict[str, object]]) -> tuple[float, int]:
    start = time.perf_counter()
    batch = http.post("/v1/messages/batches", json={"requests": items}).raise_for_status().json()
    while batch["processing_status"] != "ended":
        time.sleep(0.2)
        batch = http.get(f"/v1/messages/batches/{batch['id']}").raise_for_status().json()
    wall = time.perf_counter() - start
    lines = http.get(f"/v1/messages/batches/{batch['id']}/results").raise_for_status().text
    tokens = 0
    for line in lines.splitlines():
        result = json.loads(line)["result"]
        assert result["type"] == "succeeded", result
        tokens += result["message"]["usage"]["output_tokens"]
    return wall, tokens


def one_by_one(http: httpx.Client, items: list[dict[str, object]]) -> tuple[float, int]:
    start = time.perf_counter()
    tokens = 0
    for item in items:
        message = http.post("/v1/messages", json=item["params"]).raise_for_status().json()
        tokens += message["usage"]["output_tokens"]
    return time.perf_counter() - start, tokens


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", default="http://127.0.0.1:8080")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()
    headers = {"x-api-key": args.api_key, "anthropic-version": "2023-06-01"}
    items = requests(args.requests, args.model, args.max_tokens)
    with httpx.Client(base_url=args.base_url, headers=headers, timeout=3600) as http:
        batch_wall, batch_tokens = as_batch(http, items)
        seq_wall, seq_tokens = one_by_one(http, items)
    print(f"{args.requests} requests, max_tokens {args.max_tokens}, greedy\n")
    print("| mode | wall s | output tokens | output tok/s |")
    print("|---|---|---|---|")
    print(f"| one batch | {batch_wall:.1f} | {batch_tokens} | {batch_tokens / batch_wall:.1f} |")
    print(f"| one after another | {seq_wall:.1f} | {seq_tokens} | {seq_tokens / seq_wall:.1f} |")
    print(f"\nbatch speed-up (wall time): {seq_wall / batch_wall:.2f}x")


if __name__ == "__main__":
    main()
