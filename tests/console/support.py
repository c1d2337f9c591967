"""Signing in to the Console from tests, as a browser would (the sign-in form, its
double-submit token, then the session cookie)."""

from __future__ import annotations

import re

import httpx

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)"')


async def sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    """POST the sign-in form with ``key``; the client keeps the cookies."""
    form = await client.get("/console/sign-in")
    token = CSRF.search(form.text)
    assert token, form.text
    return await client.post("/console/sign-in", data={"csrf": token.group(1), "key": key})


async def page_csrf(client: httpx.AsyncClient, path: str = "/console/workbench") -> str:
    """The session's CSRF token, as a page carries it."""
    found = META_CSRF.search((await client.get(path)).text)
    assert found and found.group(1), "the page carries no CSRF token"
    return found.group(1)


def set_cookie_headers(response: httpx.Response, name: str) -> list[str]:
    return [
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and v.startswith(f"{name}=")
    ]
