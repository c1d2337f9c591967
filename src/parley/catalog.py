"""The served models: ids, aliases, their backends, and ``ModelInfo`` for the Models API.

A request's ``model`` resolves by exact id, then an exact alias (global ``aliases``
or a model's own), then an alias pattern such as ``claude-*``. Nothing else: an
unknown name is a 404 ``not_found_error`` (``model: <name>``), never a fallback.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from parley.backends.base import Backend, Passthrough, Sampling
from parley.backends.registry import BackendConfigError, build_backend
from parley.config import ModelConfig, Settings
from parley.errors import InvalidRequestError, NotFoundError
from parley.wire.model_info import (
    CapabilitySupport,
    ContextManagementCapability,
    EffortCapability,
    ModelCapabilities,
    ModelInfo,
    ServerToolsCapability,
    ThinkingCapability,
    ThinkingTypes,
)


@dataclass
class ServedModel:
    config: ModelConfig
    backend: Backend

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def default_sampling(self) -> Sampling:
        s = self.config.sampling
        return Sampling(temperature=s.temperature, top_p=s.top_p, top_k=s.top_k)

    def info(self) -> ModelInfo:
        caps = self.backend.capabilities
        yes, no = CapabilitySupport(supported=True), CapabilitySupport(supported=False)

        def flag(value: bool) -> CapabilitySupport:
            return yes if value else no

        thinking = caps.thinking
        # Parley runs batches for every model; it reads PDFs (as their text) and cites
        # documents itself unless the body goes upstream as it is (a passthrough).
        own_documents = not isinstance(self.backend, Passthrough)
        return ModelInfo(
            id=self.id,
            display_name=self.config.display_name or self.id,
            created_at=self.config.created_at,
            max_input_tokens=caps.context_window,
            max_tokens=caps.max_output_tokens,
            capabilities=ModelCapabilities(
                batch=yes,
                citations=flag(own_documents),
                code_execution=no,
                # Parley applies the edits itself; a passthrough's upstream gets them as sent.
                context_management=ContextManagementCapability(
                    supported=True,
                    clear_thinking_20251015=flag(own_documents),
                    clear_tool_uses_20250919=flag(own_documents),
                    compact_20260112=flag(own_documents),
                ),
                # reasoning_effort has low, medium and high; "max" is sent as "high".
                effort=EffortCapability(
                    supported=caps.effort,
                    low=flag(caps.effort),
                    medium=flag(caps.effort),
                    high=flag(caps.effort),
                    max=no,
                ),
                image_input=flag(caps.images),
                pdf_input=flag(own_documents),
                server_tools=ServerToolsCapability(
                    supported=False, code_execution=no, web_search=no
                ),
                structured_outputs=flag(caps.structured_output),
                thinking=ThinkingCapability(
                    supported=thinking,
                    types=ThinkingTypes(
                        adaptive=flag(thinking),
                        between_tools=no,
                        disabled=yes,
                        enabled=flag(thinking),
                    ),
                ),
            ),
        )


def rate_limit_groups(models: Iterable[ModelConfig]) -> dict[str, list[str]]:
    """Each rate-limit group (a model's ``rate_limit_group``, else its id) and the
    models in it, in the settings' order."""
    groups: dict[str, list[str]] = {}
    for model in models:
        groups.setdefault(model.rate_limit_group or model.id, []).append(model.id)
    return groups


@dataclass(frozen=True)
class ModelSummary:
    """What the Console's Models page and ``parley models list`` show of one model."""

    id: str
    display_name: str
    backend: str
    aliases: list[str]
    rate_limit_group: str
    context_window: int
    max_output_tokens: int
    parallel_sequences: int
    capabilities: list[str]
    healthy: bool
    health_detail: str
    queued: int | None
    busy: int | None


async def summary(model: ServedModel, aliases: list[str]) -> ModelSummary:
    """``model`` as a person reads it, with its backend's health now."""
    caps = model.backend.capabilities
    health = await model.backend.health()
    info = model.info()
    documents = info.capabilities is not None and info.capabilities.pdf_input.supported
    features = {
        "tools": caps.tools,
        "images": caps.images,
        "thinking": caps.thinking,
        "structured outputs": caps.structured_output,
        "PDF input": documents,
        "citations": documents,
        "batches": True,
    }
    return ModelSummary(
        id=model.id,
        display_name=info.display_name,
        backend=model.config.backend,
        aliases=aliases,
        rate_limit_group=model.config.rate_limit_group or model.id,
        context_window=caps.context_window,
        max_output_tokens=caps.max_output_tokens,
        parallel_sequences=caps.parallel_sequences,
        capabilities=[name for name, on in features.items() if on],
        healthy=health.ok,
        health_detail=health.detail,
        queued=health.queued,
        busy=health.busy,
    )


class Catalog:
    def __init__(self, models: list[ServedModel], aliases: Mapping[str, str]) -> None:
        self._by_id = {m.id: m for m in models}
        self._exact: dict[str, str] = {}
        self._patterns: list[tuple[str, str]] = []
        for model in models:
            for alias in model.config.aliases:
                self._add_alias(alias, model.id)
        for alias, target in aliases.items():
            self._add_alias(alias, target)

    def _add_alias(self, alias: str, target: str) -> None:
        if target not in self._by_id:
            raise BackendConfigError(f"alias {alias!r} points at unknown model {target!r}")
        if any(ch in alias for ch in "*?["):
            self._patterns.append((alias, target))
        else:
            self._exact[alias] = target

    @classmethod
    def from_settings(
        cls, settings: Settings, provided: Mapping[str, Backend] | None = None
    ) -> Catalog:
        provided = dict(provided or {})
        models = []
        for config in settings.models:
            backend = provided.pop(config.id, None) or build_backend(
                config.id, config.backend, config.options
            )
            models.append(ServedModel(config, backend))
        for model_id, backend in provided.items():
            models.append(ServedModel(ModelConfig(id=model_id, backend=backend.name), backend))
        return cls(models, settings.aliases)

    @property
    def models(self) -> list[ServedModel]:
        return list(self._by_id.values())

    def resolve(self, name: str) -> ServedModel:
        model_id = name if name in self._by_id else self._exact.get(name)
        if model_id is None:
            model_id = next((t for p, t in self._patterns if fnmatch.fnmatchcase(name, p)), None)
        if model_id is None:
            # The API's wording, then what would have worked.
            raise NotFoundError(
                f"model: {name} (this server serves {', '.join(sorted(self._by_id))}; "
                "other names reach a model through `aliases` in its settings)"
            )
        return self._by_id[model_id]

    def aliases_of(self, model_id: str) -> list[str]:
        """Every other name that reaches ``model_id``: exact aliases, then patterns."""
        exact = [a for a, t in self._exact.items() if t == model_id]
        return sorted(exact) + [p for p, t in self._patterns if t == model_id]

    async def summaries(self) -> list[ModelSummary]:
        return [await summary(m, self.aliases_of(m.id)) for m in self.models]

    def rate_limit_groups(self) -> dict[str, list[str]]:
        return rate_limit_groups(m.config for m in self.models)

    def newest_first(self) -> list[ServedModel]:
        return sorted(self._by_id.values(), key=lambda m: (m.config.created_at, m.id), reverse=True)

    def page(
        self, *, limit: int, before_id: str | None, after_id: str | None
    ) -> tuple[list[ServedModel], bool]:
        """One page of the newest-first list, by id cursor; returns (page, has_more)."""
        if before_id and after_id:
            raise InvalidRequestError("before_id and after_id cannot both be set")
        ordered = self.newest_first()
        ids = [m.id for m in ordered]
        if after_id is not None:
            start = self._cursor(ids, after_id) + 1
            chunk = ordered[start : start + limit]
            return chunk, start + limit < len(ordered)
        if before_id is not None:
            end = self._cursor(ids, before_id)
            chunk = ordered[max(0, end - limit) : end]
            return chunk, end - limit > 0
        return ordered[:limit], limit < len(ordered)

    @staticmethod
    def _cursor(ids: list[str], cursor: str) -> int:
        try:
            return ids.index(cursor)
        except ValueError:
            raise NotFoundError(f"model: {cursor}") from None
