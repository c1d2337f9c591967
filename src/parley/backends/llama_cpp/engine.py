"""The decode loop: one thread owns the llama.cpp context and serves many sequences.

The context holds ``slots`` sequences, each with its own KV cache of
``ctx_per_slot`` tokens. Every step builds one ``llama_batch`` from all busy slots:
one token for each slot that is generating, then chunks of prompt for slots still
prefilling (``n_batch`` tokens in all), decodes it once, and samples every slot whose
logits came out, each with its own sampler chain (temperature, top-p/k, grammar). Jobs
join between steps and leave the moment they finish or are cancelled: continuous
batching, as llama.cpp's own server does it.

Prefix reuse: a slot keeps the tokens its KV cache holds after a job ends. A new job
goes to the free slot sharing the longest prefix with its prompt and only the rest is
prefilled; ``PromptProcessed.cached_tokens`` says how much was reused. With a host
memory budget (``cache_ram_bytes``), a slot about to lose most of what it holds is
copied out first, and a prompt that shares more with a kept copy than with its slot
gets the copy written back (``ram_cache.py``), so conversations outnumbering the slots
still only prefill their new tokens. Slot choice weighs what a prompt would discard in a
slot against what it reuses there, a token the cache copies out first at a fiftieth of
one prefilled (``pick_slot``).

Slot choice also keeps the busy sequences' ids consecutive where it can: llama.cpp
splits a decode over a non-unified cache into one micro-batch per run of consecutive
sequence ids, so 4 streams in slots 0-3 take one graph evaluation per step where slots
0, 2, 5 and 7 would take four. Among the free slots reusing nearly the most of a
prompt (within ``REUSE_WORTH_A_RUN`` tokens: often all of them, when only a chat
template's opening is shared), the one that leaves the fewest runs wins.

Priority: waiting jobs are admitted by rank — Priority Tier work first, then standard
(interactive) work, then batch work, first come first served within a rank — and when
a job of a better rank than batch finds every slot busy while one holds a batch job,
that batch job is preempted (it fails with ``PreemptedError`` and the batch worker
retries it), so batch work delays other work by at most the decode step in progress.
Running standard jobs are not preempted: a priority job takes the next free slot.

Two engines can share the CPU (the backend's batch lane: a second context over the same
weights with more, smaller sequences for Message Batch work). A ``Precedence`` joins
them: the engine that leads marks itself busy while it has interactive (better than
batch) work running or waiting, and the one that follows steps only while it has
none, so batch work waits, paused rather than preempted, and delays interactive work
by at most the decode step in progress (up to ``n_batch`` prompt tokens).

Threading: only this thread touches the context. Other threads submit and cancel
jobs (under a condition variable) and receive events through each job's ``deliver``
callback, which must be thread-safe.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import llama_cpp as lc

from parley.backends.base import BackendEvent, Finished, FinishReason, PromptProcessed
from parley.backends.common.gguf import LlamaModel
from parley.backends.llama_cpp.output import OutputPipeline
from parley.backends.llama_cpp.ram_cache import (
    RamCache,
    common_prefix,
    restored_prefix,
    saved_before_loss,
)
from parley.errors import InternalError, ParleyError, PreemptedError

log = logging.getLogger(__name__)

Delivery = Callable[[list[BackendEvent] | ParleyError], None]
# Queue ranks, best first (``GenerationRequest.priority``).
RANKS = {"priority": 0, "interactive": 1, "batch": 2}
BATCH = RANKS["batch"]


@dataclass(eq=False)
class Job:
    """One generation as the engine sees it. ``sampler`` is owned and freed here."""

    prompt: list[int]
    max_tokens: int
    sampler: Any
    output: OutputPipeline
    deliver: Delivery
    rank: int = RANKS["interactive"]
    cancelled: bool = False
    produced: int = 0


@dataclass(eq=False)
class Slot:
    """One sequence of the context: the tokens its KV cache holds, and its job."""

    seq_id: int
    cached: list[int] = field(default_factory=list)
    job: Job | None = None
    pending: list[int] = field(default_factory=list)
    next_token: int | None = None
    last_used: int = 0


@dataclass(frozen=True)
class EngineConfig:
    slots: int = 1
    ctx_per_slot: int = 4096
    n_batch: int = 512
    n_threads: int = 0  # 0: all cores
    flash_attention: bool | None = None  # None: llama.cpp decides
    cache_ram_bytes: int = 0  # host memory for prompts evicted from slots; 0: none

    def threads(self) -> int:
        return self.n_threads or os.cpu_count() or 1


# A free slot reusing fewer extra prompt tokens than this is not worth another run of
# busy ids. Measured on 2 cores (bench/attention_probe.py): four sequences in two runs
# take 27% longer per decode step than in one (34.8 vs 27.4 ms), in four runs 84%
# longer, on every step while they run; prefilling 64 tokens takes 308 ms, about 40
# steps of the two-run penalty. Long reusable prefixes (a conversation's history) still
# decide; a few tokens more of a shared opening no longer scatter the batch.
REUSE_WORTH_A_RUN = 64

# What discarding a token that the host-memory cache copies out first costs, in tokens of
# prefill: the copy out (of all the slot holds, at most twice what it loses), and back in
# if its conversation returns. Measured on 2 cores with the bundled model (a 2,000-token
# sequence, 44 MiB): 5 us per token out and in, against 3.9-6.2 ms per token of prefill,
# about 1/1000. Weighed at 1/50: a copy can still be dropped from the cache's budget
# before its conversation comes back.
EVICTED_TOKEN_COST = 0.02


def pick_slot(slots: list[Slot], prompt: list[int], host: RamCache | None = None) -> Slot | None:
    """The free slot for ``prompt``, or None when every slot is busy.

    What a slot serves of the prompt is the prefix it shares with it, or what a copy in
    the engine's host-memory cache ``host`` would write back into it. Among the free
    slots serving within ``REUSE_WORTH_A_RUN`` tokens of the most, the one leaving the
    busy sequence ids in the fewest runs; then the one whose served tokens outweigh most
    the tokens it holds past them (which the prompt would discard; those the cache
    copies out first weigh ``EVICTED_TOKEN_COST`` each); then the least recently used.

    So a short prompt that shares only a template's opening with a long conversation
    (Claude Code's side requests beside its main one) goes to another slot and leaves
    the conversation in place; a prompt sharing a system prompt with a finished request
    reuses that slot rather than prefill again in an empty one, when the slot holds
    less than 50 times as much past the shared part; and a conversation coming back from
    the cache goes to an empty slot rather than displace another."""
    free = [s for s in slots if s.job is None]
    if not free:
        return None
    busy = {s.seq_id for s in slots if s.job is not None}
    shared = {s.seq_id: common_prefix(s.cached, prompt) for s in free}
    served = dict(shared)
    if host is not None:
        best = host.best_prefix(prompt)
        served = {i: restored_prefix(len(prompt), n, best) for i, n in shared.items()}
    most = max(served.values())
    near = [s for s in free if served[s.seq_id] + REUSE_WORTH_A_RUN > most]

    def gain(slot: Slot) -> float:
        """Tokens ``slot`` serves less the worth of those it holds and would lose."""
        held, kept = len(slot.cached), shared[slot.seq_id]
        weight = EVICTED_TOKEN_COST if host is not None and host.keeps(held, kept) else 1.0
        return served[slot.seq_id] - (held - kept) * weight

    return max(near, key=lambda s: (-_runs(busy | {s.seq_id}), gain(s), -s.last_used))


def prompt_chunk(pending: int, room: int) -> int:
    """How many of a sequence's ``pending`` prompt tokens to decode in a batch with
    ``room`` places left: as many as fit, but never one token alone while more follow,
    nor so many that one is left over. llama.cpp's results for a sequence with a single
    token in the batch differ from those for the same token among several of its
    sequence (by 1.0 in a logit of the bundled model, measured), so a prompt token
    decoded alone would make a request's greedy answer depend on how its prompt was
    split, which depends on what it reused and on the other requests in the batch. A
    one-token prompt is the exception; generated tokens are always decoded alone."""
    if pending <= room:
        return pending
    take = room if pending - room >= 2 else pending - 2
    return take if take >= 2 else 0


def _runs(seq_ids: set[int]) -> int:
    """How many runs of consecutive ids ``seq_ids`` forms: llama.cpp decodes each run
    of a non-unified cache as a separate micro-batch (``split_equal``)."""
    return sum(1 for i in seq_ids if i - 1 not in seq_ids)


class Precedence:
    """Which of two engines may step: the follower only while the leader has no
    interactive work."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._leader_busy = False

    def lead(self, busy: bool) -> None:
        """The leader says whether it has work (jobs running or waiting)."""
        with self._cv:
            if busy != self._leader_busy:
                self._leader_busy = busy
                self._cv.notify_all()

    def follow(self, stopping: Callable[[], bool]) -> bool:
        """Return once the leader is idle, or once ``stopping()`` is true; whether it
        had to wait."""
        with self._cv:
            waited = False
            while self._leader_busy and not stopping():
                waited = True
                self._cv.wait(timeout=0.25)
            return waited


def new_context(model: LlamaModel, config: EngineConfig) -> Any:
    """A llama.cpp context for ``config``: one KV cache per slot (not unified)."""
    params = lc.llama_context_default_params()
    params.n_ctx = config.slots * config.ctx_per_slot
    params.n_batch = config.n_batch
    params.n_ubatch = config.n_batch
    params.n_seq_max = config.slots
    params.n_threads = config.threads()
    params.n_threads_batch = config.threads()
    params.kv_unified = False
    params.no_perf = True
    if config.flash_attention is not None:
        params.flash_attn_type = 1 if config.flash_attention else 0
    ctx = lc.llama_init_from_model(model.ptr, params)
    if not ctx:
        raise RuntimeError("llama.cpp could not create a context")
    return ctx


class Engine:
    def __init__(
        self,
        model: LlamaModel,
        config: EngineConfig,
        *,
        leads: Precedence | None = None,
        follows: Precedence | None = None,
        name: str = "llama-engine",
    ) -> None:
        self.model = model
        self.config = config
        self._leads = leads
        self._follows = follows
        self._cv = threading.Condition()
        self._waiting: dict[int, deque[Job]] = {rank: deque() for rank in sorted(RANKS.values())}
        self._slots = [Slot(seq_id=i) for i in range(config.slots)]
        self._closing = False
        self._clock = 0
        self._piece_buf = ctypes.create_string_buffer(256)
        self._ram = RamCache(config.cache_ram_bytes) if config.cache_ram_bytes else None
        self._ctx = new_context(model, config)
        self._memory = lc.llama_get_memory(self._ctx)
        self.ctx_per_slot = int(lc.llama_n_ctx_seq(self._ctx))
        self._batch = lc.llama_batch_init(config.n_batch, 0, 1)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # --- called from other threads ---------------------------------------------------

    def submit(self, job: Job) -> None:
        with self._cv:
            if self._closing:
                raise InternalError("the model is shutting down")
            self._waiting[job.rank].append(job)
            self._cv.notify()

    def cancel(self, job: Job) -> None:
        with self._cv:
            job.cancelled = True
            self._cv.notify()

    def busy(self) -> int:
        """Slots generating now (read without the lock: a gauge, not a decision)."""
        return sum(1 for slot in self._slots if slot.job is not None)

    def queued(self, up_to: int = BATCH) -> int:
        """Jobs waiting whose rank is ``up_to`` or better."""
        with self._cv:
            return sum(len(q) for rank, q in self._waiting.items() if rank <= up_to)

    def close(self) -> None:
        with self._cv:
            self._closing = True
            self._cv.notify()
        self._thread.join()
        lc.llama_batch_free(self._batch)
        lc.llama_free(self._ctx)

    # --- the engine thread -----------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._closing and not self._work_ready():
                    if self._leads is not None:
                        self._leads.lead(False)
                    self._cv.wait()
                if self._closing:
                    break
                self._drop_cancelled()
                self._admit()
                if self._leads is not None:
                    self._leads.lead(self._interactive_work())
            if self._follows is not None and self._follows.follow(lambda: self._closing):
                continue  # it waited: cancellations and closing first, then a step
            try:
                self._step()
            except Exception as exc:  # a worker loop must survive one bad step
                log.exception("llama.cpp engine step failed")
                self._fail_all(InternalError(f"the model failed while generating: {exc}"))
        if self._leads is not None:
            self._leads.lead(False)
        self._fail_all(InternalError("the model was shut down while generating"))

    def _interactive_work(self) -> bool:
        """Whether better-ranked work than batch is running or waiting (the batch work
        this engine also runs does not hold back the batch lane)."""
        running = any(s.job is not None and s.job.rank < BATCH for s in self._slots)
        return running or any(q for rank, q in self._waiting.items() if rank < BATCH)

    def _work_ready(self) -> bool:
        busy = any(slot.job is not None for slot in self._slots)
        return busy or any(self._waiting.values())

    def _drop_cancelled(self) -> None:
        for queue in self._waiting.values():
            for job in [j for j in queue if j.cancelled]:
                queue.remove(job)
                lc.llama_sampler_free(job.sampler)
        for slot in self._slots:
            if slot.job is not None and slot.job.cancelled:
                self._release(slot)

    def _admit(self) -> None:
        for rank, queue in sorted(self._waiting.items()):
            while queue:
                slot = pick_slot(self._slots, queue[0].prompt, self._ram)
                if slot is None and rank < BATCH:
                    slot = self._preempt_batch_job()
                if slot is None:
                    return  # better-ranked jobs still waiting: admit none behind them
                self._assign(slot, queue.popleft())

    def _preempt_batch_job(self) -> Slot | None:
        """Free the slot of the batch job that has produced least, for interactive work."""
        batch_slots = [s for s in self._slots if s.job is not None and s.job.rank == BATCH]
        if not batch_slots:
            return None
        victim = min(batch_slots, key=lambda s: s.job.produced if s.job else 0)
        assert victim.job is not None
        victim.job.deliver(PreemptedError("preempted by interactive work"))
        self._release(victim)
        return victim

    def _assign(self, slot: Slot, job: Job) -> None:
        reuse = common_prefix(slot.cached, job.prompt)
        if self._ram is not None:
            reuse = self._swap(slot, job.prompt, reuse)
        # The last two prompt tokens are always decoded again: the last for its logits,
        # and one more with it, as a lone token would give other results (``prompt_chunk``).
        reuse = max(0, min(reuse, len(job.prompt) - 2))
        lc.llama_memory_seq_rm(self._memory, slot.seq_id, reuse, -1)
        slot.cached = job.prompt[:reuse]
        slot.pending = job.prompt[reuse:]
        slot.next_token = None
        slot.job = job
        self._clock += 1
        slot.last_used = self._clock
        if log.isEnabledFor(logging.DEBUG):
            busy = [s.seq_id for s in self._slots if s.job is not None]
            log.debug(
                "slot %d: reused %d of %d prompt tokens; busy: %s",
                slot.seq_id,
                reuse,
                len(job.prompt),
                busy,
            )
        job.deliver([PromptProcessed(input_tokens=len(job.prompt), cached_tokens=reuse)])

    def _swap(self, slot: Slot, prompt: list[int], reuse: int) -> int:
        """Copy out what the slot is about to lose, and write back a kept prompt that
        shares more with ``prompt``; returns how many of the slot's tokens ``prompt`` reuses."""
        assert self._ram is not None
        if saved_before_loss(len(slot.cached), reuse):
            self._ram.save(self._ctx, slot.seq_id, slot.cached)
        restored = self._ram.restore(self._ctx, slot.seq_id, prompt, reuse)
        if restored is None:
            return reuse
        slot.cached = restored
        return common_prefix(restored, prompt)

    def _step(self) -> None:
        batch = self._batch
        batch.n_tokens = 0
        to_sample: list[tuple[Slot, int]] = []
        for slot in self._slots:
            if slot.job is not None and slot.next_token is not None:
                to_sample.append((slot, self._add(slot, [slot.next_token])))
                slot.next_token = None
        for slot in self._slots:
            room = self.config.n_batch - batch.n_tokens
            if slot.job is None or not slot.pending:
                continue
            take = prompt_chunk(len(slot.pending), room)
            if take == 0:
                continue
            chunk, slot.pending = slot.pending[:take], slot.pending[take:]
            last = self._add(slot, chunk)
            if not slot.pending:
                to_sample.append((slot, last))
        if batch.n_tokens == 0:
            return
        status = lc.llama_decode(self._ctx, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode returned {status}")
        for slot, index in to_sample:
            self._sample(slot, index)

    def _add(self, slot: Slot, tokens: list[int]) -> int:
        """Append ``tokens`` of ``slot`` to the batch; logits only for the last one."""
        batch = self._batch
        pos = len(slot.cached)
        for offset, token in enumerate(tokens):
            i = batch.n_tokens
            batch.token[i] = token
            batch.pos[i] = pos + offset
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = slot.seq_id
            batch.logits[i] = offset == len(tokens) - 1
            batch.n_tokens = i + 1
        slot.cached.extend(tokens)
        return int(batch.n_tokens) - 1

    def _sample(self, slot: Slot, index: int) -> None:
        job = slot.job
        assert job is not None
        if job.max_tokens == 0:
            self._finish(slot, "max_tokens", [])
            return
        token = lc.llama_sampler_sample(job.sampler, self._ctx, index)
        job.produced += 1
        if self.model.is_eog(token):
            closing = job.output.closing(model_ended=True)
            events: list[BackendEvent] = []
            if closing is not None and self._close_thinking(slot, None, closing, events) is None:
                job.deliver(events)
                return
            self._finish(slot, "tool_use" if job.output.tool_calls else "end_turn", events)
            return
        events = job.output.feed(self.model.piece(token, self._piece_buf))
        if job.output.stop_sequence is not None:
            self._finish(slot, "stop_sequence", events)
        elif job.output.repeated:
            self._finish(slot, "tool_use", events)
        elif job.produced >= job.max_tokens:
            self._finish(slot, "max_tokens", events)
        elif len(slot.cached) + 1 >= self.ctx_per_slot:
            self._finish(slot, "context_window", events)
        else:
            closing = job.output.closing()
            if closing is None:
                slot.next_token = token
            elif (full := self._close_thinking(slot, token, closing, events)) is not None:
                self._finish(slot, full, events)
                return
            if events:
                job.deliver(events)

    def _close_thinking(
        self, slot: Slot, token: int | None, text: str, events: list[BackendEvent]
    ) -> FinishReason | None:
        """The thinking section ends for the model: ``text`` (the end marker) is decoded
        after ``token`` (the one just sampled; None for an end of turn, which is not
        kept) as if the model had written it, and the model answers from there. When
        ``max_tokens`` or the slot's context leaves no room for it, the answer ends:
        the reason is returned."""
        job = slot.job
        assert job is not None
        forced = self.model.tokenize(text, prompt=False, special=True)
        decoded = [*([] if token is None else [token]), *forced]
        if job.produced + len(forced) >= job.max_tokens:
            return "max_tokens"
        if len(slot.cached) + len(decoded) + 1 >= self.ctx_per_slot:
            return "context_window"
        # Not fed to the sampler: a lazy tool-call grammar that the thinking set off
        # would refuse the marker (llama.cpp throws); the model's own next token is.
        job.produced += len(forced)
        # Decoded like a prompt's tail: sampling resumes from the last one's logits.
        slot.pending = decoded
        events += job.output.feed_text(text)
        return None

    def _finish(self, slot: Slot, reason: FinishReason, events: list[BackendEvent]) -> None:
        job = slot.job
        assert job is not None
        events = events + job.output.finish()
        stop = job.output.stop_sequence
        if stop is not None:
            reason = "stop_sequence"
        thinking = job.output.thinking_tokens if job.output.thinks else None
        events.append(
            Finished(
                reason=reason,
                output_tokens=job.produced,
                stop_sequence=stop,
                thinking_tokens=thinking,
            )
        )
        job.deliver(events)
        self._release(slot)

    def _release(self, slot: Slot) -> None:
        if slot.job is not None:
            lc.llama_sampler_free(slot.job.sampler)
        slot.job = None
        slot.pending = []
        slot.next_token = None

    def _fail_all(self, error: ParleyError) -> None:
        for slot in self._slots:
            if slot.job is not None:
                slot.job.deliver(error)
                self._release(slot)
                # The KV cache may hold a half-decoded batch: forget it.
                lc.llama_memory_seq_rm(self._memory, slot.seq_id, -1, -1)
                slot.cached = []
        with self._cv:
            for queue in self._waiting.values():
                while queue:
                    job = queue.popleft()
                    job.deliver(error)
                    lc.llama_sampler_free(job.sampler)
