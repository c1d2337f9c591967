"""Backend kinds by name, each with the options model its config table must satisfy.

``parse_options`` validates a model's ``options`` against its kind's model (the CLI
calls it as it reads the settings, ``build_backend`` again as it builds the backend),
so a typo in the config fails at start-up with the field named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from parley.backends.base import Backend


@dataclass(frozen=True)
class BackendKind:
    options: type[BaseModel]
    factory: Callable[[str, Any], Backend]


def _llama_cpp() -> BackendKind:
    from parley.backends.llama_cpp import LlamaCppBackend, LlamaCppOptions

    return BackendKind(options=LlamaCppOptions, factory=LlamaCppBackend)


def _openai() -> BackendKind:
    from parley.backends.openai.backend import OpenAIBackend, OpenAIOptions

    return BackendKind(options=OpenAIOptions, factory=OpenAIBackend)


def _anthropic() -> BackendKind:
    from parley.backends.anthropic import AnthropicBackend, AnthropicOptions

    return BackendKind(options=AnthropicOptions, factory=AnthropicBackend)


KINDS: dict[str, Callable[[], BackendKind]] = {
    "llama_cpp": _llama_cpp,
    "openai": _openai,
    "anthropic": _anthropic,
}


class BackendConfigError(ValueError):
    """A model's backend kind or options are wrong; the message says which."""


def parse_options(name: str, kind: str, options: dict[str, Any]) -> tuple[BackendKind, BaseModel]:
    """The backend kind ``kind`` and ``options`` parsed by its options model."""
    if kind not in KINDS:
        raise BackendConfigError(
            f"model {name!r}: unknown backend {kind!r}; known: {', '.join(sorted(KINDS))}"
        )
    spec = KINDS[kind]()
    try:
        return spec, spec.options.model_validate(options)
    except ValidationError as exc:
        raise BackendConfigError(f"model {name!r}: invalid {kind} options: {exc}") from exc


def build_backend(name: str, kind: str, options: dict[str, Any]) -> Backend:
    spec, parsed = parse_options(name, kind, options)
    return spec.factory(name, parsed)
