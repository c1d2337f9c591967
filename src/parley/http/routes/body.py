"""Reading a JSON body into a strict wire model, with the API's error wording."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from parley.errors import InvalidRequestError, as_invalid_request

M = TypeVar("M", bound=BaseModel)


async def parse_body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise as_invalid_request(exc) from None


def json_object(raw: bytes) -> dict[str, Any]:
    """A body that must be a JSON object, for routes that reshape it before validating
    (the cloud platforms' paths move fields between the body and the path)."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"The request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidRequestError("The request body is nested too deeply.") from None
    if not isinstance(body, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    return body


def validated(model: type[M], body: dict[str, Any]) -> M:
    """``body``, reshaped, as the strict wire model (the API's error wording)."""
    try:
        return model.model_validate_json(json.dumps(body))
    except ValidationError as exc:
        raise as_invalid_request(exc) from None
