"""Debian's chromium driven by Playwright for Python, for the Console's browser tests.

Playwright's own browser download does not work on these machines (and is never
wanted): ``executable_path`` points it at the ``chromium`` that ``make install-test``
installs with apt. One browser per test module; each test gets a fresh context (its
own cookies), closed afterwards.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

SECRET = re.compile(r"sk-parley-(?:api|admin)01-\S+")


class Server(Protocol):
    """A running Parley the browser can reach (a ServerThread, a ``parley serve``)."""

    @property
    def base_url(self) -> str: ...


def chromium_path() -> str:
    found = shutil.which("chromium")
    assert found, "Chromium is needed: `apt-get install chromium` (make install-test does)"
    return found


@contextmanager
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = _launch(playwright)
        try:
            yield launched
        finally:
            launched.close()


def _launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])


class Watched:
    """A page whose console errors, page errors and dialogs are recorded: a CSP
    violation or an ``alert`` from injected markup shows up here."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.page: Page = context.new_page()
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        self.page.on("dialog", self._dialog)

    def _console(self, message: Any) -> None:
        if message.type == "error" and "favicon" not in (message.location or {}).get("url", ""):
            self.problems.append(message.text)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.accept()  # the Console's own confirm() prompts


@contextmanager
def watched_page(launched: Browser, **options: Any) -> Iterator[Watched]:
    context = launched.new_context(viewport={"width": 1400, "height": 900}, **options)
    try:
        yield Watched(context)
    finally:
        context.close()


def sign_in(page: Page, base_url: str, key: str) -> None:
    """Open the base URL as a person would and sign in with ``key``."""
    page.goto(base_url)
    assert page.url.endswith("/console/sign-in"), page.url
    page.fill("#key", key)
    page.click("#sign-in")
    page.wait_for_load_state("load")
    assert "/console/sign-in" not in page.url, page.content()
