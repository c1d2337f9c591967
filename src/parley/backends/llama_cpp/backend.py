"""``LlamaCppBackend``: the async ``Backend`` in front of the llama.cpp engine thread.

Message Batch work has a lane of its own: a second llama.cpp context over the same
weights, with more sequences of a smaller context (``batch_slots`` of
``batch_ctx_per_slot`` tokens), made on the first batch request. Decoding many short
sequences together is where a CPU or GPU gives the most tokens per second; the lane
steps only while interactive work is idle (``engine.Precedence``). A batch request
whose prompt and ``max_tokens`` do not fit a lane sequence runs in the interactive
slots at batch rank, where interactive work preempts it.

Preparing a request (template rendering, tokenizing, building the sampler chain) runs
in a worker thread, so a large prompt never blocks the event loop; decoding runs on
the engine thread. Events come back through an ``asyncio.Queue`` fed with
``call_soon_threadsafe`` (``Mailbox``: every step for interactive work, once at the end
for batch work). Closing the event iterator cancels the job, which frees its slot
before the next decode step.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import random
import threading
from collections.abc import AsyncGenerator, Callable
from dataclasses import replace
from typing import Any, Literal

import llama_cpp as lc
from pydantic import BaseModel, ConfigDict, Field

from parley.backends.base import (
    Accepted,
    BackendEvent,
    CacheTTL,
    Capabilities,
    Finished,
    GenerationRequest,
    Health,
    PromptProcessed,
    Reasoning,
    Sampling,
)
from parley.backends.common.chat_template import ChatTemplate
from parley.backends.common.gguf import LlamaModel, resolve_gguf
from parley.backends.common.thinking import ThinkingSplitter, markers_for
from parley.backends.llama_cpp import attention
from parley.backends.llama_cpp.engine import RANKS, Engine, EngineConfig, Job, Precedence
from parley.backends.llama_cpp.grammar import (
    CallBudget,
    GrammarSpec,
    SchemaError,
    call_budget,
    json_schema_grammar,
    tool_call_grammar,
)
from parley.backends.llama_cpp.mailbox import Mailbox
from parley.backends.llama_cpp.output import OutputPipeline
from parley.errors import (
    InternalError,
    InvalidRequestError,
    OverloadedError,
    ParleyError,
    prompt_too_long,
)

log = logging.getLogger(__name__)
# Token positions of a prompt's cache breakpoints (with TTL) and of its block ends.
_Marks = tuple[tuple[tuple[int, CacheTTL], ...], tuple[int, ...]]


class LlamaCppOptions(BaseModel):
    """``options`` of a model served by ``backend = "llama_cpp"``."""

    model_config = ConfigDict(extra="forbid")

    gguf: str = Field("bundled:smollm2", description="The GGUF file: a path, or bundled:<name>.")
    slots: int = Field(4, ge=1, le=256, description="Sequences decoded together in one batch.")
    ctx_per_slot: int | None = Field(
        None, ge=256, description="Context of each slot (default: the model's training context)."
    )
    n_batch: int = Field(512, ge=32, description="Tokens per llama.cpp decode call at most.")
    n_threads: int = Field(0, ge=0, description="CPU threads; 0: all cores.")
    n_gpu_layers: int = Field(0, ge=0, description="Layers offloaded to a GPU.")
    # "auto" on the CPU: both settings timed once on this machine (attention.py);
    # llama.cpp's own choice when layers are offloaded to a GPU.
    flash_attention: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Flash attention: auto measures both on the CPU once and keeps the faster; "
        "llama.cpp's choice on a GPU.",
    )
    batch_slots: int = Field(
        16,
        ge=0,
        le=256,
        description="Sequences of the batch lane (a context of its own for batch work); 0: none.",
    )
    batch_ctx_per_slot: int = Field(
        2048, ge=256, description="Context of each batch-lane sequence (prompt and max_tokens)."
    )
    cache_ram_mib: int = Field(
        1024, ge=0, description="Host memory for prompts evicted from slots (MiB); 0: off."
    )
    chat_template: str | None = Field(None, description="Jinja source overriding the GGUF's.")
    thinking_markers: list[str] | None = Field(
        None,
        min_length=2,
        max_length=2,
        description=(
            "A reasoning model's [start, end] thinking markers (default: <think> and "
            "</think> when its chat template writes them; none otherwise)."
        ),
    )
    max_output_tokens: int | None = Field(
        None, ge=1, description="Most tokens one answer may have (default: the slot's context)."
    )
    max_queue: int = Field(
        64, ge=0, description="Requests waiting for a slot before new ones get 529 Overloaded."
    )


class LlamaCppBackend:
    def __init__(self, name: str, options: LlamaCppOptions) -> None:
        self.name = name
        self.options = options
        self._model: LlamaModel | None = None
        self._engine: Engine | None = None
        self._batch_engine: Engine | None = None
        self._lane_lock = threading.Lock()
        self._lane_failed = False
        self._precedence = Precedence()
        self._template: ChatTemplate | None = None

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self._load)

    def _load(self) -> None:
        gguf = resolve_gguf(self.options.gguf)
        model = LlamaModel(gguf, n_gpu_layers=self.options.n_gpu_layers)
        config = EngineConfig(
            slots=self.options.slots,
            ctx_per_slot=self.options.ctx_per_slot or model.n_ctx_train,
            n_batch=self.options.n_batch,
            n_threads=self.options.n_threads,
            cache_ram_bytes=self.options.cache_ram_mib * 2**20,
        )
        flash = _flash_attention(self.options, lambda: attention.choose(model, gguf, config))
        config = replace(config, flash_attention=flash)
        source = self.options.chat_template or model.chat_template()
        self._template = ChatTemplate(
            source,
            bos_token=model.bos_text,
            eos_token=model.eos_text,
            thinking=markers_for(source or "", self.options.thinking_markers),
        )
        self._engine = Engine(model, config, leads=self._precedence)
        self._model = model

    def _open_batch_lane(self) -> None:
        """Make the batch lane's engine (worker thread). Under the lane lock, so a
        request cancelled meanwhile leaves the engine made and kept, and ``aclose``
        waits for it; a lane that cannot be made (no memory for its KV cache) is not
        tried again, and batch requests run in the interactive slots."""
        with self._lane_lock:
            if self._batch_engine is not None or self._lane_failed or self._engine is None:
                return
            config = replace(
                self._engine.config,
                slots=self.options.batch_slots,
                ctx_per_slot=self.options.batch_ctx_per_slot,
                cache_ram_bytes=0,
            )
            try:
                self._batch_engine = Engine(
                    self._engine.model, config, follows=self._precedence, name="llama-batch"
                )
            except Exception:
                log.exception("no batch lane: batch requests run in the interactive slots")
                self._lane_failed = True

    async def _batch_lane(self) -> Engine | None:
        """The batch lane's engine (made on first use), or None without one."""
        if self.options.batch_slots == 0 or self._lane_failed:
            return None
        if self._batch_engine is None:
            await asyncio.to_thread(self._open_batch_lane)
        return self._batch_engine

    async def aclose(self) -> None:
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        with self._lane_lock:  # after a lane being made, and no lane after this
            engine, batch, model = self._engine, self._batch_engine, self._model
            self._engine = self._batch_engine = self._model = None
        if batch is not None:
            batch.close()
        if engine is not None:
            engine.close()
        if model is not None:
            model.close()

    @property
    def capabilities(self) -> Capabilities:
        engine = self._ready()
        window = engine.ctx_per_slot
        return Capabilities(
            context_window=window,
            max_output_tokens=min(self.options.max_output_tokens or window, window),
            tools=True,
            images=False,
            thinking=self._template is not None and self._template.thinking is not None,
            structured_output=True,
            parallel_sequences=engine.config.slots,
            batch_sequences=self.options.batch_slots or engine.config.slots,
        )

    async def health(self) -> Health:
        if self._engine is None:
            return Health(ok=False, detail="not started")
        engines = [e for e in (self._engine, self._batch_engine) if e is not None]
        queued = sum(e.queued() for e in engines)
        busy = sum(e.busy() for e in engines)
        return Health(ok=True, detail=f"{queued} waiting", queued=queued, busy=busy)

    # --- requests --------------------------------------------------------------------

    async def count_tokens(self, subject: GenerationRequest | str) -> int:
        if isinstance(subject, str):
            if not subject:
                return 0
            assert self._model is not None
            return len(await asyncio.to_thread(self._model.tokenize, subject, prompt=False))
        tokens, _ = await asyncio.to_thread(self._tokens, subject)
        return len(tokens)

    async def generate(self, request: GenerationRequest) -> AsyncGenerator[BackendEvent, None]:
        engine = self._ready()
        rank = RANKS[request.priority]
        # Only work queued ahead of it counts: standard traffic cannot crowd out priority.
        if rank < RANKS["batch"] and engine.queued(up_to=rank) >= self.options.max_queue:
            raise OverloadedError("Overloaded")
        lane = await self._batch_lane() if rank == RANKS["batch"] else None
        tokens, marks, sampler, inside = await asyncio.to_thread(self._prepare, request)
        if lane is not None and len(tokens) + request.max_tokens < self.options.batch_ctx_per_slot:
            engine = lane
        queue: asyncio.Queue[list[BackendEvent] | ParleyError] = asyncio.Queue()
        mailbox = Mailbox(asyncio.get_running_loop(), queue, whole=rank == RANKS["batch"])
        job = Job(
            prompt=tokens,
            max_tokens=request.max_tokens,
            sampler=sampler,
            output=OutputPipeline(
                stop_sequences=request.stop_sequences,
                parse_tools=bool(request.tools) and request.tool_mode.kind != "none",
                calls_only=bool(request.tools) and request.tool_mode.kind == "required",
                tool_names=tuple(tool.name for tool in request.tools),
                thinking=self._splitter(request, inside),
                thinking_budget=request.reasoning.budget_tokens,
            ),
            deliver=mailbox.deliver,
            rank=rank,
        )
        engine.submit(job)
        finished = False
        try:
            yield Accepted()
            while not finished:
                item = await queue.get()
                if isinstance(item, ParleyError):
                    raise item
                for event in item:
                    finished = isinstance(event, Finished)
                    if isinstance(event, PromptProcessed):
                        event = replace(event, breakpoints=marks[0], boundaries=marks[1])
                    yield event
        finally:
            if not finished:
                engine.cancel(job)

    # --- preparation (worker thread) -------------------------------------------------

    def _ready(self) -> Engine:
        if self._engine is None:
            raise InternalError(f"model backend {self.name!r} is not started")
        return self._engine

    def _tokens(self, request: GenerationRequest) -> tuple[list[int], _Marks]:
        """Prompt tokens, and the token positions of cache breakpoints and block ends."""
        tokens, marks, _ = self._rendered(request)
        return tokens, marks

    def _rendered(self, request: GenerationRequest) -> tuple[list[int], _Marks, bool]:
        """``_tokens``, and whether the prompt leaves the model inside its thinking."""
        assert self._template is not None and self._model is not None
        text, marks = self._template.render_marked(_effective(request))
        tokens = self._model.tokenize(text)
        positions = self._model.token_positions(tokens, text, [offset for offset, _ in marks])
        breakpoints = tuple((p, k) for p, (_, k) in zip(positions, marks, strict=True) if k)
        boundaries = tuple(p for p, (_, k) in zip(positions, marks, strict=True) if k is None)
        thinking = self._template.thinking
        inside = thinking is not None and thinking.opens_thinking(text)
        return tokens, (breakpoints, boundaries), inside

    def _prepare(self, request: GenerationRequest) -> tuple[list[int], _Marks, Any, bool]:
        tokens, marks, inside = self._rendered(request)
        window = self._ready().ctx_per_slot
        if len(tokens) >= window:
            raise prompt_too_long(len(tokens), window)
        return tokens, marks, self._sampler(request), inside

    def _splitter(self, request: GenerationRequest, inside: bool) -> ThinkingSplitter | None:
        """The thinking section's splitter, when this answer may think."""
        markers = self._template.thinking if self._template is not None else None
        if markers is None or _effective(request).reasoning.mode == "disabled":
            return None
        return ThinkingSplitter(markers, inside=inside)

    def _sampler(self, request: GenerationRequest) -> Any:
        assert self._model is not None
        model = self._model
        budget = call_budget(
            request.tools,
            request.tool_mode,
            request.max_tokens,
            lambda text: len(model.tokenize(text, prompt=False, special=True)),
        )
        grammar = _grammar_for(request, budget)
        chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
        if grammar is not None:
            lc.llama_sampler_chain_add(chain, self._grammar_sampler(grammar, chain))
        for sampler in _sampling_chain(request.sampling):
            lc.llama_sampler_chain_add(chain, sampler)
        return chain

    def _grammar_sampler(self, grammar: GrammarSpec, chain: Any) -> Any:
        assert self._model is not None
        vocab, text = self._model.vocab, grammar.text.encode()
        if grammar.lazy_trigger is None:
            sampler = lc.llama_sampler_init_grammar(vocab, text, b"root")
        else:
            patterns = (ctypes.c_char_p * 1)(grammar.lazy_trigger.encode())
            sampler = lc.llama_sampler_init_grammar_lazy_patterns(
                vocab, text, b"root", patterns, 1, None, 0
            )
        if not sampler:
            lc.llama_sampler_free(chain)
            raise _schema_error()
        return sampler


def _flash_attention(options: LlamaCppOptions, measure: Callable[[], bool]) -> bool | None:
    """The contexts' flash-attention setting: as set, else ``measure()`` on the CPU
    (``attention.choose``); None lets llama.cpp decide (layers on a GPU)."""
    if options.flash_attention != "auto":
        return options.flash_attention == "on"
    if options.n_gpu_layers > 0:
        return None
    return measure()


def _grammar_for(request: GenerationRequest, budget: CallBudget) -> GrammarSpec | None:
    try:
        if request.json_schema is not None:
            return json_schema_grammar(request.json_schema)
        return tool_call_grammar(request.tools, request.tool_mode, budget)
    except SchemaError as exc:
        # Tools are in the request's order, so the index names the field.
        where = "output_config.format.schema"
        if exc.tool is not None:
            where = f"tools.{exc.tool}.input_schema"
        raise InvalidRequestError(f"{where}{exc.path}: {exc.problem}") from None


def _schema_error() -> InvalidRequestError:
    return InvalidRequestError(
        "a tool's input_schema or the output format's schema could not be turned into a "
        "decoding grammar by llama.cpp; simplify the schema (plain types, enums, required "
        "properties) and try again"
    )


def _sampling_chain(sampling: Sampling) -> list[Any]:
    if sampling.temperature <= 0.0:
        return [lc.llama_sampler_init_greedy()]
    chain = []
    if sampling.top_k:
        chain.append(lc.llama_sampler_init_top_k(sampling.top_k))
    if sampling.top_p is not None and sampling.top_p < 1.0:
        chain.append(lc.llama_sampler_init_top_p(sampling.top_p, 1))
    # llama.cpp's seed is 32 bits; a wider one (OpenAI's are 64) keeps its low bits.
    seed = sampling.seed % 2**32 if sampling.seed is not None else random.getrandbits(32)
    chain.append(lc.llama_sampler_init_temp(sampling.temperature))
    chain.append(lc.llama_sampler_init_dist(seed))
    return chain


def _effective(request: GenerationRequest) -> GenerationRequest:
    """``request`` as served: a grammar that applies from the first token (structured
    output, a forced tool call) leaves no room for thinking, so the model does not."""
    constrained = request.json_schema is not None or request.tool_mode.kind == "required"
    if constrained and request.reasoning.mode != "disabled":
        return replace(request, reasoning=Reasoning("disabled"))
    return request
