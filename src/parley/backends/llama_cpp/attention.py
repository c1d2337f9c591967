"""Flash attention on or off on this machine's CPU: measured once, then remembered.

llama.cpp's flash-attention kernel is faster on some CPUs and slower on others, and
by how much depends on the work (``bench/attention_probe.py``; figures in
``bench/RESULTS.md``): on the AMD EPYC machines measured it made many short sequences
decoded together 5 to 36% faster, on the Intel Xeons it made one long sequence 2.7 times
slower, and everywhere it made a new turn's prefill over a long cached prefix slower.
No one setting is right on every machine, so ``flash_attention = "auto"`` on the CPU
times both with the model, threads and slots being served, on a workload standing for
the two uses a server meets:

- a conversation's new turn: ``NEW`` prompt tokens over ``CACHED`` tokens already in
  the KV cache, then ``STEPS`` decode steps of that one sequence;
- short chats at once: ``STEPS`` decode steps of ``min(slots, 4)`` sequences holding
  ``SHORT`` tokens each;

and serves with the setting whose total is smaller (each shape's median over
``ROUNDS``, the two settings timed in turn). The choice is kept in the user
cache directory under a key naming everything it depends on (the GGUF file, llama.cpp's
version, the CPU model and flags, threads, and slots up to the four the probe uses), so
only the first start of a new combination pays for the probe: about five seconds for
the bundled model on two cores. A probe that did not get its threads' CPU time
(another process was busy) decides for this process only and is not written down; one
that fails serves with flash attention off.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import llama_cpp as lc
import platformdirs

from parley.backends.common.gguf import LlamaModel
from parley.backends.llama_cpp.engine import EngineConfig, new_context

log = logging.getLogger(__name__)

CACHED = 512
NEW = 16
SHORT = 64
STEPS = 64
ROUNDS = 5
# Below this share of its threads' CPU time the probe ran on a busy machine: its
# figures say more about the other load than about the kernels, so they are not kept.
BUSY_SHARE = 0.8
CHATS = 4  # short chats at most in the probe (one more sequence holds the conversation)
# Choices measured on a busy machine, kept for this process only.
_THIS_PROCESS: dict[tuple[str, Path], bool] = {}
TEXT = "The keeper climbed the stairs of the lighthouse as the storm came in. " * 80


@dataclass(frozen=True)
class Measurement:
    on_ms: float  # the probe's workload with flash attention on
    off_ms: float  # and off
    share: float  # of its threads' time the probe got the CPU (1.0: a quiet machine)


def choose(model: LlamaModel, gguf: Path, config: EngineConfig, store: Path | None = None) -> bool:
    """Whether to serve ``config`` with flash attention: remembered, or measured now."""
    store = store or Path(platformdirs.user_cache_dir("parley")) / "flash_attention.json"
    key = probe_key(gguf, config)
    known = _read(store)
    entry = known.get(key)
    if isinstance(entry, dict) and isinstance(entry.get("on"), bool):
        return bool(entry["on"])
    if (key, store) in _THIS_PROCESS:
        return _THIS_PROCESS[key, store]
    log.info("timing flash attention on and off on this CPU (once for this model and setup)")
    try:
        found = measure(model, config)
    except Exception:  # a probe that fails must not stop the model from serving
        log.exception("could not time flash attention; serving with it off")
        return False
    on = found.on_ms < found.off_ms
    log.info(
        "flash attention: %.0f ms on, %.0f ms off; serving with it %s",
        found.on_ms,
        found.off_ms,
        "on" if on else "off",
    )
    if found.share < BUSY_SHARE:
        log.warning(
            "the machine was busy while timing flash attention (%.0f%% of %d threads' "
            "time): the choice holds for this start only and is measured again at the next",
            found.share * 100,
            config.threads(),
        )
        _THIS_PROCESS[key, store] = on
        return on
    known[key] = {"on": on, "on_ms": round(found.on_ms, 1), "off_ms": round(found.off_ms, 1)}
    _write(store, known)
    return on


def measure(model: LlamaModel, config: EngineConfig) -> Measurement:
    """The probe's workload timed with flash attention on and off."""
    wall, cpu = time.perf_counter(), time.process_time()
    on_ms, off_ms = workload_ms(model, config)
    share = (time.process_time() - cpu) / ((time.perf_counter() - wall) * config.threads())
    return Measurement(on_ms, off_ms, share)


def probe_key(gguf: Path, config: EngineConfig) -> str:
    stat = gguf.stat()
    parts = [
        str(gguf.resolve()),
        str(stat.st_size),
        str(stat.st_mtime_ns),
        lc.__version__,
        _cpu(),
        str(config.threads()),
        str(min(config.slots, CHATS)),  # the slots the workload uses
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def workload_ms(model: LlamaModel, config: EngineConfig) -> tuple[float, float]:
    """Milliseconds the probe's workload takes with flash attention on, and off. The two
    contexts are timed in turn, shape by shape, so machine noise falls on both alike."""
    chats = max(1, min(config.slots, CHATS))
    tokens = model.tokenize(TEXT, prompt=False)
    runs: list[_Run] = []
    try:
        runs.extend(_Run(model, config, chats, tokens, flash) for flash in (True, False))
        shapes = [
            [(0, CACHED + i) for i in range(NEW)],  # a new turn over the conversation
            [(0, CACHED)],  # the conversation's decode step
            [(seq, SHORT) for seq in range(1, chats + 1)],  # a step of the short chats
        ]
        times: list[list[list[float]]] = [[[] for _ in shapes] for _ in runs]
        for _ in range(ROUNDS + 1):  # the first round warms up and is dropped
            for shape_index, entries in enumerate(shapes):
                for run_index, run in enumerate(runs):
                    times[run_index][shape_index].append(run.timed(entries))
        totals = []
        for per_shape in times:
            new_turn, one, many = (statistics.median(t[1:]) for t in per_shape)
            totals.append(new_turn + STEPS * (one + many))
        return totals[0], totals[1]
    finally:
        for run in runs:
            run.close()


class _Run:
    """A probe context: one sequence holding a conversation of ``CACHED`` tokens and
    ``chats`` holding ``SHORT`` tokens each."""

    def __init__(
        self, model: LlamaModel, config: EngineConfig, chats: int, tokens: list[int], flash: bool
    ) -> None:
        shape = replace(
            config,
            slots=chats + 1,
            ctx_per_slot=CACHED + NEW + 256,
            n_batch=512,
            flash_attention=flash,
            cache_ram_bytes=0,
        )
        self.tokens = tokens
        self.ctx = new_context(model, shape)
        self.batch = lc.llama_batch_init(512, 0, 1)
        self.memory = lc.llama_get_memory(self.ctx)
        try:
            self.decode([(0, pos) for pos in range(CACHED)])
        except Exception:
            self.close()
            raise
        for seq in range(1, chats + 1):  # the chats: the conversation's opening, copied
            lc.llama_memory_seq_cp(self.memory, 0, seq, -1, -1)  # (whole: across streams)
            lc.llama_memory_seq_rm(self.memory, seq, SHORT, -1)

    def close(self) -> None:
        lc.llama_batch_free(self.batch)
        lc.llama_free(self.ctx)

    def timed(self, entries: list[tuple[int, int]]) -> float:
        """Milliseconds to decode ``entries`` (sequence, position), removed again after."""
        start = time.perf_counter()
        self.decode(entries)
        elapsed = (time.perf_counter() - start) * 1000
        for seq in {seq for seq, _ in entries}:
            first = min(pos for s, pos in entries if s == seq)
            lc.llama_memory_seq_rm(self.memory, seq, first, -1)
        return elapsed

    def decode(self, entries: list[tuple[int, int]]) -> None:
        batch = self.batch
        for i, (seq, pos) in enumerate(entries):
            batch.token[i] = self.tokens[pos % len(self.tokens)]
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = i == len(entries) - 1
        batch.n_tokens = len(entries)
        status = lc.llama_decode(self.ctx, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode returned {status} in the flash-attention probe")


def _cpu() -> str:
    """The CPU's model name and feature flags (what llama.cpp's kernels depend on)."""
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return os.uname().machine
    wanted = ("model name", "flags", "Features", "CPU part")
    lines = {line.split(":")[0].strip(): line for line in info.splitlines() if ":" in line}
    return "\n".join(lines.get(name, "") for name in wanted)


def _read(store: Path) -> dict[str, Any]:
    try:
        data = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(store: Path, known: dict[str, Any]) -> None:
    """Write ``known`` whole and atomically (a reader sees the old file or the new; two
    processes probing different keys at once may keep only one, probed again later)."""
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=store.parent, prefix=f".{store.name}.")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(known, out, indent=1)
        os.replace(temporary, store)
    except OSError as exc:  # a read-only home: probe again next time
        log.warning("could not remember the flash-attention choice in %s: %s", store, exc)
