"""What flash attention costs on this CPU: llama.cpp's decode calls timed directly.

Builds a context with the engine's own ``new_context`` (``--slots`` sequences, a KV
cache of ``--ctx`` tokens each, not unified), once with flash attention on and once
off, and times ``llama_decode`` for the shapes a server meets:

- one decode step (one token per sequence) for 1 and for ``--slots`` sequences, at
  growing context lengths;
- a conversation's new turn: ``--new`` prompt tokens on top of ``--cached`` tokens
  already in the KV cache;
- one decode step of 4 sequences at 128 tokens, in consecutive slots (0-3), in two
  runs (0, 1, 4, 5) and in four (0, 2, 4, 6): llama.cpp decodes each run of
  consecutive sequence ids of a non-unified cache as its own micro-batch, which is why
  the engine's slot choice keeps busy sequences together.

No HTTP and no Python beyond the calls themselves: the figures are the engine's.

    .venv/bin/python bench/attention_probe.py --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import llama_cpp as lc

from parley.backends.common.gguf import LlamaModel, resolve_gguf
from parley.backends.llama_cpp.engine import EngineConfig, new_context

SPREADS = ([0, 1, 2, 3], [0, 1, 4, 5], [0, 2, 4, 6])  # needs --slots 7 or more
TEXT = "The keeper climbed the stairs of the lighthouse as the storm came in. " * 400


class Probe:
    def __init__(self, model: LlamaModel, args: argparse.Namespace, flash: bool) -> None:
        config = EngineConfig(
            slots=args.slots,
            ctx_per_slot=args.ctx,
            n_batch=512,
            n_threads=args.threads,
            flash_attention=flash,
        )
        self.ctx = new_context(model, config)
        self.memory = lc.llama_get_memory(self.ctx)
        self.batch: Any = lc.llama_batch_init(512, 0, 1)
        self.tokens = model.tokenize(TEXT)

    def close(self) -> None:
        lc.llama_batch_free(self.batch)
        lc.llama_free(self.ctx)

    def decode(self, entries: list[tuple[int, int]]) -> float:
        """Decode (sequence, position) entries in one call; milliseconds taken."""
        batch = self.batch
        for i, (seq, pos) in enumerate(entries):
            batch.token[i] = self.tokens[pos]
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = i == len(entries) - 1 or entries[i + 1][0] != seq
        batch.n_tokens = len(entries)
        start = time.perf_counter()
        if lc.llama_decode(self.ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")
        return (time.perf_counter() - start) * 1000

    def fill(self, seqs: range, length: int) -> None:
        """Put the first ``length`` tokens in each sequence's cache."""
        for seq in seqs:
            lc.llama_memory_seq_rm(self.memory, seq, 0, -1)
            for start in range(0, length, 512):
                self.decode([(seq, p) for p in range(start, min(start + 512, length))])

    def step(self, seqs: list[int], length: int, repeats: int) -> float:
        """Median time of one decode step of sequences ``seqs`` at ``length``."""
        for seq in seqs:
            self.fill(range(seq, seq + 1), length)
        times = [self.decode([(s, length + k) for s in seqs]) for k in range(repeats)]
        return statistics.median(times[1:])

    def new_turn(self, cached: int, new: int, repeats: int) -> float:
        """Median time to prefill ``new`` tokens after ``cached`` ones (sequence 0)."""
        self.fill(range(1), cached)
        times = []
        for _ in range(repeats):
            lc.llama_memory_seq_rm(self.memory, 0, cached, -1)
            times.append(self.decode([(0, p) for p in range(cached, cached + new)]))
        return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gguf", default="bundled:smollm2")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--ctx", type=int, default=8192, help="KV cache per sequence")
    parser.add_argument("--lengths", default="64,256,512,1024,2048")
    parser.add_argument("--cached", type=int, default=1149)
    parser.add_argument("--new", type=int, default=17)
    parser.add_argument("--repeats", type=int, default=8)
    args = parser.parse_args()
    model = LlamaModel(resolve_gguf(args.gguf))
    lengths = [int(x) for x in args.lengths.split(",")]
    rows: dict[str, list[str]] = {}
    for flash in (True, False):
        probe = Probe(model, args, flash)
        every = list(range(args.slots))
        cells = [f"{probe.step([0], n, args.repeats):.1f}" for n in lengths]
        cells += [f"{probe.step(every, n, args.repeats):.1f}" for n in lengths]
        cells.append(f"{probe.new_turn(args.cached, args.new, args.repeats):.1f}")
        for seqs in SPREADS:
            cells.append(f"{probe.step(seqs, 128, args.repeats):.1f}")
        rows["on" if flash else "off"] = cells
        probe.close()
    model.close()
    heads = [f"1 seq @{n}" for n in lengths] + [f"{args.slots} seq @{n}" for n in lengths]
    heads.append(f"{args.new} new after {args.cached}")
    heads += [f"4 seq {','.join(map(str, seqs))} @128" for seqs in SPREADS]
    print(f"llama_decode ms, {args.threads} threads (median of {args.repeats})\n")
    print("| flash attention | " + " | ".join(heads) + " |")
    print("|---|" + "---|" * len(heads))
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
