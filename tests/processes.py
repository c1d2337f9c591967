"""Real ``parley`` processes for the tests that need them (``serve``, ``worker``).

Output goes to a log file, never to an undrained pipe (a chatty process would block on
a full pipe and look hung), and every handle is closed however the process ends, so
the suite's "warnings are errors" rule sees no leaked file.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

# uvicorn logs this once its socket listens; "Application startup complete" comes
# before the bind, and a request sent on it can be refused (seen in CI on a busy machine).
STARTED = "Uvicorn running on"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parley_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a process with its own data directory and no config file."""
    env = {**os.environ, "PARLEY_DATA_DIR": str(data_dir), **extra}
    env.pop("PARLEY_CONFIG", None)
    return env


# Every process started, in order: a test that fails before it stops its server
# leaves none behind (``kill_started_since``), so no later test meets its warnings.
STARTED_PROCESSES: list[ParleyProcess] = []


def kill_started_since(count: int) -> None:
    """Kill the processes started after the first ``count`` that still run."""
    for process in STARTED_PROCESSES[count:]:
        process.kill()
    del STARTED_PROCESSES[count:]


class ParleyProcess:
    """``python -m parley <args>``, logging to ``log_path``."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "parley", *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        STARTED_PROCESSES.append(self)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 120) -> None:
        """Until ``text`` appears in the log; raises if the process ends or time runs out."""
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                command = " ".join(self.args)
                raise RuntimeError(f"parley {command} did not log {text!r}:\n{self.log()}")
            time.sleep(0.05)

    def terminate(self, timeout: float = 60) -> str:
        """SIGTERM and wait; the whole log. uvicorn shuts down gracefully and then
        re-raises the signal, so the exit status is -SIGTERM either way."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise
        self._log.close()
        return self.log()

    def kill(self) -> None:
        """SIGKILL: no shutdown at all, as a crash or the OOM killer would end it."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._log.close()


def serve(data_dir: Path, port: int, env: dict[str, str] | None = None) -> ParleyProcess:
    """``parley serve --port <port>``, started (its log in ``data_dir``)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = env or parley_env(data_dir)
    log = data_dir / f"serve-{port}-{len(list(data_dir.glob('serve-*.log')))}.log"
    server = ParleyProcess(["serve", "--port", str(port)], env, log)
    server.wait_for(STARTED)
    return server
