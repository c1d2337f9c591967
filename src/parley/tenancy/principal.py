"""Who is calling: the identity every service is handed after authentication."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Principal:
    """Who is calling. ``api_key_id`` is None with open access and for an admin's Console
    session (``console``), whose Workbench usage belongs to its workspace and no key."""

    kind: Literal["api", "admin", "open", "console"]
    api_key_id: str | None
    workspace_id: str | None
    user_id: str | None = None
