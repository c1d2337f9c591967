"""Counting tokens on Parley's machine for upstreams that cannot count them (Ollama,
SGLang's text-only ``/tokenize``, llama-cpp-python's server), with the model's own
vocabulary and chat template, never an estimate.

``tokenizer = "gguf:<path>"`` (or ``"gguf:bundled:smollm2"``) reads the vocabulary and
template from a GGUF file, such as the blob Ollama serves; ``"hf:<directory>"`` reads a
Hugging Face model directory, the one vLLM or SGLang loads (``tokenizer.json``, and the
chat template from ``chat_template.jinja`` or ``tokenizer_config.json``). Both render
the prompt with Parley's ``ChatTemplate``, exactly as the llama.cpp backend does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from parley.backends.base import GenerationRequest
from parley.backends.common.chat_template import ChatTemplate
from parley.errors import InvalidRequestError


class LocalTokenizer(Protocol):
    def count_prompt(self, request: GenerationRequest) -> int:
        """Tokens of the whole prompt ``request`` renders to, as the upstream sees it."""
        ...

    def count_text(self, text: str) -> int:
        """Tokens of generated text, without special tokens."""
        ...

    def close(self) -> None: ...


def load_tokenizer(spec: str) -> LocalTokenizer:
    """The tokenizer a ``"gguf:…"`` or ``"hf:…"`` spec names (blocking: file reads)."""
    kind, _, where = spec.partition(":")
    if kind == "gguf" and where:
        return GGUFTokenizer(where)
    if kind == "hf" and where:
        return HFTokenizer(Path(where).expanduser())
    raise InvalidRequestError(f'unknown tokenizer {spec!r}: expected "gguf:<path>" or "hf:<dir>"')


class GGUFTokenizer:
    def __init__(self, spec: str) -> None:
        from parley.backends.common.gguf import LlamaModel, resolve_gguf

        self._model = LlamaModel(resolve_gguf(spec), vocab_only=True)
        self._template = ChatTemplate(
            self._model.chat_template(),
            bos_token=self._model.bos_text,
            eos_token=self._model.eos_text,
        )

    def count_prompt(self, request: GenerationRequest) -> int:
        return len(self._model.tokenize(self._template.render(request)))

    def count_text(self, text: str) -> int:
        if not text:
            return 0
        return len(self._model.tokenize(text)) - (1 if self._model.add_bos else 0)

    def close(self) -> None:
        self._model.close()


class HFTokenizer:
    def __init__(self, directory: Path) -> None:
        from tokenizers import Tokenizer

        vocabulary = directory / "tokenizer.json"
        if not vocabulary.is_file():
            raise ValueError(f"tokenizer hf:{directory}: no tokenizer.json in that directory")
        self._tokenizer = Tokenizer.from_file(str(vocabulary))
        config = _read_json(directory / "tokenizer_config.json")
        self._template = ChatTemplate(
            _chat_template(directory, config),
            bos_token=_token_text(config.get("bos_token")),
            eos_token=_token_text(config.get("eos_token")),
        )

    def count_prompt(self, request: GenerationRequest) -> int:
        # The rendered template already holds the special tokens (BOS included), which
        # is how Hugging Face's apply_chat_template tokenizes it.
        prompt = self._template.render(request)
        return len(self._tokenizer.encode(prompt, add_special_tokens=False).ids)

    def count_text(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids) if text else 0

    def close(self) -> None:
        pass


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    loaded = json.loads(path.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


def _chat_template(directory: Path, config: dict[str, Any]) -> str | None:
    """The default chat template: ``chat_template.jinja`` when present (newer
    checkpoints), else ``tokenizer_config.json``'s string or its entry named default."""
    separate = directory / "chat_template.jinja"
    if separate.is_file():
        return separate.read_text(encoding="utf-8")
    template = config.get("chat_template")
    if isinstance(template, list):
        named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
        template = named.get("default")
    return template if isinstance(template, str) else None


def _token_text(token: Any) -> str:
    """A special token as tokenizer_config.json writes it: a string or an AddedToken."""
    if isinstance(token, dict):
        return str(token.get("content", ""))
    return token if isinstance(token, str) else ""
