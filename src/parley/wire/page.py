"""The list envelopes of the API, in one place.

Id-cursor lists (``before_id``/``after_id``: models, batches, the Admin API's objects)
answer ``{data, has_more, first_id, last_id}``; page-token lists (skills) answer
``{data, has_more, next_page}``. The Files API answers both at once, for old beta
clients and the GA pager. Items are serialised as they are given (wire models or the
dicts a versioned shape needs).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


def _id(item: Any) -> str | None:
    found = item.get("id") if isinstance(item, dict) else getattr(item, "id", None)
    return None if found is None else str(found)


class Page(BaseModel, Generic[T]):
    """An id-cursor page."""

    data: list[T]
    has_more: bool
    first_id: str | None
    last_id: str | None

    @classmethod
    def of(cls, items: list[T], has_more: bool) -> Page[T]:
        return cls(
            data=items,
            has_more=has_more,
            first_id=_id(items[0]) if items else None,
            last_id=_id(items[-1]) if items else None,
        )

    def to_wire(self, **extra: Any) -> dict[str, Any]:
        return {**self.model_dump(mode="json"), **extra}


class TokenPage(BaseModel, Generic[T]):
    """A page-token page: ``next_page`` continues after it."""

    data: list[T]
    has_more: bool
    next_page: str | None

    @classmethod
    def of(cls, items: list[T], has_more: bool) -> TokenPage[T]:
        """``next_page`` is ``page_<last id>``, as Parley's page tokens are."""
        last = _id(items[-1]) if items else None
        return cls(
            data=items, has_more=has_more, next_page=f"page_{last}" if has_more and last else None
        )

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
