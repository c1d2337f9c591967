"""Shared request building blocks: the strict base model and small common params."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class WireModel(BaseModel):
    """Base for request params: strict types, unknown fields rejected as the API does."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LenientWireModel(BaseModel):
    """Base for params Parley accepts only to refuse them with a clear message."""

    model_config = ConfigDict(extra="allow", frozen=True)


class CacheControlEphemeral(WireModel):
    type: Literal["ephemeral"]
    ttl: Literal["5m", "1h"] | None = None


class CitationsConfigParam(WireModel):
    enabled: bool | None = None


class MetadataParam(WireModel):
    user_id: str | None = None
