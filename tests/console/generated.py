"""Running the Workbench's "Get code" snippets as a user would: the curl command in
bash, the Python snippet with the venv's interpreter (SDK 2.15), the TypeScript
snippet with Node and the TypeScript SDK of ``tests/node``. Each returns the text the
model streamed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def _run(command: list[str], key: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "ANTHROPIC_API_KEY": key}
    ran = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return ran.stdout


def curl_text(snippet: str, key: str) -> str:
    """The text deltas of the SSE stream the curl command prints."""
    out = _run(["bash", "-c", snippet + " --silent --show-error --fail"], key)
    text = []
    for line in out.splitlines():
        if line.startswith("data:"):
            event = json.loads(line[5:])
            if (
                event.get("type") == "content_block_delta"
                and event["delta"]["type"] == "text_delta"
            ):
                text.append(event["delta"]["text"])
    return "".join(text)


def python_text(snippet: str, key: str) -> str:
    """What the Python snippet printed before its last line (stop reason and usage)."""
    out = _run([sys.executable, "-c", snippet], key)
    return out.rsplit("\n", 2)[0]


def typescript_text(snippet: str, key: str) -> str:
    assert (NODE_DIR / "node_modules").exists(), "tests/node has no node_modules: make install-test"
    with tempfile.NamedTemporaryFile("w", suffix=".mjs", dir=NODE_DIR, delete=False) as f:
        f.write(snippet)
    try:
        out = _run(["node", f.name], key, cwd=NODE_DIR)
    finally:
        Path(f.name).unlink()
    return out.rsplit("\n", 2)[0]
