"""Many sequences at once on the bundled model: independence, reuse, bounds.

Cancellation is tested over a real socket in ``tests/live/test_model_server.py``: the
in-process transport these tests use delivers a response only once the app has
finished it, so a client here cannot leave early.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import pytest

from parley.app import create_app
from parley.backends.base import (
    Finished,
    GenerationRequest,
    PromptProcessed,
    Sampling,
    TextChunk,
    TextPart,
    Turn,
)
from parley.backends.llama_cpp import LlamaCppBackend, LlamaCppOptions
from parley.backends.llama_cpp.engine import Engine
from parley.config import BUNDLED_MODEL_ID
from parley.errors import PreemptedError
from tests.support import make_settings, running, sdk_client

pytestmark = pytest.mark.slow
MODEL = BUNDLED_MODEL_ID
STARTS = [1, 11, 21, 31, 41, 51, 61, 71]
TOPICS = ["a cat", "a dog", "the sea", "a robot", "the moon", "a tree", "a city", "a river"]


@pytest.fixture(scope="module")
async def eight_slots(tmp_path_factory: pytest.TempPathFactory) -> Any:
    model = {"id": MODEL, "options": {"slots": 8, "ctx_per_slot": 2048}}
    settings = make_settings(Path(tmp_path_factory.mktemp("slots")), models=[model])
    async with running(create_app(settings)) as app:
        yield app


def engine(app: Any) -> Any:
    return app.state.services.catalog.resolve(MODEL).backend._engine


async def story(
    client: anthropic.AsyncAnthropic, topic: str, **extra: Any
) -> anthropic.types.Message:
    return await client.messages.create(
        model=MODEL,
        max_tokens=48,
        extra_body={"temperature": 0.0},
        messages=[{"role": "user", "content": f"Write a short story about {topic}."}],
        **extra,
    )


async def count(client: anthropic.AsyncAnthropic, start: int) -> str:
    """The model continuing a count it has begun from ``start`` (an assistant prefill)."""
    message = await client.messages.create(
        model=MODEL,
        max_tokens=40,
        extra_body={"temperature": 0.0},
        messages=[
            {"role": "user", "content": f"Count from {start} to {start + 30}, comma-separated."},
            {"role": "assistant", "content": f"{start}, {start + 1}, {start + 2},"},
        ],
    )
    return message.content[0].text  # type: ignore[union-attr]


def counted_on(text: str, start: int) -> bool:
    """Whether ``text`` goes on counting from ``start + 3`` (its last number may be cut)."""
    numbers = [int(n) for n in re.findall(r"\d+", text)][:-1]
    return len(numbers) >= 8 and numbers == list(range(start + 3, start + 3 + len(numbers)))


async def test_sequences_decoded_together_stay_separate(eight_slots: Any) -> None:
    """Eight counts, one at a time and then all at once, each goes on from its own start.

    A count has one right continuation by a wide margin, so this checks that a sequence
    reads only its own cache. It does not compare open-ended text: llama.cpp's results
    for a token depend in their last bits on the shape of the batch it was decoded in,
    which here depends on which requests arrive in the same step, and that flips a
    near-tie of an open-ended greedy answer (measured: one of eight short stories at
    temperature 0 came out different beside the others, in CI on one machine and in one
    run of two on another)."""
    client = sdk_client(eight_slots, default_headers={"anthropic-version": "2023-06-01"})
    alone = [await count(client, start) for start in STARTS]
    together = await asyncio.gather(*(count(client, start) for start in STARTS))
    for start, one, many in zip(STARTS, alone, together, strict=True):
        assert counted_on(one, start), (start, one)
        assert counted_on(many, start), (start, many)


async def test_the_same_request_again_gets_the_same_answer(eight_slots: Any) -> None:
    """The second time, the prompt is in a slot's KV cache and only its end is decoded;
    the greedy answer must not change with that (llama.cpp computes a lone token of a
    sequence differently, so the engine never decodes a prompt token alone)."""
    client = sdk_client(eight_slots, default_headers={"anthropic-version": "2023-06-01"})
    for topic in TOPICS:
        first = await story(client, f"{topic}, told twice")
        again = await story(client, f"{topic}, told twice")
        assert again.usage.input_tokens == first.usage.input_tokens
        assert again.content[0].text == first.content[0].text  # type: ignore[union-attr]


async def test_streams_interleave_and_finish_independently(eight_slots: Any) -> None:
    client = sdk_client(eight_slots)
    seen_busy = 0

    async def stream(topic: str, max_tokens: int) -> anthropic.types.Message:
        nonlocal seen_busy
        async with client.messages.stream(
            model=MODEL,
            max_tokens=max_tokens,
            messages=[{"role": "user", "content": f"Describe {topic} in detail."}],
        ) as s:
            async for _ in s.text_stream:
                seen_busy = max(
                    seen_busy, sum(x.job is not None for x in engine(eight_slots)._slots)
                )
            return await s.get_final_message()

    results = await asyncio.gather(*(stream(t, 10 + 5 * i) for i, t in enumerate(TOPICS)))
    for i, message in enumerate(results):
        assert message.usage.output_tokens <= 10 + 5 * i
    assert seen_busy > 1  # several sequences were decoding in the same steps


async def test_prompt_larger_than_a_slot_is_the_api_error(eight_slots: Any) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        await sdk_client(eight_slots).messages.create(
            model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "word " * 3000}]
        )
    assert info.value.body["error"]["message"].endswith("tokens > 2048 maximum")


async def test_prefix_reuse_is_reported_as_cache_traffic(eight_slots: Any) -> None:
    client = sdk_client(eight_slots)
    system = [
        {
            "type": "text",
            "text": "You are a careful assistant. " * 40,
            "cache_control": {"type": "ephemeral"},
        }
    ]
    first = await client.messages.create(
        model=MODEL, max_tokens=8, system=system, messages=[{"role": "user", "content": "Hello"}]
    )
    second = await client.messages.create(
        model=MODEL, max_tokens=8, system=system, messages=[{"role": "user", "content": "Bonjour"}]
    )
    written = first.usage.cache_creation_input_tokens
    assert written > 200 and first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == written  # type: ignore[union-attr]
    assert second.usage.cache_read_input_tokens == written
    assert second.usage.cache_creation_input_tokens == 0
    counted = await client.messages.count_tokens(
        model=MODEL, system=system, messages=[{"role": "user", "content": "Bonjour"}]
    )
    assert second.usage.input_tokens + written == counted.input_tokens


async def test_conversation_turns_read_the_previous_turn(eight_slots: Any) -> None:
    client = sdk_client(eight_slots)
    history: list[dict[str, Any]] = []
    reads = []
    for question in ("Name a fruit.", "Name a colour.", "Name an animal."):
        history.append(
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": question, "cache_control": {"type": "ephemeral"}}
                ],
            }
        )
        reply = await client.messages.create(model=MODEL, max_tokens=12, messages=history)
        reads.append(reply.usage.cache_read_input_tokens)
        history[-1]["content"][0].pop("cache_control")
        history.append({"role": "assistant", "content": reply.content[0].text.strip() or "ok"})  # type: ignore[union-attr]
    assert reads[0] == 0
    assert reads[1] > 0 and reads[2] > reads[1]


# A grammar that makes the answer run to max_tokens: at least 600 numbers.
LONG = {
    "type": "object",
    "properties": {"n": {"type": "array", "items": {"type": "integer"}, "minItems": 600}},
    "required": ["n"],
}


def counting_job(priority: str, max_tokens: int) -> GenerationRequest:
    turn = Turn("user", (TextPart("Count from 1 to 500, one per line."),))
    return GenerationRequest(
        model="m",
        system=None,
        turns=(turn,),
        max_tokens=max_tokens,
        sampling=Sampling(temperature=0),
        priority=priority,  # type: ignore[arg-type]
        json_schema=LONG,
    )


async def drain(
    backend: LlamaCppBackend,
    request: GenerationRequest,
    on_start: Callable[[], None] | None = None,
) -> str:
    """The finish reason of ``request`` ("preempted" for PreemptedError);
    ``on_start`` is called when its prompt is taken. (Batch work's output arrives only
    at its end, so whether it is generating is read from the engine: ``generating``.)"""
    try:
        async for event in backend.generate(request):
            if isinstance(event, PromptProcessed) and on_start is not None:
                on_start()
            if isinstance(event, Finished):
                return event.reason
    except PreemptedError:
        return "preempted"
    return "closed"


async def generating(slots: Callable[[], list[int]], within: float = 120) -> None:
    """Until every sequence ``slots()`` reports has produced a token."""
    deadline = asyncio.get_running_loop().time() + within
    while min(slots()) < 1:
        assert asyncio.get_running_loop().time() < deadline, slots()
        await asyncio.sleep(0.01)


async def test_interactive_work_preempts_batch_work_in_its_slots() -> None:
    """With no batch lane and every slot busy on batch work, an interactive request
    takes a slot at the next decode step; the preempted batch request fails with
    PreemptedError (the batch worker puts it back in the queue)."""
    backend = LlamaCppBackend("m", LlamaCppOptions(slots=2, ctx_per_slot=1024, batch_slots=0))
    await backend.start()
    try:
        batch = [asyncio.create_task(drain(backend, counting_job("batch", 400))) for _ in range(2)]
        await generating(lambda: slot_produced(backend))
        interactive = await drain(backend, counting_job("interactive", 5))
        outcomes = await asyncio.gather(*batch)
    finally:
        await backend.aclose()
    assert interactive == "max_tokens"
    assert outcomes.count("preempted") == 1  # exactly one slot was taken back
    assert set(outcomes) - {"preempted"} <= {"max_tokens", "end_turn"}


def produced(engine: Engine | None) -> list[int]:
    """Tokens produced by the job of each of ``engine``'s slots (-1: no job, or no
    engine yet, as for a batch lane not made)."""
    if engine is None:
        return [-1]
    return [job.produced if (job := slot.job) else -1 for slot in engine._slots]


def lane_produced(backend: LlamaCppBackend) -> list[int]:
    return produced(backend._batch_engine)


def slot_produced(backend: LlamaCppBackend) -> list[int]:
    return produced(backend._engine)


def interactive_produced(backend: LlamaCppBackend) -> int:
    """Tokens produced by the job in the first interactive slot (0: none)."""
    assert backend._engine is not None
    job = backend._engine._slots[0].job
    return job.produced if job is not None else 0


async def test_the_batch_lane_pauses_while_interactive_work_runs() -> None:
    """Batch work in the batch lane waits, paused rather than preempted, while an
    interactive request generates: from the interactive request's start until it has
    written 40 tokens (of 300 it must write) the lane's sequences advance by at most
    the decode step that was in progress; afterwards they finish their answers."""
    options = LlamaCppOptions(slots=1, ctx_per_slot=1024, batch_slots=2, batch_ctx_per_slot=1024)
    backend = LlamaCppBackend("m", options)
    await backend.start()
    produced: list[list[int]] = []
    try:
        batch = [asyncio.create_task(drain(backend, counting_job("batch", 300))) for _ in range(2)]
        await generating(lambda: lane_produced(backend))
        interactive = None
        async for event in backend.generate(counting_job("interactive", 300)):
            if isinstance(event, PromptProcessed):
                produced.append(lane_produced(backend))
            elif isinstance(event, Finished):
                interactive = event.reason
            elif len(produced) == 1 and interactive_produced(backend) >= 40:
                produced.append(lane_produced(backend))
        outcomes = await asyncio.gather(*batch)
    finally:
        await backend.aclose()
    assert interactive == "max_tokens"
    assert outcomes == ["max_tokens", "max_tokens"]
    before, during = produced
    assert min(before) >= 1, "both batch requests were generating"
    assert all(b - a <= 1 for a, b in zip(before, during, strict=True)), produced


@pytest.mark.parametrize("cache_ram_mib", [1024, 6, 0])
async def test_conversations_outnumbering_slots_come_back_from_host_memory(
    tmp_path: Path, cache_ram_mib: int
) -> None:
    """One slot, three conversations in turn: each evicts the previous one's KV cache.
    With host memory for evicted prompts, a conversation that comes back reads its
    prefix from there (and answers as before); with room for only one copy (a copy is
    about 4.4 MiB here) the least recently used went; without it, everything is prefilled."""
    model = {"id": MODEL, "options": {"slots": 1, "cache_ram_mib": cache_ram_mib}}
    settings = make_settings(tmp_path, models=[model])
    async with running(create_app(settings)) as app:
        client = sdk_client(app, default_headers={"anthropic-version": "2023-06-01"})

        async def ask(persona: str) -> anthropic.types.Message:
            system = [
                {
                    "type": "text",
                    "text": f"You are {persona}. " + "Answer briefly and kindly. " * 30,
                    "cache_control": {"type": "ephemeral"},
                }
            ]
            return await client.messages.create(
                model=MODEL,
                max_tokens=16,
                system=system,
                extra_body={"temperature": 0.0},
                messages=[{"role": "user", "content": "What do you do?"}],
            )

        first = await ask("a baker")
        await ask("a sailor")
        await ask("a gardener")
        again = await ask("a baker")
        ram = app.state.services.catalog.resolve(MODEL).backend._engine._ram
    written = first.usage.cache_creation_input_tokens
    assert written > 100
    assert again.content[0].text == first.content[0].text  # type: ignore[union-attr]
    if cache_ram_mib == 1024:
        assert again.usage.cache_read_input_tokens == written
        assert len(ram) == 3 and 0 < ram.used_bytes <= cache_ram_mib * 2**20
    elif cache_ram_mib == 6:
        assert again.usage.cache_read_input_tokens == 0
        assert len(ram) == 1 and 0 < ram.used_bytes <= cache_ram_mib * 2**20
    else:
        assert again.usage.cache_read_input_tokens == 0
        assert ram is None


async def test_a_batch_request_too_long_for_the_lane_runs_in_the_slots() -> None:
    """A batch request whose prompt and max_tokens overflow a lane sequence runs in the
    interactive slots at batch rank, so it still gets its whole answer."""
    options = LlamaCppOptions(slots=1, ctx_per_slot=1024, batch_slots=2, batch_ctx_per_slot=256)
    backend = LlamaCppBackend("m", options)
    await backend.start()
    where: list[tuple[int, int]] = []

    def busy() -> None:
        assert backend._engine is not None and backend._batch_engine is not None
        where.append((backend._engine.busy(), backend._batch_engine.busy()))

    try:
        short = await drain(backend, counting_job("batch", 40), on_start=busy)
        long = await drain(backend, counting_job("batch", 300), on_start=busy)
    finally:
        await backend.aclose()
    assert (short, long) == ("max_tokens", "max_tokens")
    assert where == [(0, 1), (1, 0)]


STORYTELLER = "You are a storyteller. Every story you write is long and full of detail."


async def tell(backend: LlamaCppBackend, turns: list[Turn]) -> tuple[PromptProcessed, str]:
    """One greedy request of up to 64 tokens with the storyteller's system prompt (with
    the prompt, more than the host-memory cache's minimum): its PromptProcessed and text."""
    request = GenerationRequest(
        model="m",
        system=STORYTELLER,
        turns=tuple(turns),
        max_tokens=64,
        sampling=Sampling(temperature=0),
    )
    processed, text = None, []
    async for event in backend.generate(request):
        if isinstance(event, PromptProcessed):
            processed = event
        elif isinstance(event, TextChunk):
            text.append(event.text)
    assert processed is not None
    return processed, "".join(text)


def asked(text: str) -> Turn:
    return Turn("user", (TextPart(text),))


async def test_a_new_servers_requests_reuse_a_shared_system_prompt() -> None:
    """While slots are still empty, a request sharing its system prompt with a finished
    one goes to that one's slot (what the slot held past the system prompt is copied to
    host memory first) and prefills only the rest, as it would once every slot is used."""
    backend = LlamaCppBackend("m", LlamaCppOptions(slots=4, ctx_per_slot=1024, batch_slots=0))
    await backend.start()
    try:
        reused = [
            (await tell(backend, [asked(f"Write a story about {topic}.")]))[0].cached_tokens
            for topic in ("a comet", "a baker", "a river")
        ]
    finally:
        await backend.aclose()
    assert reused[0] == 0
    assert reused[1] == reused[2] >= 15, reused  # the template's opening and the system prompt


async def test_two_conversations_sharing_a_system_prompt_keep_a_slot_each() -> None:
    """The second conversation's first turn takes the first one's slot (the system
    prompt is reused, the first conversation copied to host memory); when the first
    comes back it is written back into an empty slot rather than displace the second,
    so from then on each continues in its own slot."""
    backend = LlamaCppBackend("m", LlamaCppOptions(slots=4, ctx_per_slot=1024, batch_slots=0))
    await backend.start()
    histories = {name: [asked(f"Write a story about {name}.")] for name in ("a comet", "a baker")}
    served: list[int] = []
    try:
        for _ in range(2):
            for history in histories.values():
                processed, text = await tell(backend, history)
                served.append(processed.cached_tokens)
                history += [Turn("assistant", (TextPart(text),)), asked("Go on.")]
        assert backend._engine is not None
        held = [len(slot.cached) for slot in backend._engine._slots]
    finally:
        await backend.aclose()
    assert served[2] >= 64 and served[3] >= 64, served  # both second turns read their history
    assert sum(1 for count in held if count) == 2, held
