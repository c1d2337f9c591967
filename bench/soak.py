"""A bounded soak: a mixed workload against a real ``parley serve``, sampled each minute.

It starts ``parley serve`` on the bundled model (its own data directory, a known admin
and API key) and runs, for ``--minutes``, at once: streams read to the end, streams
the client abandons after two events, forced tool calls, a batch every 30 s, file
uploads with list and delete, admin calls (workspaces, keys, the usage report) and a
trickle of made-up keys. Each minute it reads the server's own ``GET /metrics``
(resident memory, open file descriptors, requests and errors by route, time to first
token) and the latencies the clients saw (p50/p95/p99 per kind).

The model's host-memory prompt cache is set to ``--cache-ram-mib`` (256 MiB): it is
meant to fill up, and at the default 1 GiB this load takes about ten minutes to fill
it, so a smaller one reaches the steady state within the warm-up.

The verdict is about flatness after warm-up (the first ``--warmup`` minutes), never
about speed: resident memory may grow at most 10% over the rest of the run, open file
descriptors at most 16, and the last quarter's p95 of each kind may be at most 1.5x
the first quarter's after warm-up. No request may get a 5xx.

    .venv/bin/python bench/soak.py --minutes 30 --out bench/out/soak.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

API_KEY = "sk-parley-api01-soaksoaksoak" + "0" * 40
ADMIN_KEY = "sk-parley-admin01-soakadmin000" + "0" * 40
V1 = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
ADMIN = {"x-api-key": ADMIN_KEY, "anthropic-version": "2023-06-01"}
MODEL = "smollm2-135m-instruct"
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"],
    },
}


@dataclass
class Tally:
    """What the clients saw, per kind of call, for the current minute."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    server_errors: list[str] = field(default_factory=list)

    def add(self, kind: str, seconds: float, status: int, text: str = "") -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if status >= 500:
                self.server_errors.append(f"{kind}: {status} {text[:200]}")
            elif status >= 400 and kind != "bad_key":
                self.errors[kind] += 1

    def take(self) -> tuple[dict[str, list[float]], dict[str, int]]:
        with self.lock:
            out = (dict(self.latencies), dict(self.errors))
            self.latencies, self.errors = defaultdict(list), defaultdict(int)
            return out


def timed(
    client: httpx.Client, tally: Tally, kind: str, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    began = time.monotonic()
    response = client.request(method, url, **kwargs)
    tally.add(kind, time.monotonic() - began, response.status_code, response.text)
    return response


def body(prompt: str, max_tokens: int, **extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
        **extra,
    }


def streams(client: httpx.Client, tally: Tally, stop: threading.Event) -> None:
    while not stop.is_set():
        began = time.monotonic()
        payload = body(f"Tell a short story number {random.randint(0, 10**6)}.", 32, stream=True)
        with client.stream("POST", "/v1/messages", headers=V1, json=payload) as response:
            text = "".join(response.iter_text())
        bad = '"type":"error"' in text.replace(" ", "")
        tally.add("stream", time.monotonic() - began, 500 if bad else response.status_code, text)


def abandoned(client: httpx.Client, tally: Tally, stop: threading.Event) -> None:
    while not stop.is_set():
        began = time.monotonic()
        payload = body("Write a very long essay about rivers.", 400, stream=True)
        with client.stream("POST", "/v1/messages", headers=V1, json=payload) as response:
            for i, _ in enumerate(response.iter_lines()):
                if i >= 4:
                    break  # the client goes away mid-answer
        tally.add("abandoned", time.monotonic() - began, response.status_code)
        stop.wait(0.5)


def tools(client: httpx.Client, tally: Tally, stop: threading.Event) -> None:
    while not stop.is_set():
        payload = body(
            "Weather in Paris?", 64, tools=[WEATHER], tool_choice={"type": "any"}, temperature=0.7
        )
        timed(client, tally, "tools", "POST", "/v1/messages", headers=V1, json=payload)


def batches(client: httpx.Client, tally: Tally, stop: threading.Event) -> None:
    while not stop.is_set():
        requests = [
            {"custom_id": f"r{i}", "params": body(f"Say {i} in words.", 12)} for i in range(8)
        ]
        created = timed(
            client,
            tally,
            "batch_create",
            "POST",
            "/v1/messages/batches",
            headers=V1,
            json={"requests": requests},
        )
        batch_id = created.json().get("id")
        while batch_id and not stop.is_set():
            state = client.get(f"/v1/messages/batches/{batch_id}", headers=V1).json()
            if state.get("processing_status") == "ended":
                url = f"/v1/messages/batches/{batch_id}/results"
                timed(client, tally, "batch_results", "GET", url, headers=V1)
                break
            stop.wait(1)
        stop.wait(30)


def files(client: httpx.Client, tally: Tally, stop: threading.Event) -> None:
    blob = os.urandom(128 * 1024).hex().encode()  # 256 KB of text
    while not stop.is_set():
        files = {"file": ("soak.txt", blob)}
        uploaded = timed(client, tally, "upload", "POST", "/v1/files", headers=V1, files=files)
        timed(client, tally, "files_list", "GET", "/v1/files", headers=V1)
        file_id = uploaded.json().get("id")
        if file_id:
            timed(client, tally, "file_delete", "DELETE", f"/v1/files/{file_id}", headers=V1)
        stop.wait(5)


def admin(client: httpx.Client, tally: Tally, stop: threading.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        made = timed(
            client,
            tally,
            "admin",
            "POST",
            "/v1/organizations/workspaces",
            headers=ADMIN,
            json={"name": f"soak {n}"},
        )
        workspace = made.json().get("id")
        if workspace:
            key = {"name": "soak", "workspace_id": workspace}
            timed(
                client,
                tally,
                "admin",
                "POST",
                "/v1/organizations/api_keys",
                headers=ADMIN,
                json=key,
            )
            archive = f"/v1/organizations/workspaces/{workspace}/archive"
            timed(client, tally, "admin", "POST", archive, headers=ADMIN)
        params = {"starting_at": "2026-01-01T00:00:00Z", "group_by[]": "model", "limit": 31}
        report = "/v1/organizations/usage_report/messages"
        timed(client, tally, "admin", "GET", report, headers=ADMIN, params=params)
        for _ in range(20):  # made-up keys: each one a negative-cache entry
            fake = {"x-api-key": "sk-parley-api01-" + os.urandom(28).hex()[:55]}
            timed(
                client,
                tally,
                "bad_key",
                "GET",
                "/v1/models",
                headers={**fake, "anthropic-version": "2023-06-01"},
            )
        stop.wait(10)


def scrape(client: httpx.Client) -> dict[str, float]:
    text = client.get("/metrics", headers=ADMIN).text
    found: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in ("process_resident_memory_bytes", "process_open_fds"):
                found[sample.name] = sample.value
            elif sample.name == "parley_http_requests_total":
                found["requests"] += sample.value
                if sample.labels.get("status", "").startswith("5"):
                    found["server_errors"] += sample.value
            elif sample.name == "parley_time_to_first_token_seconds_sum":
                found["ttft_sum"] += sample.value
            elif sample.name == "parley_time_to_first_token_seconds_count":
                found["ttft_count"] += sample.value
    return dict(found)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_server(data_dir: Path, port: int, cache_ram_mib: int) -> subprocess.Popen[bytes]:
    model = {
        "id": MODEL,
        "display_name": "SmolLM2 135M Instruct",
        "sampling": {"temperature": 0.2, "top_p": 0.9},
        "options": {"gguf": "bundled:smollm2", "cache_ram_mib": cache_ram_mib},
    }
    env = {
        **os.environ,
        "PARLEY_MODELS": json.dumps([model]),
        "PARLEY_DATA_DIR": str(data_dir),
        "PARLEY_AUTH__BOOTSTRAP_API_KEY": API_KEY,
        "PARLEY_AUTH__BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
        "PARLEY_SERVER__LOG_LEVEL": "warning",
    }
    env.pop("PARLEY_CONFIG", None)
    log = (data_dir / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "parley", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("parley serve did not start; see " + str(data_dir / "serve.log"))


def verdict(minutes: list[dict[str, Any]], warmup: int) -> list[str]:
    """The flatness criteria of the module docstring, as failures (empty: flat)."""
    steady = minutes[warmup:]
    if len(steady) < 4:
        return ["too short to judge: run longer than the warm-up plus four minutes"]
    problems = []
    rss = [m["rss_mb"] for m in steady]
    if max(rss) > rss[0] * 1.10:
        problems.append(f"resident memory grew from {rss[0]:.0f} to {max(rss):.0f} MB")
    fds = [m["open_fds"] for m in steady]
    if max(fds) - fds[0] > 16:
        problems.append(f"open file descriptors grew from {fds[0]:.0f} to {max(fds):.0f}")
    quarter = max(1, len(steady) // 4)
    for kind in ("stream", "tools", "upload", "admin"):
        first = [p for m in steady[:quarter] for p in [m["p95_ms"].get(kind)] if p]
        last = [p for m in steady[-quarter:] for p in [m["p95_ms"].get(kind)] if p]
        if first and last and statistics.median(last) > 1.5 * statistics.median(first):
            problems.append(
                f"{kind} p95 rose from {statistics.median(first):.0f} to "
                f"{statistics.median(last):.0f} ms"
            )
    if any(m["server_errors"] for m in minutes):
        problems.append(
            "5xx answers: " + "; ".join(e for m in minutes for e in m["server_errors"])[:600]
        )
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument(
        "--cache-ram-mib",
        type=int,
        default=256,
        help="the model's host-memory prompt cache; it fills during warm-up (default "
        "1024 in production would take ~10 minutes of this load to fill)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/out/soak.json"))
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="parley-soak-"))
    server = start_server(data_dir, args.port, args.cache_ram_mib)
    tally, stop = Tally(), threading.Event()
    client = httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=120)
    workers = [streams, streams, abandoned, tools, batches, files, admin]
    threads = [threading.Thread(target=w, args=(client, tally, stop), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    minutes: list[dict[str, Any]] = []
    try:
        for minute in range(1, args.minutes + 1):
            stop.wait(60)
            metrics = scrape(client)
            latencies, errors = tally.take()
            with tally.lock:
                server_errors, tally.server_errors = tally.server_errors, []
            row = {
                "minute": minute,
                "rss_mb": metrics.get("process_resident_memory_bytes", 0) / 2**20,
                "open_fds": metrics.get("process_open_fds", 0),
                "requests_total": metrics.get("requests", 0),
                "server_errors_total": metrics.get("server_errors", 0),
                "calls": {k: len(v) for k, v in latencies.items()},
                "p50_ms": {k: 1000 * percentile(v, 0.50) for k, v in latencies.items()},
                "p95_ms": {k: 1000 * percentile(v, 0.95) for k, v in latencies.items()},
                "p99_ms": {k: 1000 * percentile(v, 0.99) for k, v in latencies.items()},
                "client_errors": errors,
                "server_errors": server_errors,
            }
            minutes.append(row)
            print(
                f"minute {minute:3}: rss {row['rss_mb']:7.1f} MB  fds {row['open_fds']:4.0f}  "
                f"stream p95 {row['p95_ms'].get('stream', float('nan')):7.0f} ms  "
                f"calls {sum(row['calls'].values()):5}  5xx {len(server_errors)}",
                flush=True,
            )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        client.close()
    problems = verdict(minutes, args.warmup)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"minutes": minutes, "problems": problems}, indent=2))
    print("FLAT" if not problems else "NOT FLAT:\n- " + "\n- ".join(problems))


if __name__ == "__main__":
    main()
