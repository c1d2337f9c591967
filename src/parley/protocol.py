"""Protocol rules every endpoint shares: ``anthropic-version`` and ``anthropic-beta``.

Two API versions are live (reference §0): ``2023-06-01`` (curl, Claude Code, SDKs up
to 1.x) and ``2026-10-21`` (SDK 2.x), which rejects the sampling parameters, documents
in assistant messages and citations in user messages. Everything else — SSE format,
shapes, defaults — is the same for both. Unknown betas are accepted and logged, since
Claude Code sends new ones with every release.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable

from parley.errors import InvalidRequestError

log = logging.getLogger(__name__)


class ApiVersion(enum.Enum):
    V2023_06_01 = "2023-06-01"
    V2026_10_21 = "2026-10-21"

    @property
    def rejects_sampling(self) -> bool:
        return self is ApiVersion.V2026_10_21

    @property
    def rejects_assistant_documents(self) -> bool:
        return self is ApiVersion.V2026_10_21

    @property
    def rejects_user_citations(self) -> bool:
        return self is ApiVersion.V2026_10_21


def parse_version(value: str | None) -> ApiVersion:
    """The version named by the header, with the API's messages when it is wrong."""
    if value is None:
        raise InvalidRequestError("anthropic-version: header is required")
    try:
        return ApiVersion(value.strip())
    except ValueError:
        raise InvalidRequestError(f'anthropic-version: "{value}" is not a valid version') from None


def body_version(value: object, platform: str) -> ApiVersion:
    """The version a cloud platform's body names in ``anthropic_version``: the
    platform's own (``vertex-2023-10-16``, ``bedrock-2023-05-31``), read as 2023-06-01,
    or an API version, as SDK 2.x sends."""
    if value == platform:
        return ApiVersion.V2023_06_01
    if value is None:
        raise InvalidRequestError(f'anthropic_version: required (for example "{platform}")')
    try:
        return ApiVersion(str(value))
    except ValueError:
        raise InvalidRequestError(
            f'anthropic_version: "{value}" is neither "{platform}" nor an API version'
        ) from None


KNOWN_BETAS = frozenset(
    {
        "message-batches-2024-09-24",
        "prompt-caching-2024-07-31",
        "pdfs-2024-09-25",
        "token-counting-2024-11-01",
        "files-api-2025-04-14",
        "skills-2025-10-02",
        "extended-cache-ttl-2025-04-11",
        "context-management-2025-06-27",
        "interleaved-thinking-2025-05-14",
        "structured-outputs-2025-11-13",
        "claude-code-20250219",
        "oauth-2025-04-20",
        "computer-use-2024-10-22",
        "computer-use-2025-01-24",
        "computer-use-2025-11-24",
    }
)


def parse_betas(values: Iterable[str]) -> frozenset[str]:
    """All names from one or more ``anthropic-beta`` header lines (comma-separated)."""
    names = frozenset(name.strip() for value in values for name in value.split(",") if name.strip())
    unknown = names - KNOWN_BETAS
    if unknown:
        log.info("accepting anthropic-beta values Parley does not act on: %s", sorted(unknown))
    return names
