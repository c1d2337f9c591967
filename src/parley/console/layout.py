"""The frame around every signed-in page: the navigation a visitor's key allows, and
who is signed in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from parley.console.auth import Visitor
from parley.console.render import page


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    href: str
    admin_only: bool = True


NAV = (
    NavItem("overview", "Overview", "/console"),
    NavItem("workbench", "Workbench", "/console/workbench", admin_only=False),
    NavItem("workspaces", "Workspaces", "/console/workspaces"),
    NavItem("keys", "API keys", "/console/keys"),
    NavItem("limits", "Limits", "/console/limits"),
    NavItem("usage", "Usage and cost", "/console/usage", admin_only=False),
    NavItem("batches", "Batches", "/console/batches", admin_only=False),
    NavItem("files", "Files", "/console/files", admin_only=False),
    NavItem("skills", "Skills", "/console/skills"),
    NavItem("models", "Models", "/console/models"),
)


def nav_for(who: Visitor, active: str) -> list[dict[str, Any]]:
    return [
        {"key": n.key, "label": n.label, "href": n.href, "active": n.key == active}
        for n in NAV
        if who.admin or not n.admin_only
    ]


async def who_label(who: Visitor) -> str:
    if who.admin:
        user = await who.svc.users.get(who.session.user_id or "") if who.session.user_id else None
        return f"{user.name} · {user.role}" if user else "organization"
    workspace = next(iter(await who.workspaces()), None)
    return workspace.name if workspace else who.session.workspace_id or ""


async def show(
    request: Request, who: Visitor, template: str, active: str, **context: Any
) -> HTMLResponse:
    """A signed-in page in the Console's frame."""
    return page(
        request,
        template,
        visitor=who,
        nav=nav_for(who, active),
        who_label=await who_label(who),
        **context,
    )
