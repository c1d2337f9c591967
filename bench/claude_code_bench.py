"""Claude Code's tasks against Parley and llama-server on the same GGUF, side by side.

The tasks of ``tests/e2e/test_claude_code.py`` (``tests/fixtures/claude_code_run.py``)
run with the pinned Claude Code against each server in turn, one server up at a time
(two cores cannot run two 1.5B models fairly side by side):

- Parley: ``parley serve --config examples/claude-code.toml`` (one slot of 32k tokens,
  a 2 GiB host-memory prompt cache, ``claude-*`` aliased to the coder model),
  ``n_threads`` as given;
- llama-server: the same GGUF, ``--jinja``, its own ``/v1/messages``, the same threads,
  one slot of 32k (``-np 1 -c 32768``) and its own host-memory prompt cache (its
  default ``--cache-ram``).

Claude Code talks to each through the recording proxy, which notes per request the
time to first token, prompt tokens computed (input plus cache writes) and cache reads.
Per task and server: whether the outcome on disk is right, requests, tool calls, wall
time, and the server's memory (RSS after loading, and its peak) from ``/proc``.

    .venv/bin/python bench/claude_code_bench.py --llama-server /path/to/llama-server \\
        [--rounds 1] [--threads N] [--json out.json]

llama-server must be built from the llama.cpp tree inside the pinned llama-cpp-python
sdist, as ``bench/compare_llama_server.sh`` describes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.claude_code_run import TASKS, RecordingProxy, Task, run_claude  # noqa: E402

from parley.backends.common.bundled import bundled_path  # noqa: E402

KEY = "sk-parley-api01-claudecodebench00000000000000000000000000000000000000"
CTX = 32768
SLOTS = 1


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One server process: started, waited for, measured, stopped."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], url: str) -> None:
        self.name, self.url = name, url
        # Open for the process's life; closed in stop().
        self.log = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.rss_loaded_mib = 0.0

    def wait(self, health: str) -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log.name}")
            try:
                if httpx.get(self.url + health, timeout=5).status_code == 200:
                    self.rss_loaded_mib = self.memory()["VmRSS"]
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise RuntimeError(f"{self.name} did not start; see {self.log.name}")

    def memory(self) -> dict[str, float]:
        """VmRSS and VmHWM (peak RSS) in MiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        values = {}
        for line in status.splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
        return values

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def parley(threads: int) -> Server:
    port = free_port()
    data = tempfile.mkdtemp(prefix="parley-bench-")
    env = {**os.environ, "PARLEY_DATA_DIR": data, "PARLEY_AUTH__BOOTSTRAP_API_KEY": KEY}
    env["PARLEY_MODELS"] = json.dumps([_parley_model(threads)])
    command = [sys.executable, "-m", "parley", "serve", "--port", str(port)]
    command += ["--config", str(ROOT / "examples" / "claude-code.toml")]
    server = Server("parley", command, env, f"http://127.0.0.1:{port}")
    server.wait("/")
    return server


def _parley_model(threads: int) -> dict[str, Any]:
    """The example configuration's model, with the benchmark's thread count."""
    import tomllib

    config = tomllib.loads((ROOT / "examples" / "claude-code.toml").read_text())
    model: dict[str, Any] = config["models"][0]
    model["options"]["n_threads"] = threads
    return model


def llama_server(binary: str, threads: int) -> Server:
    port = free_port()
    gguf = str(bundled_path("qwen2.5-coder-1.5b"))
    command = [binary, "-m", gguf, "--jinja", "--host", "127.0.0.1", "--port", str(port)]
    command += ["-t", str(threads), "-tb", str(threads), "-c", str(SLOTS * CTX)]
    command += ["-np", str(SLOTS), "--temp", "0.2", "--top-p", "0.9"]
    server = Server("llama-server", command, dict(os.environ), f"http://127.0.0.1:{port}")
    server.wait("/health")
    return server


def run_task(server: Server, task: Task, scratch: Path, timeout: float) -> dict[str, Any]:
    work = scratch / f"{server.name}-{task.name}"
    work.mkdir(parents=True)
    task.setup(work)
    with RecordingProxy(server.url) as proxy:
        run = run_claude(task.prompt, work, proxy.url, KEY, timeout=timeout, home=scratch / "home")
    problem = task.check(work)
    return {
        "server": server.name,
        "task": task.name,
        "done": problem is None,
        "problem": problem,
        "exit": run.returncode,
        "wall_s": round(run.wall_s, 1),
        "tool_calls": [name for name, _ in run.tool_calls()],
        "requests": [
            turn.as_dict() | {"prefilled": turn.prefilled, "decode_tok_s": turn.decode_tokens_per_s}
            for turn in proxy.turns
        ],
        "memory_mib": {"loaded": round(server.rss_loaded_mib), **server.memory()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--llama-server", required=True, help="path to the llama-server binary")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1500, help="seconds per task at most")
    parser.add_argument("--only", choices=["parley", "llama-server"], default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the results here too")
    args = parser.parse_args()
    results = []
    scratch = Path(tempfile.mkdtemp(prefix="claude-code-bench-"))
    for round_ in range(args.rounds):
        order = ["parley", "llama-server"] if round_ % 2 == 0 else ["llama-server", "parley"]
        for name in order:
            if args.only not in (None, name):
                continue
            start = parley if name == "parley" else lambda t: llama_server(args.llama_server, t)
            server = start(args.threads)
            try:
                for task in TASKS:
                    result = run_task(server, task, scratch / str(round_), args.timeout)
                    print(json.dumps(result), flush=True)
                    results.append(result)
            finally:
                server.stop()
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    print(table(results))


def table(results: list[dict[str, Any]]) -> str:
    """Markdown: one row per task and server, per-request TTFT and prefill listed."""
    lines = [
        "| task | server | done | requests | tool calls | wall s | TTFT s per request "
        "| prefilled tokens per request | cache reads per request | decode tok/s (median) "
        "| RSS loaded / peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        requests = r["requests"]
        ttft = ", ".join("-" if q["ttft_s"] is None else f"{q['ttft_s']:.1f}" for q in requests)
        prefilled = ", ".join(str(q["prefilled"]) for q in requests)
        reads = ", ".join(str(q["cache_read_input_tokens"]) for q in requests)
        rates = sorted(q["decode_tok_s"] for q in requests if q.get("decode_tok_s"))
        rate = f"{rates[len(rates) // 2]:.1f}" if rates else "-"
        memory = r["memory_mib"]
        lines.append(
            f"| {r['task']} | {r['server']} | {'yes' if r['done'] else 'no'} | {len(requests)} "
            f"| {', '.join(r['tool_calls']) or '-'} | {r['wall_s']} | {ttft} | {prefilled} "
            f"| {reads} | {rate} | {memory['loaded']} / {memory.get('VmHWM', 0):.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
