"""Claude Code does real coding tasks against ``parley serve`` on the coder model.

Claude Code (pinned in ``tests/claude_code``) runs non-interactively with its default
tools, ``claude -p <task> --output-format stream-json``, in a scratch directory, against
a real ``parley serve --config examples/claude-code.toml`` (Qwen2.5-Coder-1.5B-Instruct,
32k context, ``claude-*`` aliased to it). A recording proxy between them notes each
request's time to first token and cache reads. What counts is the outcome on disk: the
file the task asks for prints exactly the right output.

Runs with ``make test-claude-code`` where ``make coder`` has installed the model and
Claude Code (``make test`` leaves it out: ``-m "not claude_code"``); skipped, saying
why, elsewhere.
Each run has a hard wall-clock bound, and nothing is asserted about time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from parley.backends.common.bundled import bundled_path
from tests.fixtures.claude_code_run import CLAUDE, TASKS, RecordingProxy, Task, run_claude
from tests.processes import STARTED, ParleyProcess, free_port, parley_env

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-parley-api01-claudecode0000000000000000000000000000000000000000000"
# Generous bounds for a busy two-core machine: the first request prefills Claude
# Code's whole prompt (about 11.7k tokens with 2.1.332) before its first token, which
# took 24 minutes on two cores shared with other work (Claude Code waits 30 at most).
TASK_TIMEOUT = 3600

pytestmark = [pytest.mark.slow, pytest.mark.claude_code, pytest.mark.timeout(2 * TASK_TIMEOUT)]


def _missing() -> str | None:
    try:
        bundled_path("qwen2.5-coder-1.5b")
    except FileNotFoundError:
        return "the coder model is not installed (make coder)"
    if not CLAUDE.exists():
        return "Claude Code is not installed in tests/claude_code (make coder)"
    return None


@pytest.fixture(scope="module")
def coder_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    missing = _missing()
    if missing:
        pytest.skip(missing)
    data = tmp_path_factory.mktemp("coder-data")
    port = free_port()
    env = parley_env(data, PARLEY_AUTH__BOOTSTRAP_API_KEY=KEY)
    config = str(ROOT / "examples" / "claude-code.toml")
    server = ParleyProcess(
        ["serve", "--config", config, "--port", str(port)], env, data / "serve.log"
    )
    try:
        server.wait_for(STARTED, timeout=300)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()


def _report(task: Task, proxy: RecordingProxy, run_returncode: int | None) -> str:
    lines = [f"claude -p ({task.name}): exit {run_returncode}, {len(proxy.turns)} requests"]
    lines += [json.dumps(turn.as_dict()) for turn in proxy.turns]
    return "\n".join(lines)


def test_claude_code_does_the_tasks(coder_server: str, tmp_path: Path) -> None:
    """Both tasks in one test, one after the other on one server (so pytest-xdist never
    runs two model processes for it): the first task's report is kept if the second
    fails."""
    problems = [problem for task in TASKS if (problem := _do(task, coder_server, tmp_path))]
    assert not problems, "\n\n".join(problems)


def _do(task: Task, server: str, tmp_path: Path) -> str | None:
    """Run ``task``; what went wrong, or None."""
    work = tmp_path / task.name
    work.mkdir()
    task.setup(work)
    with RecordingProxy(server) as proxy:
        run = run_claude(
            task.prompt, work, proxy.url, KEY, timeout=TASK_TIMEOUT, home=tmp_path / "home"
        )
    report = _report(task, proxy, run.returncode)
    print(report)  # turns, tool calls, time to first token and cache reads, per request
    called = [name for name, _ in run.tool_calls()]
    # The main conversation's requests carry Claude Code's whole prompt (side requests
    # are short); every one after the first reads its system prompt and tools from the
    # KV cache, side requests in between or not.
    main = [turn for turn in proxy.turns if turn.input_tokens + turn.cache_read > 4000]
    if run.returncode is None:
        return f"Claude Code did not finish in {TASK_TIMEOUT} s\n{report}"
    if any(turn.status != 200 for turn in proxy.turns):
        return f"a request failed\n{report}\n{run.stderr[-2000:]}"
    if (problem := task.check(work)) is not None:
        return f"{problem}; tools called: {called}\n{report}"
    if task.tool is not None and task.tool not in called:
        return f"{task.tool} was not used: {called}\n{report}"
    if len(main) < 2 or not all(turn.cache_read > 4000 for turn in main[1:]):
        return f"later turns did not read the prompt from the cache\n{report}"
    return None
