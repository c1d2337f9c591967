"""``backend = "openai"``: an OpenAI-compatible server (vLLM, SGLang, llama-server,
Ollama, llama-cpp-python's server…) behind Parley, on one or several replicas.

Requests always stream from the upstream (``chunks → events`` in
``chat_completions.py``); the assembler builds either response form from them.
Upstream errors map to the API's: 429 → 429 with the upstream's ``retry-after``,
other 4xx → 400 with the upstream's message, no reachable (or only overloaded) replica
→ 529, other 5xx from every replica → 500. A replica that fails in the middle of a text
answer is taken out and the answer goes on on another replica: the text so far is sent
as an assistant prefill (``continue_final_message``) with what is left of
``max_tokens``, so the client sees one answer; an answer cut inside reasoning or a tool
call ends with an error instead.
``count_tokens`` asks the upstream's tokenizer (``tokenizer = "vllm"``
for vLLM's ``/tokenize``, ``"llama-server"`` for its
``/v1/chat/completions/input_tokens``, or ``/apply-template`` + ``/tokenize`` on builds
without it; both get the body generation would send, tools included; a body counted
in the last ten minutes is not asked again)
or tokenizes on Parley's machine with the model's own vocabulary and template
(``"gguf:<path>"`` for Ollama's GGUF blobs, ``"hf:<model directory>"`` for SGLang and
other Hugging Face checkpoints; see ``local_tokenizer.py``); it never estimates from
characters.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import replace
from typing import Any, overload

import httpx
from cachetools import TTLCache
from pydantic import Field, field_validator

from parley.backends.base import (
    Accepted,
    BackendEvent,
    Capabilities,
    GenerationRequest,
    Health,
    PromptProcessed,
)
from parley.backends.common.local_tokenizer import LocalTokenizer, load_tokenizer
from parley.backends.common.upstream import (
    ReplicaPool,
    UpstreamOptions,
    affinity_key,
    upstream_client,
)
from parley.backends.common.upstream import lines as upstream_lines
from parley.backends.openai.chat_completions import (
    BudgetField,
    ChunkReader,
    ReasoningDialect,
    chat_messages,
    chat_request,
    continuation,
    reasoning_fields,
)
from parley.errors import (
    AnswerBroken,
    InternalError,
    InvalidRequestError,
    OverloadedError,
    RateLimitError,
)

log = logging.getLogger(__name__)

INPUT_TOKENS = "/v1/chat/completions/input_tokens"
COUNTS_KEPT = 4096
COUNTS_TTL_SECONDS = 600.0


class OpenAIOptions(UpstreamOptions):
    tokenizer: str = Field(
        "vllm",
        description='How to count tokens: "vllm", "llama-server", "gguf:<path>" or '
        '"hf:<model directory>".',
    )
    health_path: str = Field("/v1/models", description="What the health check asks for.")
    reasoning: ReasoningDialect = Field(
        "none",
        description='How the request\'s thinking reaches the upstream: "none" (a model that '
        'does not reason), "reasoning_effort" (OpenAI\'s field, as vLLM and SGLang take it '
        'for gpt-oss), or "enable_thinking" (chat_template_kwargs, as vLLM, SGLang and '
        "llama-server take it for Qwen3 and DeepSeek templates).",
    )
    thinking_budget: BudgetField = Field(
        "none",
        description="Where the upstream takes `thinking.budget_tokens`: "
        '"thinking_token_budget" (vLLM, started with --reasoning-config), '
        '"thinking_budget_tokens" (llama-server), "thinking_budget" (a chat_template_kwargs '
        "variable, as Qwen3's own template reads it through SGLang or vLLM: a hint, not "
        'enforced), or "none" (the budget is not sent; max_tokens still bounds thinking).',
    )

    def capabilities(self) -> Capabilities:
        return replace(
            super().capabilities(),
            thinking=self.reasoning != "none",
            effort=self.reasoning == "reasoning_effort",
        )

    @field_validator("tokenizer")
    @classmethod
    def _known_tokenizer(cls, value: str) -> str:
        if value in ("vllm", "llama-server") or value.startswith(("gguf:", "hf:")):
            return value
        raise ValueError('expected "vllm", "llama-server", "gguf:<path>" or "hf:<directory>"')


class OpenAIBackend:
    def __init__(self, name: str, options: OpenAIOptions) -> None:
        self.name = name
        self.options = options
        self.pool = ReplicaPool(
            options.urls, health_path=options.health_path, check_interval=options.check_interval
        )
        self._client: httpx.AsyncClient | None = None
        self._local: LocalTokenizer | None = None  # for "gguf:" and "hf:" tokenizers
        # llama-server counts a chat body itself (INPUT_TOKENS) since late 2025; older
        # builds are asked for the templated prompt, then its tokens. When the route was
        # found missing (monotonic time), so that it is tried again after an upgrade.
        self._no_chat_body_counts: float | None = None
        # A count is a function of the prompt's part of the body and the upstream's
        # model: the same prompt counted again (count_tokens repeated, a request counted
        # at admission and again for its usage) costs no round trip. Bounded in entries
        # and in age, so an upstream restarted on another model is believed again soon.
        self._counted_bodies: TTLCache[str, int] = TTLCache(COUNTS_KEPT, COUNTS_TTL_SECONDS)

    @property
    def capabilities(self) -> Capabilities:
        return self.options.capabilities()

    async def start(self) -> None:
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        self._client = upstream_client(self.options.timeout, limits)
        if self.options.tokenizer.startswith(("gguf:", "hf:")):
            self._local = await asyncio.to_thread(load_tokenizer, self.options.tokenizer)
        self.pool.start(self._client)

    async def aclose(self) -> None:
        await self.pool.aclose()
        if self._client is not None:
            await self._client.aclose()
        if self._local is not None:
            self._local.close()

    async def health(self) -> Health:
        up = [r.url for r in self.pool.replicas if r.healthy]
        return Health(ok=bool(up), detail=f"{len(up)}/{len(self.pool.replicas)} replicas healthy")

    def _headers(self) -> dict[str, str]:
        key = self.options.api_key
        return {"authorization": f"Bearer {key.get_secret_value()}"} if key else {}

    async def generate(self, request: GenerationRequest) -> AsyncGenerator[BackendEvent, None]:
        assert self._client is not None
        reader = ChunkReader(request.stop_sequences)
        attempt = request
        for resumes in range(len(self.pool.replicas)):
            replica, response = await self.pool.send(
                self._client,
                "/v1/chat/completions",
                body=self._chat_body(attempt),
                headers=self._headers(),
                affinity=affinity_key(request),
            )
            try:
                if response.status_code >= 400:
                    raise await _upstream_error(response)
                if resumes == 0:
                    yield Accepted()
                async for chunk in _chunks(response, self.options.stall_timeout):
                    for event in reader.feed(chunk):
                        yield event
                broken = None if reader.finished else "it ended its answer early"
            except httpx.HTTPError as exc:
                broken = f"the connection failed mid-answer ({exc})"
            except AnswerBroken as exc:  # a hung or trickling replica
                broken = exc.message
            finally:
                await response.aclose()
                self.pool.done(replica)
            if broken is None:
                break
            self.pool.failed(replica, broken)
            if not reader.only_text or resumes + 1 == len(self.pool.replicas):
                raise OverloadedError(f"The upstream server failed: {broken}")
            log.warning("upstream %s: %s; resuming on another replica", replica.url, broken)
            text = "".join(reader.text)
            attempt = continuation(request, text, await self.count_tokens(text))
            reader.next_stream()
        events = reader.finish()
        if attempt is not request or not reader.usage_known:
            events[-1] = await self._counted(request, reader, events[-1])
        for event in events:
            yield event

    async def _counted(self, request: GenerationRequest, reader: ChunkReader, end: Any) -> Any:
        """Usage from the model's tokenizer, for upstreams that stream none
        (llama-cpp-python's server) and for answers that went on on another replica,
        whose last stream counted only its own part."""
        prompt = PromptProcessed(input_tokens=await self.count_tokens(request))
        output = await self.count_tokens("".join(reader.generated))
        return replace(end, output_tokens=output, prompt=prompt)

    async def count_tokens(self, subject: GenerationRequest | str) -> int:
        if isinstance(subject, str):
            return await self._count_text(subject)
        return await self._count_prompt(subject)

    async def _count_text(self, text: str) -> int:
        """Tokens of generated text, without special tokens."""
        if not text:
            return 0
        if self._local is not None:
            return await asyncio.to_thread(self._local.count_text, text)
        if self.options.tokenizer == "vllm":
            body = {"model": self.options.model, "prompt": text, "add_special_tokens": False}
            return int((await self._post("/tokenize", body))["count"])
        return len((await self._post("/tokenize", {"content": text}))["tokens"])

    async def _count_prompt(self, request: GenerationRequest) -> int:
        if self._local is not None:
            return await asyncio.to_thread(self._local.count_prompt, request)
        vllm = self.options.tokenizer == "vllm"
        body = self._vllm_count_body(request) if vllm else self._chat_body(request)
        key = _prompt_key(body)
        if (known := self._counted_bodies.get(key)) is not None:
            return known
        counted = await (self._count_vllm(body) if vllm else self._count_llama_server(body))
        self._counted_bodies[key] = counted
        return counted

    def _vllm_count_body(self, request: GenerationRequest) -> dict[str, Any]:
        body = {
            "model": self.options.model,
            "messages": chat_messages(request),
            "add_generation_prompt": True,
        }
        if request.tools:
            body["tools"] = chat_request(request, self.options.model)["tools"]
        return body | self._template_switch(request)

    async def _count_vllm(self, body: dict[str, Any]) -> int:
        return int((await self._post("/tokenize", body))["count"])

    async def _count_llama_server(self, body: dict[str, Any]) -> int:
        """The body generation would send, through llama-server's template and
        vocabulary: one round trip where the server counts chat bodies itself."""
        missing = self._no_chat_body_counts
        if missing is None or time.monotonic() - missing > COUNTS_TTL_SECONDS:
            counted = await self._post(INPUT_TOKENS, body, absent_ok=True)
            if counted is not None:
                self._no_chat_body_counts = None
                return int(counted["input_tokens"])
            self._no_chat_body_counts = time.monotonic()
            log.info("upstream has no %s: counting in two round trips", INPUT_TOKENS)
        prompt = (await self._post("/apply-template", body))["prompt"]
        tokens = await self._post(
            "/tokenize", {"content": prompt, "add_special": True, "parse_special": True}
        )
        return len(tokens["tokens"])

    def _chat_body(self, request: GenerationRequest) -> dict[str, Any]:
        options = self.options
        return chat_request(request, options.model, options.reasoning, options.thinking_budget)

    def _template_switch(self, request: GenerationRequest) -> dict[str, Any]:
        """The thinking switch the template gets in generation, so counts match it."""
        fields = reasoning_fields(
            request.reasoning, self.options.reasoning, self.options.thinking_budget
        )
        return {k: v for k, v in fields.items() if k == "chat_template_kwargs"}

    @overload
    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]: ...
    @overload
    async def _post(
        self, path: str, body: dict[str, Any], *, absent_ok: bool
    ) -> dict[str, Any] | None: ...
    async def _post(
        self, path: str, body: dict[str, Any], *, absent_ok: bool = False
    ) -> dict[str, Any] | None:
        """The upstream's JSON answer; ``None`` for a route it does not have (404 or
        405) when ``absent_ok``."""
        assert self._client is not None
        replica, response = await self.pool.send(
            self._client, path, body=body, headers=self._headers(), affinity=None
        )
        try:
            if absent_ok and response.status_code in (404, 405):
                return None
            if response.status_code >= 400:
                raise await _upstream_error(response)
            result: dict[str, Any] = json.loads(await response.aread())
            return result
        finally:
            await response.aclose()
            self.pool.done(replica)


# Fields of a chat body that never change how many tokens its prompt is.
NOT_PROMPT = frozenset(
    {"max_tokens", "stream", "stream_options", "temperature", "top_p", "top_k", "seed", "stop"}
)


def _prompt_key(body: dict[str, Any]) -> str:
    """The count cache's key: the body less ``NOT_PROMPT``, in its own key order (a
    schema's properties render in the order the client wrote them)."""
    prompt = {k: v for k, v in body.items() if k not in NOT_PROMPT}
    return hashlib.sha256(json.dumps(prompt, separators=(",", ":")).encode()).hexdigest()


async def _chunks(response: httpx.Response, stall: float) -> AsyncGenerator[dict[str, Any], None]:
    async for line in upstream_lines(response, stall):
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        chunk = json.loads(data)
        if "error" in chunk:
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise InternalError(f"the upstream failed mid-answer: {message}")
        yield chunk


async def _upstream_error(response: httpx.Response) -> Exception:
    raw = (await response.aread()).decode("utf-8", "replace")
    try:
        payload = json.loads(raw)
        error = payload.get("error", payload)
        message = error.get("message") if isinstance(error, dict) else str(error)
    except ValueError:
        message = raw[:500]
    if response.status_code == 429:
        headers = {
            k: v for k, v in response.headers.items() if k in ("retry-after", "retry-after-ms")
        }
        return RateLimitError(f"The upstream server is rate limited: {message}", headers=headers)
    return InvalidRequestError(f"The upstream server refused the request: {message}")
