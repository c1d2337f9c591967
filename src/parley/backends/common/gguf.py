"""A loaded GGUF model: weights, vocabulary, tokenizer and chat template.

Wraps the raw ``llama_cpp`` C bindings. Tokenizing and detokenizing only read the
vocabulary, so they are safe from any thread while the engine decodes. Bundled
models (``bundled:<name>``) are found by ``bundled.py``.
"""

from __future__ import annotations

import bisect
import ctypes
import itertools
import logging
from pathlib import Path
from typing import Any

import llama_cpp as lc

from parley.backends.common.bundled import bundled_path

log = logging.getLogger(__name__)

_backend_ready = False
# ctypes callbacks must outlive their registration, or llama.cpp calls freed memory.
_log_callback: Any = None


def _forward_llama_log(level: int, text: bytes, _user: Any) -> None:
    log.debug("llama.cpp: %s", text.decode("utf-8", "replace").rstrip())


def init_llama_backend() -> None:
    """Initialise llama.cpp once per process and route its log to ``logging``."""
    global _backend_ready, _log_callback
    if _backend_ready:
        return
    _log_callback = lc.llama_log_callback(_forward_llama_log)
    lc.llama_log_set(_log_callback, ctypes.c_void_p(0))
    lc.llama_backend_init()
    _backend_ready = True


def resolve_gguf(spec: str) -> Path:
    """A GGUF path from ``bundled:<name>`` or a filesystem path."""
    if spec.startswith("bundled:"):
        return bundled_path(spec.removeprefix("bundled:"))
    path = Path(spec).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"GGUF file not found: {path}")
    return path


class LlamaModel:
    """Owns a ``llama_model`` pointer; frees it on :meth:`close`."""

    def __init__(self, path: Path, *, n_gpu_layers: int = 0, vocab_only: bool = False) -> None:
        init_llama_backend()
        params = lc.llama_model_default_params()
        params.n_gpu_layers = n_gpu_layers
        params.vocab_only = vocab_only
        self.path = path
        self.ptr = lc.llama_model_load_from_file(str(path).encode(), params)
        if not self.ptr:
            raise RuntimeError(f"llama.cpp could not load {path}")
        self.vocab = lc.llama_model_get_vocab(self.ptr)
        self.n_ctx_train = int(lc.llama_model_n_ctx_train(self.ptr))
        self.n_vocab = int(lc.llama_vocab_n_tokens(self.vocab))
        self.add_bos = bool(lc.llama_vocab_get_add_bos(self.vocab))
        self.bos_text = self.token_text(lc.llama_vocab_bos(self.vocab))
        self.eos_text = self.token_text(lc.llama_vocab_eos(self.vocab))
        self._piece_lengths: dict[int, int] = {}

    def close(self) -> None:
        if self.ptr:
            lc.llama_model_free(self.ptr)
            self.ptr = None

    def chat_template(self) -> str | None:
        raw = lc.llama_model_chat_template(self.ptr, None)
        return raw.decode("utf-8") if raw else None

    def token_text(self, token: int) -> str:
        if token < 0:
            return ""
        raw = lc.llama_vocab_get_text(self.vocab, token)
        return raw.decode("utf-8", "replace") if raw else ""

    def tokenize(self, text: str, *, prompt: bool = True, special: bool | None = None) -> list[int]:
        """Tokens of a rendered prompt: BOS added as the model wants and special-token
        text (``<|im_start|>``) parsed. With ``prompt=False``, tokens of plain text
        (special-token text parsed too with ``special=True``)."""
        data = text.encode("utf-8")
        capacity = len(data) + 8
        bos = self.add_bos and prompt
        parse = prompt if special is None else special
        buf = (lc.llama_token * capacity)()
        n = lc.llama_tokenize(self.vocab, data, len(data), buf, capacity, bos, parse)
        if n < 0:
            capacity = -n
            buf = (lc.llama_token * capacity)()
            n = lc.llama_tokenize(self.vocab, data, len(data), buf, capacity, bos, parse)
        return list(buf[:n])

    def piece(self, token: int, buf: ctypes.Array[ctypes.c_char]) -> bytes:
        """The bytes a sampled token stands for; control tokens render as nothing."""
        n = lc.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        if n < 0:
            bigger = ctypes.create_string_buffer(-n)
            n = lc.llama_token_to_piece(self.vocab, token, bigger, len(bigger), 0, False)
            return bigger.raw[:n]
        return buf.raw[:n]

    def token_positions(self, tokens: list[int], text: str, offsets: list[int]) -> list[int]:
        """For each character offset into ``text`` (the text ``tokens`` came from), how
        many leading tokens lie entirely before it."""
        if not offsets:
            return []
        lengths = [self._piece_length(token) for token in tokens]
        if tokens and self.add_bos and tokens[0] == lc.llama_vocab_bos(self.vocab):
            lengths[0] = 0  # added by tokenize, not written in the text
        ends = list(itertools.accumulate(lengths))
        positions = []
        for offset in offsets:
            limit = len(text[:offset].encode("utf-8"))
            positions.append(bisect.bisect_right(ends, limit))
        return positions

    def _piece_length(self, token: int) -> int:
        """Bytes of ``token``'s text as a template writes it (special tokens included);
        looked up once per token, as prompts repeat the same ones turn after turn."""
        n = self._piece_lengths.get(token)
        if n is None:
            buf = ctypes.create_string_buffer(64)
            n = lc.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, True)
            n = abs(n)  # negative: the buffer was too small, and -n is the length
            self._piece_lengths[token] = n
        return n

    def is_eog(self, token: int) -> bool:
        return bool(lc.llama_vocab_is_eog(self.vocab, token))
