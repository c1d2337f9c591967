"""JSON Schemas inside requests — tools' ``input_schema`` and ``output_config.format`` —
checked as JSON Schema before any backend sees them.

A schema must be valid under the JSON Schema 2020-12 meta-schema (the ``jsonschema``
library's validator, with its format checks, so a ``pattern`` must be a regular
expression), nest at most ``MAX_DEPTH`` levels, and every ``$ref`` must point inside
the schema itself (Parley fetches nothing). A violation is a 400 naming the field
(``tools.0.input_schema.properties.a: 1 is not of type 'object', 'boolean'``).

Claude Code sends the same two dozen tool schemas on every request and validating them
takes tens of milliseconds, so verdicts are kept in a bounded LRU keyed by the SHA-256
of the schema's canonical JSON (``CACHE_ENTRIES`` entries of a few dozen bytes each).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from cachetools import LRUCache
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from parley.errors import InvalidRequestError

MAX_DEPTH = 64
CACHE_ENTRIES = 4096

_META = Draft202012Validator(
    Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
)
_verdicts: LRUCache[bytes, str | None] = LRUCache(maxsize=CACHE_ENTRIES)
_lock = threading.Lock()


def check_json_schema(schema: Mapping[str, Any], where: str) -> None:
    """Raise a 400 naming ``where`` and the schema path if ``schema`` is not usable."""
    digest = hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).digest()
    with _lock:
        cached = digest in _verdicts
        problem = _verdicts[digest] if cached else None
    if not cached:
        problem = _problem(schema)
        with _lock:
            _verdicts[digest] = problem
    if problem is not None:
        raise InvalidRequestError(f"{where}{problem}")


def _problem(schema: Mapping[str, Any]) -> str | None:
    """The first problem as ``"<.path>: <message>"``, or None."""
    for path, depth in _nesting(schema):
        if depth > MAX_DEPTH:
            return f"{_dotted(path)}: the schema nests deeper than {MAX_DEPTH} levels"
    try:
        error = best_match(_META.iter_errors(schema))
    except RecursionError:  # unreachable below MAX_DEPTH, but never a 500
        return ": the schema nests too deeply to be checked"
    if error is not None:
        return f"{_dotted(list(error.absolute_path))}: {error.message}"
    return _dangling_ref(schema)


def _nesting(value: Any) -> Iterator[tuple[list[str | int], int]]:
    """Every container in ``value`` with its path and depth, without recursion."""
    stack: list[tuple[list[str | int], Any, int]] = [([], value, 1)]
    while stack:
        path, node, depth = stack.pop()
        if isinstance(node, dict):
            yield path, depth
            stack += [([*path, k], v, depth + 1) for k, v in node.items()]
        elif isinstance(node, list):
            yield path, depth
            stack += [([*path, i], v, depth + 1) for i, v in enumerate(node)]


def _dangling_ref(schema: Mapping[str, Any]) -> str | None:
    stack: list[tuple[list[str | int], Any]] = [([], schema)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, list):
            stack += [([*path, i], v) for i, v in enumerate(node)]
            continue
        if not isinstance(node, dict):
            continue
        ref = node.get("$ref")
        if isinstance(ref, str) and not _resolves(schema, ref):
            where = _dotted([*path, "$ref"])
            if not ref.startswith("#"):
                return (
                    f"{where}: `{ref}` is not inside this schema; Parley resolves only "
                    "local references (#/…)"
                )
            return f"{where}: `{ref}` does not point at anything in this schema"
        stack += [([*path, k], v) for k, v in node.items()]
    return None


def _resolves(schema: Any, ref: str) -> bool:
    """Whether the local JSON Pointer ``ref`` (``#/$defs/x``) names a part of ``schema``."""
    if not ref.startswith("#"):
        return False
    target = schema
    for raw in ref[1:].split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict) and token in target:
            target = target[token]
        elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
            target = target[int(token)]
        else:
            return False
    return True


def _dotted(path: list[str | int]) -> str:
    return "".join(f".{part}" for part in path)
