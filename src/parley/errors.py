"""One exception tree for everything Parley reports to a client.

Each class carries the API's ``error.type`` and HTTP status (reference §1.6), so code
anywhere raises the error it means and ``http/errors.py`` turns it into the envelope
``{"type":"error","error":{"type","message"},"request_id"}`` in one place.
Messages are written for the person reading them: what was wrong and what to do.
This module imports nothing from Parley.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import ValidationError


class ParleyError(Exception):
    """Base class: an error with an API error type and an HTTP status."""

    error_type: ClassVar[str] = "api_error"
    status: ClassVar[int] = 500
    # Headers every response of this kind carries unless the raiser gives its own.
    default_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.headers = {**self.default_headers, **(headers or {})}
        self.details = dict(details) if details else None

    def body(self, request_id: str | None) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"type": "error", "error": error, "request_id": request_id}


class InvalidRequestError(ParleyError):
    error_type = "invalid_request_error"
    status = 400


class AuthenticationError(ParleyError):
    error_type = "authentication_error"
    status = 401


class BillingError(ParleyError):
    error_type = "billing_error"
    status = 402


class PermissionDeniedError(ParleyError):
    error_type = "permission_error"
    status = 403


class NotFoundError(ParleyError):
    error_type = "not_found_error"
    status = 404


class ConflictError(ParleyError):
    error_type = "conflict_error"
    status = 409


class RequestTooLargeError(ParleyError):
    error_type = "request_too_large"
    status = 413


class RateLimitError(ParleyError):
    error_type = "rate_limit_error"
    status = 429


class InternalError(ParleyError):
    error_type = "api_error"
    status = 500


class TimeoutError_(ParleyError):
    """The API's ``timeout_error`` (504); named so as not to shadow the builtin."""

    error_type = "timeout_error"
    status = 504


# Seconds a client is asked to wait after a 529: long enough for a busy model's queue
# to move on, short enough that an SDK's retry (which obeys it) is not a long stall.
OVERLOADED_RETRY_AFTER = 2


class OverloadedError(ParleyError):
    error_type = "overloaded_error"
    status = 529
    default_headers = {"retry-after": str(OVERLOADED_RETRY_AFTER)}


class StorageUnavailable(OverloadedError):
    """Parley's database or blob storage cannot be reached right now (a restart, a
    network blip): transient, so 529 with ``retry-after``, which the SDKs obey."""


class AnswerBroken(OverloadedError):
    """A backend's upstream went away in the middle of an answer. What the client was
    sent stands; the passthrough may go on on another replica (``messages.passthrough``)."""


class PreemptedError(OverloadedError):
    """Batch work gave its place to interactive work and must be retried later.
    Never reaches a client: the batch worker puts the request back in the queue."""


def prompt_too_long(tokens: int, maximum: int) -> InvalidRequestError:
    """The API's wording for a prompt that does not fit the model's context."""
    return InvalidRequestError(f"prompt is too long: {tokens} tokens > {maximum} maximum")


def validation_message(errors: Sequence[Any]) -> str:
    """The API's ``<path>: <problem>`` wording for the first validation error."""
    first = errors[0]
    kind = first.get("type", "")
    message = str(first.get("msg", "invalid value"))
    if kind == "json_invalid":
        detail = message.removeprefix("Invalid JSON: ")
        return f"The request body is not valid JSON: {detail}"
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    return f"{'.'.join(loc)}: {message}" if loc else message


def as_invalid_request(exc: ValidationError) -> InvalidRequestError:
    return InvalidRequestError(validation_message(exc.errors(include_url=False)))
