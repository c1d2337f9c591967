"""What one usage row is, along each dimension the analytics reports group and filter by.

Usage is recorded per minute and attribution (key, workspace, model, tier, batch
flag); every other dimension the hosted API reports is derived here once, so grouping
and filtering read the same values:

- ``workspace_id`` is the workspace's tagged id, the default workspace's included (the
  analytics reports name it; the older ``usage_report/messages`` says null);
- ``service_tier`` is ``batch`` for batch work, else what the request was served at;
- ``product`` is ``messages_api`` or ``message_batches_api``;
- ``actor`` is the API key (``api_actor``), ``actor_type`` ``api_actor``;
- ``context_window`` is ``0-200k`` (no local model bills a long-context tier),
  ``speed`` ``standard``, ``inference_geo`` the deployment's when it is one the API
  names (``global``, ``us``), else null;
- dimensions Parley does not record (agents, sessions, Slack, RBAC groups, user
  profiles, child organizations…) are null, and a filter on them matches nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

GROUP_FIELDS = (
    "actor",
    "actor_type",
    "agent_id",
    "api_key_id",
    "claude_tag_category",
    "claude_tag_user_id",
    "context_window",
    "deployment_id",
    "environment_id",
    "inference_geo",
    "model",
    "organization_id",
    "product",
    "rbac_group_id",
    "service_tier",
    "session_id",
    "slack_channel_id",
    "speed",
    "user_profile_id",
    "workspace_id",
)
# Filter parameter -> the dimension it selects on.
FILTERS = {
    "actor_ids": "actor_id",
    "actor_types": "actor_type",
    "agent_ids": "agent_id",
    "api_key_ids": "api_key_id",
    "claude_tag_categories": "claude_tag_category",
    "claude_tag_user_ids": "claude_tag_user_id",
    "context_windows": "context_window",
    "deployment_ids": "deployment_id",
    "environment_ids": "environment_id",
    "inference_geos": "inference_geo",
    "models": "model",
    "organization_ids": "organization_id",
    "products": "product",
    "rbac_group_ids": "rbac_group_id",
    "service_tiers": "service_tier",
    "session_ids": "session_id",
    "slack_channel_ids": "slack_channel_id",
    "speeds": "speed",
    "user_profile_ids": "user_profile_id",
    "workspace_ids": "workspace_id",
    "user_ids": "user_id",
}


class Dimensions:
    """Reads dimensions off usage rows for one deployment."""

    def __init__(self, *, inference_geo: str, key_creators: Mapping[str, str] | None = None):
        self.inference_geo = inference_geo if inference_geo in ("global", "us") else None
        self.key_creators = key_creators or {}

    def value(self, row: Mapping[str, Any], name: str) -> Any:
        key = row.get("api_key_id")
        batch = bool(row.get("is_batch"))
        match name:
            case "service_tier":
                return "batch" if batch else row["service_tier"]
            case "product":
                return "message_batches_api" if batch else "messages_api"
            case "actor":
                return {"type": "api_actor", "api_key_id": key} if key else None
            case "actor_type":
                return "api_actor" if key else None
            case "actor_id":
                return key
            case "user_id":
                return self.key_creators.get(key or "")
            case "context_window":
                return "0-200k"
            case "speed":
                return "standard"
            case "inference_geo":
                return self.inference_geo
            case "api_key_id" | "workspace_id" | "model":
                return row[name]
        return None

    def key(self, row: Mapping[str, Any], groups: Sequence[str]) -> tuple[Any, ...]:
        """The row's values along ``groups``, hashable (the actor by its key id)."""
        return tuple(row.get("api_key_id") if g == "actor" else self.value(row, g) for g in groups)

    def matches(self, row: Mapping[str, Any], filters: Mapping[str, Sequence[str]]) -> bool:
        for param, wanted in filters.items():
            if not wanted:
                continue
            value = self.value(row, FILTERS[param])
            if param == "api_key_ids" and value is None:
                if "" not in wanted:  # an empty entry selects usage no key authenticated
                    return False
                continue
            if param == "inference_geos" and value is None:
                if "not_available" not in wanted:
                    return False
                continue
            if value is None or value not in wanted:
                return False
        return True

    def group(self, groups: Sequence[str], key: tuple[Any, ...]) -> dict[str, Any]:
        """The report's ``group`` object: every field, null unless grouped by."""
        values = dict(zip(groups, key, strict=True))
        out: dict[str, Any] = dict.fromkeys(GROUP_FIELDS)
        for name in groups:
            if name == "actor":
                out["actor"] = (
                    {"type": "api_actor", "api_key_id": values[name]} if values[name] else None
                )
            elif name in out:
                out[name] = values[name]
        return out
