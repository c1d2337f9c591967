"""Which protocol a request speaks: the Claude API's, or OpenAI's chat completions.

``/v1/chat/completions`` is OpenAI's. ``/v1/models`` is shared: the ``openai`` SDK
sends its key as ``Authorization: Bearer`` and no ``anthropic-version``, which every
Claude client sends (and the Claude API requires), so such a request gets OpenAI's
list shape and error envelope; every other request is a Claude request.
"""

from __future__ import annotations

from starlette.types import Scope

OPENAI_PATHS = frozenset({"/v1/chat/completions"})
SHARED_PREFIX = "/v1/models"


def speaks_openai(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    if path in OPENAI_PATHS:
        return True
    if path != SHARED_PREFIX and not path.startswith(SHARED_PREFIX + "/"):
        return False
    names = {name for name, _ in scope.get("headers", [])}
    return b"authorization" in names and not names & {b"anthropic-version", b"x-api-key"}
