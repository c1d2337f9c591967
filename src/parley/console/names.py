"""Display names for the ids the reports group by (workspaces, API keys)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parley.console.auth import Visitor


async def namer(who: Visitor) -> Callable[[Any], str]:
    """A function from a workspace id, key id or model to what a person reads."""
    known: dict[str, str] = {}
    rows, _ = await who.svc.workspaces.page(limit=100, include_default=True, include_archived=True)
    known.update({w.id: w.name for w in rows})
    if who.admin:
        keys, _ = await who.svc.keys.page(limit=1000)
        known.update({k.id: f"{k.name} ({k.hint[-4:]})" for k in keys})

    def name(value: Any) -> str:
        if value is None:
            return "Workbench (admin session)" if who.admin else "—"
        return known.get(str(value), str(value))

    return name
