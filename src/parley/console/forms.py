"""Reading Console forms into the Admin API's own parameter models, so a form and an
API call are checked by the same rules and refused with the same words."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.datastructures import FormData

from parley.http.routes.body import validated

M = TypeVar("M", bound=BaseModel)


def text(form: FormData, name: str) -> str | None:
    """A text field, stripped; None when absent or empty."""
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()


def params(model: type[M], form: FormData, *names: str) -> M:
    """``model`` from the form's fields ``names`` (empty ones left out)."""
    body: dict[str, Any] = {}
    for name in names:
        value = text(form, name)
        if value is not None:
            body[name] = value
    return validated(model, body)
